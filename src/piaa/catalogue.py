"""The one catalogue of shipped assets, and the default backbone and feature variant (named here, once).

Every file piaa ships under ``src/piaa/assets`` has exactly one row below (in the spirit of open_clip's
``pretrained.py`` table and pyiqa's default model configs): its name, kind, file, the backbone and feature
variant it was trained on, its training data, licence and the command that rebuilds it. Code finds a shipped
file only through :func:`asset_path`; a missing file raises :class:`~piaa.errors.AssetMissingError` naming
the rebuild command. ``tests/unit/test_catalogue.py`` checks that every file under ``assets/`` has a row and
every row's file exists.

Adding an asset = one ``Asset(...)`` row in ``_ROWS`` (and the file under ``src/piaa/assets``).

Foundation layer: imports only :mod:`piaa.errors`, :mod:`piaa.paths` and :mod:`piaa.registry`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from piaa.errors import AssetMissingError, InputError
from piaa.paths import assets_dir
from piaa.registry import Registry

#: the backbone every shipped model and every default in piaa uses
DEFAULT_BACKBONE = "efficientnet_lite0"
#: the feature variant of the shipped models: average-pooled output of every backbone block, concatenated
DEFAULT_VARIANT = "multilevel"

#: kinds of shipped assets
KINDS = ("scorer", "pa-iaa-network", "taste-prior", "task-bank", "trunk")

_OASIS = ("OASIS (Kurdi, Lozano & Banaji 2017), all 900 images; OASIS-beauty ratings (Brielmann & Pelli 2019): "
          "136,125 beauty ratings (1-7) by 605 US online raters")
_LICENCE = ("Apache-2.0 (piaa); built on EfficientNet-Lite ImageNet weights (Apache-2.0) and the OASIS / "
            "OASIS-beauty research data (images remain their owners'; not redistributed)")


@dataclass(frozen=True)
class Asset:
    """One shipped file (or folder, for a task bank)."""

    name: str
    kind: str                 # one of KINDS
    file: str                 # relative to src/piaa/assets
    backbone: str
    variant: str
    training_data: str
    licence: str
    rebuild: str              # command (run from the repository root) that writes the file again
    description: str = ""
    default: bool = False     # the default asset of its kind
    aliases: Tuple[str, ...] = ()  # other names it is found by (e.g. "quality")
    what: str = ""            # scorers: what the number measures, one line (``piaa models``; piaa.models.model_cfg)

    @property
    def path(self) -> Path:
        return assets_dir() / self.file

    def exists(self) -> bool:
        return self.path.exists()

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _check_asset(name: str, asset: object) -> None:
    if not isinstance(asset, Asset):
        raise TypeError(f"asset {name!r} must be a piaa.catalogue.Asset")
    if asset.kind not in KINDS:
        raise InputError(f"asset {name!r}: kind {asset.kind!r} is not one of {KINDS}")


ASSETS: Registry[Asset] = Registry("shipped asset", validate=_check_asset)


def register_asset(asset: Asset, *, override: bool = False) -> Asset:
    return ASSETS.register(asset.name, asset, aliases=asset.aliases, override=override)


_ROWS = (
    Asset("oasis-beauty-lite0", "scorer", "models/oasis-beauty-lite0.npz", DEFAULT_BACKBONE, DEFAULT_VARIANT,
          _OASIS + "; per-image rating distributions", _LICENCE,
          "piaa train default --output src/piaa/assets/models/oasis-beauty-lite0.npz",
          "generic beauty scorer (GenericHead, 1-7); model card: src/piaa/assets/models/MODEL_CARD.md",
          default=True, what="beauty of a photograph as OASIS raters judge it, alias 'beauty'"),
    Asset("oasis-beauty-lite0-lite2", "scorer", "models/oasis-beauty-lite0-lite2.npz",
          f"{DEFAULT_BACKBONE}+efficientnet_lite2", DEFAULT_VARIANT, _OASIS + "; per-image rating distributions",
          _LICENCE,
          "piaa train default --backbone efficientnet_lite0+efficientnet_lite2 --name oasis-beauty-lite0-lite2 "
          "--output src/piaa/assets/models/oasis-beauty-lite0-lite2.npz",
          "more accurate, slower generic beauty scorer (Lite0 + Lite2 features)",
          what="beauty, as oasis-beauty-lite0 but more accurate and about twice as slow (Lite0 + Lite2)"),
    Asset("biq2021-quality-lite0", "scorer", "models/biq2021-quality-lite0.npz", DEFAULT_BACKBONE, DEFAULT_VARIANT,
          "BIQ2021 (Ahmed et al. 2022): 4,000 training photos with mean opinion scores (30 lab observers, 1-5 "
          "scaled to 0-1)",
          "Apache-2.0 (piaa); EfficientNet-Lite ImageNet weights (Apache-2.0); BIQ2021 states no licence (ss03 "
          "photos from Unsplash): used as a benchmark and training source, no image shipped",
          "piaa train quality --output src/piaa/assets/models/biq2021-quality-lite0.npz",
          "technical photo quality 0-1 (MLP head on BIQ2021 MOS; photos only: 'quality' is piaa-quality-v3-lite0); model card: "
          "src/piaa/assets/models/MODEL_CARD.md",
          what="technical photo quality (sharpness, noise, exposure) (photos only; 'quality' is "
               "piaa-quality-v3-lite0)"),
    Asset("piaa-quality-lite0", "scorer", "models/piaa-quality-lite0.npz", DEFAULT_BACKBONE, DEFAULT_VARIANT,
          "BIQ2021 train.csv (4,000 photos, MOS 0-1) and AGIQA-3K train.csv (2,000 generated images, MOS / 5)",
          "Apache-2.0 (piaa); EfficientNet-Lite ImageNet weights (Apache-2.0); BIQ2021 states no licence (ss03 "
          "from Unsplash), AGIQA-3K is MIT: training sources only, no image shipped",
          "piaa train quality --databases biq2021,agiqa3k --name piaa-quality-lite0 "
          "--output src/piaa/assets/models/piaa-quality-lite0.npz",
          "perceptual quality 0-1 of photographs and AI-generated images (GenericHead MLP on Lite0 multilevel "
          "features of the whole image, BIQ2021 + AGIQA-3K; v1 of 'quality'); model card: "
          "src/piaa/assets/models/MODEL_CARD.md",
          what="perceptual quality of photos and AI-generated images (whole image; v1 of 'quality')"),
    Asset("piaa-quality-native-lite0", "scorer", "models/piaa-quality-native-lite0.npz", DEFAULT_BACKBONE,
          DEFAULT_VARIANT,
          "BIQ2021 train.csv (4,000 photos, MOS 0-1) and AGIQA-3K train.csv (2,000 generated images, MOS / 5)",
          "Apache-2.0 (piaa); EfficientNet-Lite ImageNet weights (Apache-2.0); BIQ2021 states no licence (ss03 "
          "from Unsplash), AGIQA-3K is MIT: training sources only, no image shipped",
          "piaa train quality --databases biq2021,agiqa3k --native --name piaa-quality-native-lite0 "
          "--output src/piaa/assets/models/piaa-quality-native-lite0.npz",
          "perceptual quality 0-1 of photographs and AI-generated images from the whole image, five "
          "native-resolution 224-px crops and BRISQUE statistics (MLP + ridge blend, BIQ2021 + AGIQA-3K; v2 of "
          "'quality'); model card: src/piaa/assets/models/MODEL_CARD.md",
          what="perceptual quality of photos and AI-generated images (whole image + native-resolution crops + "
               "BRISQUE statistics; v2 of 'quality')"),
    Asset("piaa-quality-v3-lite0", "scorer", "models/piaa-quality-v3-lite0.npz", DEFAULT_BACKBONE,
          DEFAULT_VARIANT,
          "BIQ2021 train.csv (4,000 photos, MOS 0-1) and AGIQA-3K train.csv (2,000 generated images, MOS / 5), "
          "targets standardised per database",
          "Apache-2.0 (piaa); EfficientNet-Lite ImageNet weights (Apache-2.0); BIQ2021 states no licence (ss03 "
          "from Unsplash), AGIQA-3K is MIT: training sources only, no image shipped",
          "piaa train quality --databases biq2021,agiqa3k --native --components 128,256 --targets mos,z "
          "--name piaa-quality-v3-lite0 --output src/piaa/assets/models/piaa-quality-v3-lite0.npz",
          "perceptual quality 0-1 of photographs and AI-generated images from the whole image, five "
          "native-resolution 224-px crops and BRISQUE statistics (MLP with 128 components + ridge, targets "
          "standardised per database, BIQ2021 + AGIQA-3K), alias 'quality'; model card: "
          "src/piaa/assets/models/MODEL_CARD.md",
          what="perceptual quality of photos and AI-generated images (quality v3: v2's evidence, targets "
               "standardised per database), alias 'quality'"),
    Asset("pa_iaa_oasis_lite0", "pa-iaa-network", "pa_iaa_oasis_lite0.npz", DEFAULT_BACKBONE, DEFAULT_VARIANT,
          _OASIS + "; traits of the raters who like each image (gender, age, politic, PHQ, TEPS_ant)", _LICENCE,
          "piaa train pa-iaa --output src/piaa/assets/pa_iaa_oasis_lite0.npz",
          "PA_IAA multi-task network (aesthetics + trait heads) for the pa-iaa personalizer", default=True),
    Asset("taste_prior_oasis_lite0", "taste-prior", "taste_prior_oasis_lite0.npz", DEFAULT_BACKBONE,
          DEFAULT_VARIANT, _OASIS + "; each rater's deviation from the crowd", _LICENCE,
          "piaa train taste-prior --output src/piaa/assets/taste_prior_oasis_lite0.npz",
          "population taste prior of the probe-prior personalizer", default=True),
    Asset("task_bank_default", "task-bank", "task_bank_default", DEFAULT_BACKBONE, DEFAULT_VARIANT,
          _OASIS + "; OASIS valence/arousal norms; BIQ2021 training-split MOS (10 tasks: beauty by rater group, "
          "valence, arousal, photo quality)", _LICENCE,
          "piaa tasks train configs/tasks_default.toml --output src/piaa/assets/task_bank_default",
          "task-vector bank (head-only task models) of the task-vectors personalizer", default=True),
)
for _row in _ROWS:
    register_asset(_row)


def asset_path(name: str, kind: Optional[str] = None) -> Path:
    """Path of the shipped asset ``name``; AssetMissingError (naming the rebuild command) when it is absent."""
    a = ASSETS.get(name)
    if kind is not None and a.kind != kind:
        raise AssetMissingError(f"asset {name!r} is a {a.kind}, not a {kind}")
    if not a.exists():
        raise AssetMissingError(f"{a.path}: shipped {a.kind} {a.name!r} is missing; rebuild it with `{a.rebuild}`")
    return a.path


def list_assets(kind: Optional[str] = None) -> List[Asset]:
    """Catalogue rows (of one ``kind``), the default of each kind first."""
    rows = [ASSETS.get(n) for n in ASSETS.names()]
    rows = [a for a in rows if kind is None or a.kind == kind]
    return sorted(rows, key=lambda a: (a.kind, not a.default, a.name))


def default_asset(kind: str) -> Asset:
    for a in list_assets(kind):
        if a.default:
            return a
    raise AssetMissingError(f"no default {kind} in the catalogue")
