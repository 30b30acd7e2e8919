"""One record of everything piaa publishes about a scoring model: :class:`ScorerCfg`.

What a model *is* used to live in three places: the catalogue row (training data, licence, aliases, the rebuild
command), the model file's own record (score range, direction, criterion, backbone, measured metrics) and strings
written into ``piaa models`` (what the number measures, how the metrics were measured). Like timm's
``PretrainedCfg`` (weights, preprocessing and metadata of a model kept together, so they can never drift), this
module builds the one typed record from the catalogue row and the file, in one place (:func:`scorer_cfg`), and
formats its measured numbers (:meth:`ScorerCfg.metrics_lines`); ``piaa models``, ``model_info`` and the service
only read it.

Where each field comes from: ``what``, ``licence``, ``aliases``, ``rebuild`` and ``default`` from the
catalogue (:mod:`piaa.catalogue`; a model file registered by a user has no row, and then ``what`` is the file's
description); everything measured or fitted (``score_range``, ``lower_better``, ``criterion``, ``metrics``,
``weights_dtype``) from the file, because it is written by the run that trained it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class ScorerCfg:
    """A scoring model's published metadata (pyiqa's ``score_range``/``lower_better`` included)."""

    name: str
    file: Path
    criterion: str                      # "beauty" (aesthetics) or "quality" (technical/perceptual quality)
    what: str                           # what the number measures, one line
    score_range: Tuple[float, float]
    lower_better: bool
    backbone: str
    variant: str
    training_data: str
    description: str = ""
    limitations: Optional[str] = None
    licence: Optional[str] = None
    aliases: Tuple[str, ...] = ()
    default: bool = False
    rebuild: Optional[str] = None       # the command that writes the file again (shipped models)
    weights_dtype: Optional[str] = None
    metrics: Dict[str, Any] = field(default_factory=dict)
    record: Dict[str, Any] = field(default_factory=dict)  # the file's whole model record (head options, ...)

    def to_json(self) -> Dict[str, Any]:
        """The file's record with the published fields on top (what ``piaa models --format json`` shows)."""
        out = dict(self.record)
        out.update(name=self.name, file=str(self.file), criterion=self.criterion, what=self.what,
                   score_range=list(self.score_range), lower_better=self.lower_better, backbone=self.backbone,
                   variant=self.variant, training_data=self.training_data, description=self.description,
                   limitations=self.limitations, licence=self.licence, aliases=list(self.aliases),
                   default=self.default, rebuild=self.rebuild, weights_dtype=self.weights_dtype,
                   metrics=self.metrics)
        return out

    def metrics_lines(self) -> List[Tuple[str, str]]:
        """(label, text) lines of the measured accuracy, by the protocol the metrics record was written with:
        held-out test parts per database, k-fold cross-validation, or the 4-fold GIAA benchmark."""
        m = self.metrics or {}
        if m.get("srocc") is None:
            return []
        if isinstance(m.get("test"), dict):
            return [("held out", "  ".join(f"{db} SROCC {v['srocc']:.3f} PLCC {v['plcc']:.3f}"
                                          for db, v in m["test"].items()) + "  (seeded test parts of train.csv)")]
        if "acc" in m and "emd" in m:
            return [("4-fold GIAA", f"SROCC {m['srocc']:.3f}  PLCC {m['plcc']:.3f}  ACC {m['acc']:.3f}  "
                                    f"EMD {m['emd']:.3f}  (OASIS beauty, held-out image subsets)")]
        folds = len(m.get("srocc_folds") or []) or None
        return [(f"{folds}-fold CV" if folds else "CV", f"SROCC {m['srocc']:.3f}  PLCC {m['plcc']:.3f}  "
                                                        "(validation folds of the training data)")]


def scorer_cfg(name: Optional[str] = None) -> ScorerCfg:
    """The record of a scoring model name (``None`` = the default), alias or ``.npz`` path."""
    from piaa.models.scorer import DEFAULT_MODEL, SCORING_MODELS, _attach_metrics, _is_asset, model_path, \
        read_model_file

    path = model_path(name)
    rec = _attach_metrics(dict(read_model_file(path)["meta"]["model"]), path)
    key = DEFAULT_MODEL if name in (None, "", "default") else str(name)
    entry = SCORING_MODELS.get(key) if key in SCORING_MODELS else None
    asset = entry if _is_asset(entry) else None
    lo, hi = rec["score_range"]
    desc = str(rec.get("description", ""))
    return ScorerCfg(
        name=str(rec.get("name", asset.name if asset else Path(path).stem)), file=Path(path),
        criterion=str(rec.get("criterion", "beauty")),
        what=(asset.what if asset is not None and asset.what else desc),
        score_range=(float(lo), float(hi)), lower_better=bool(rec.get("lower_better", False)),
        backbone=str(rec["backbone"]), variant=str(rec["variant"]),
        training_data=str(rec.get("training_data") or (asset.training_data if asset else "")),
        description=desc, limitations=rec.get("limitations"),
        licence=(asset.licence if asset is not None else rec.get("licence_note")),
        aliases=tuple(sorted(a for a, t in SCORING_MODELS.aliases().items() if asset and t == asset.name)),
        default=bool(asset is not None and asset.name == DEFAULT_MODEL),
        rebuild=asset.rebuild if asset is not None else None, weights_dtype=rec.get("weights_dtype"),
        metrics=dict(rec.get("metrics") or {}), record=rec)
