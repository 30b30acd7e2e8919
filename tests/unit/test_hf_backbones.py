"""``hf:DIR`` backbones (docs/backbones.md): tiny random-weight transformers vision models written with
``save_pretrained`` and loaded back through the spec -- preprocessing against the model's own image processor,
block outputs against transformers' hidden states, feature variants, cache keys, task vectors at a ViT split
(θ(λ) = θ₀ + Σ λ τ block by block; the Bradley-Terry loss falls), errors, and the default path never
importing transformers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tiny_hf import (BLOCKS, REGISTERS, SIZE, WIDTH, save_tiny_clip, save_tiny_dinov2, save_tiny_dinov2_registers,
                     save_tiny_siglip, save_tiny_vit)

torch = pytest.importorskip("torch")

SRC = str(Path(__file__).resolve().parents[2] / "src")
SAVERS = {"clip": save_tiny_clip, "dinov2": save_tiny_dinov2, "siglip": save_tiny_siglip, "vit": save_tiny_vit,
          "dinov2-registers": save_tiny_dinov2_registers}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {name: save(root / name) for name, save in SAVERS.items()}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """36 small photos whose 'taste' is brightness (a few sizes and aspect ratios)."""
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    level = {}
    for i in range(36):
        h, w = (40, 56) if i % 3 else (50, 38)
        lv = 20 + 215 * i / 35
        img = np.clip(lv + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"p{i:02d}.png")
        level[f"p{i:02d}.png"] = lv
    return d, level


# ---- the network and its preprocessing --------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SAVERS))
def test_preprocessing_equals_the_models_image_processor(models, name):
    from transformers import AutoImageProcessor

    from piaa.backbones import get_pretrained_cfg, preprocess

    cfg = get_pretrained_cfg(f"hf:{models[name]}")
    proc = AutoImageProcessor.from_pretrained(str(models[name]), backend="pil")
    rng = np.random.default_rng(1)
    for shape in [(45, 70, 3), (90, 41, 3), (SIZE, SIZE, 3)]:
        img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
        ours = preprocess(img, cfg)
        theirs = proc(images=img, return_tensors="np")["pixel_values"][0]
        assert ours.shape == theirs.shape == (3, SIZE, SIZE)
        assert np.abs(ours - theirs).max() < 1e-5


def test_photos_are_decoded_large_enough_for_the_crop(models):
    """Regression: JPEGs were decoded down to the crop size, so a DINOv2-style processor (short side 256, crop
    224) up-sampled them again; the decoder now keeps the pre-crop short side."""
    from piaa.backbones import get_pretrained_cfg
    from piaa.backbones.preprocess import decode_size

    assert decode_size(get_pretrained_cfg("efficientnet_lite0")) == 224             # the default is unchanged
    assert decode_size(get_pretrained_cfg(f"hf:{models['dinov2']}")) == 37          # shortest_edge, not the crop
    assert decode_size(get_pretrained_cfg(f"hf:{models['clip']}")) == SIZE
    assert decode_size(get_pretrained_cfg(f"hf:{models['siglip']}")) == SIZE
    assert decode_size(get_pretrained_cfg(f"hf:{models['vit']}")) == SIZE


def test_a_model_saved_without_its_processor_gets_its_familys(tmp_path):
    """save_pretrained of the model alone: the published CLIP processor at the model's image size, with a
    warning that says so."""
    from transformers import CLIPImageProcessorPil, CLIPVisionModel

    from piaa.backbones import get_pretrained_cfg, preprocess
    from piaa.errors import PiaaWarning

    save_tiny_clip(tmp_path / "full")
    CLIPVisionModel.from_pretrained(str(tmp_path / "full")).save_pretrained(tmp_path / "bare")
    with pytest.warns(PiaaWarning, match="no preprocessor_config.json"):
        cfg = get_pretrained_cfg(f"hf:{tmp_path / 'bare'}")
    img = Image.fromarray(np.random.default_rng(3).integers(0, 256, (50, 80, 3), dtype=np.uint8))
    want = CLIPImageProcessorPil(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE})(
        images=img, return_tensors="np")["pixel_values"][0]
    assert np.abs(preprocess(img, cfg) - want).max() < 1e-5


@pytest.mark.parametrize("name", list(SAVERS))
def test_blocks_are_the_models_own_and_variants_have_their_shapes(models, name):
    import transformers

    from piaa.backbones import create_backbone
    from piaa.backbones.vit import ViTBackbone
    from piaa.errors import InputError

    bb = create_backbone(f"hf:{models[name]}")
    assert isinstance(bb, ViTBackbone) and bb.num_layers == BLOCKS + 1
    x = torch.randn(2, 3, SIZE, SIZE)
    cls = {"clip": transformers.CLIPVisionModel, "dinov2": transformers.Dinov2Model,
           "siglip": transformers.SiglipVisionModel, "vit": transformers.ViTModel,
           "dinov2-registers": transformers.Dinov2WithRegistersModel}[name]
    ref = cls.from_pretrained(str(models[name])).eval()
    with torch.no_grad():
        hidden = ref(pixel_values=x, output_hidden_states=True).hidden_states
        for k in range(1, BLOCKS + 1):  # after block k, the model's own hidden state k
            assert torch.allclose(bb.forward_range(x, 0, k + 1), hidden[k], atol=1e-5)
        per_layer = WIDTH if name == "siglip" else 2 * WIDTH   # mean token (+ CLS)
        assert bb.forward_variant(x, "pooled").shape == (2, per_layer) == (2, bb.feature_dim("pooled"))
        ml = bb.forward_variant(x, "multilevel")
        assert ml.shape == (2, per_layer * (BLOCKS + 1)) == (2, bb.feature_dim("multilevel"))
        assert torch.allclose(ml[:, -per_layer:], bb.forward_variant(x, "pooled"))
        chosen = bb.forward_variant(x, "blocks1,3")
        assert chosen.shape == (2, 2 * per_layer) == (2, bb.feature_dim("blocks1,3"))
        assert torch.allclose(chosen, torch.cat([ml[:, per_layer:2 * per_layer], ml[:, 3 * per_layer:]], 1))
        with pytest.raises(InputError):
            bb.feature_dim("blocks3,1")
        prefix = {"siglip": 0, "dinov2-registers": 1 + REGISTERS}.get(name, 1)   # CLS (+ register tokens)
        assert bb.forward_variant(x, "trunk2").shape == (2, (SIZE // 8) ** 2 + prefix, WIDTH)
        last = torch.nn.functional.layer_norm(hidden[-1], (WIDTH,))
        patches = last[:, prefix:].mean(1)
        want = patches if name == "siglip" else torch.cat([last[:, 0], patches], 1)  # [CLS, mean of patches]
        assert torch.allclose(bb.forward_variant(x, "pooled"), want, atol=1e-5)


def test_features_are_cached_under_the_weights_and_preprocessing(models, photos, tmp_path):
    from piaa.features import FeatureExtractor

    d, level = photos
    paths = [d / n for n in sorted(level)[:6]]
    folder = tmp_path / "m"
    save_tiny_clip(folder, seed=0)
    spec = f"hf:{folder}"
    cache = tmp_path / "cache.sqlite"
    ex = FeatureExtractor(spec, "multilevel", cache=cache)
    assert ex.engine.name == "torch"                      # no ONNX export for hf: models
    first = ex.extract(paths).features
    assert np.isfinite(first).all() and first.shape == (6, 4 * 2 * WIDTH)
    again = FeatureExtractor(spec, "multilevel", cache=cache)
    assert again.model_key == ex.model_key
    assert np.array_equal(again.extract(paths).features, first)
    assert again.cache.get_many(again.extract(paths).hashes, again.model_key).keys() == set(again.extract(paths).hashes)
    # other weights in the same folder: another key, other features (nothing stale)
    save_tiny_clip(folder, seed=1)
    changed = FeatureExtractor(spec, "multilevel", cache=cache)
    assert changed.model_key != ex.model_key
    assert not np.allclose(changed.extract(paths).features, first)
    # another model, another key
    assert FeatureExtractor(f"hf:{models['dinov2']}", "multilevel", cache=cache).model_key != changed.model_key


# ---- task vectors at a ViT split ----------------------------------------------------------------------------
def _bank_at_split(spec_name: str, split: int, rng, K: int = 3):
    from piaa.models.task_vectors.bank import TaskBank
    from piaa.models.task_vectors.net import build_top, get_params
    from piaa.models.task_vectors.spec import TaskModelSpec, template_for

    spec = TaskModelSpec(backbone=spec_name, split=split, hidden=8)
    pre = get_params(build_top(spec))
    taus = [{n: (rng.standard_normal(a.shape) * 0.05).astype(np.float32) for n, a in pre.items()} for _ in range(K)]
    tasks = [{"name": f"t{k}", "scale": [1.0, 7.0, 7], "template": list(template_for(1, 7))} for k in range(K)]
    return TaskBank(spec, {n: a.shape for n, a in pre.items()}, tasks, pre, taus, tau_dtype="float32"), pre, taus


def test_task_vectors_merge_block_by_block(models):
    """Every linear and norm of every block above the split has its own τ and λ; θ(λ) = θ₀ + Σ_k λ τ_k."""
    from torch.func import functional_call

    from piaa.models.task_vectors.engine import TorchProblem
    from piaa.models.task_vectors.inputs import as_inputs
    from piaa.models.task_vectors.net import set_params

    rng = np.random.default_rng(0)
    split = 2
    bank, pre, taus = _bank_at_split(f"hf:{models['clip']}", split, rng)
    blocks = sorted({n.split(".")[1] for n in bank.param_names if n.startswith("layers.")})
    assert blocks == [str(i) for i in range(BLOCKS + 1 - split)]          # layers.0 = the first block above
    for b in blocks:
        names = [n for n in bank.param_names if n.startswith(f"layers.{b}.")]
        kinds = {n.split(".")[-2] for n in names}
        assert {"layer_norm1", "layer_norm2", "q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"} <= kinds
    lam = rng.normal(size=(len(bank.param_names), bank.num_tasks)).astype(np.float32)
    merged = bank.combine(lam)
    for i, n in enumerate(bank.param_names):
        want = pre[n] + sum(lam[i, k] * taus[k][n] for k in range(bank.num_tasks))
        assert np.allclose(merged[n], want, atol=1e-6), n
    # the scores of the λ-problem are those of a network holding the merged parameters
    X = as_inputs(bank.spec, rng.normal(size=(5, (SIZE // 8) ** 2 + 1, WIDTH)).astype(np.float32))
    t = np.linspace(1, 7, 10)
    prob = TorchProblem(bank, X, t)
    import copy

    net = set_params(copy.deepcopy(bank.top_net()), merged)
    with torch.no_grad():
        direct = (torch.softmax(net(torch.as_tensor(X)), 1) @ torch.as_tensor(t, dtype=torch.float32)).numpy()
        functional = functional_call(bank.top_net(), {k: torch.as_tensor(v) for k, v in merged.items()},
                                     (torch.as_tensor(X),))
    assert np.allclose(prob.scores(lam), direct, atol=1e-5)
    assert np.allclose((torch.softmax(functional, 1) @ torch.as_tensor(t, dtype=torch.float32)).numpy(), direct,
                       atol=1e-5)


def test_bank_training_and_bt_fit_at_a_vit_split(models, photos, tmp_path):
    """Task models fine-tuned (head, then the top blocks) from one start; a person's λ lowers the BT loss."""
    import pandas as pd

    from piaa.data.ratings import Scale
    from piaa.models.task_vectors import TaskModelSpec
    from piaa.models.task_vectors.bank import TaskBank
    from piaa.models.task_vectors.build import build_bank
    from piaa.models.task_vectors.inputs import inputs_for_paths
    from piaa.models.task_vectors.tasks import task_from_ratings
    from piaa.models.task_vectors.train import TrainConfig
    from piaa.personalize.task_vectors import TaskVectorPersonalizer

    d, level = photos
    names = sorted(level)
    spec = TaskModelSpec(backbone=f"hf:{models['dinov2']}", split=BLOCKS - 1, hidden=8)
    rng = np.random.default_rng(0)

    def ratings(sign, seed):
        r = np.random.default_rng(seed)
        z = np.array([level[n] for n in names[:24]]) * sign
        z = (z - z.mean()) / z.std()
        return pd.DataFrame([(f"u{u}", n, float(np.clip(np.rint(4 + 1.5 * v + r.normal(0, .5)), 1, 7)))
                             for u in range(3) for n, v in zip(names[:24], z)], columns=["user", "image", "score"])

    tasks = [task_from_ratings("bright", ratings(1, 0), d, Scale(1, 7, 7)),
             task_from_ratings("dark", ratings(-1, 1), d, Scale(1, 7, 7))]
    cfg = TrainConfig(head_steps=60, head_lr=1e-2, top_epochs=1, top_batch_size=8)
    bank = build_bank(spec, tasks, lambda p: inputs_for_paths(spec, p, cache=tmp_path / "c.sqlite"), cfg,
                      tau_dtype="float32")
    top = [n for n in bank.param_names if n.startswith("layers.")]
    assert top and all(np.abs(bank.tau_stack(n)).max() > 0 for n in top)    # the top blocks were fine-tuned
    bank.save(tmp_path / "bank")
    bank = TaskBank.load(tmp_path / "bank")
    person = [n for n in names[24:]]
    y = np.array([level[n] for n in person])
    y = np.clip(np.rint(1 + 6 * (y - y.min()) / np.ptp(y)), 1, 7)
    est = TaskVectorPersonalizer(bank=bank, steps=25, lr=1e-2, scale=(1, 7), cache=str(tmp_path / "c.sqlite"))
    est.fit([d / n for n in person], y)
    assert est.coef_.shape == (len(bank.param_names), 2)
    assert est.loss_curve_[-1] < est.loss_curve_[0]                           # the BT loss falls
    assert np.isfinite(est.predict([d / n for n in person])).all()
    assert rng is not None


# ---- errors and the default path ----------------------------------------------------------------------------
def test_bad_specs_are_one_line_errors(tmp_path, monkeypatch):
    from piaa.backbones import get_pretrained_cfg
    from piaa.errors import PiaaError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "empty").mkdir()
    cases = {f"hf:{tmp_path / 'nowhere'}": "not found", f"hf:{tmp_path / 'empty'}": "config.json",
             "hf:": "hub id or a folder", "hf:someone/not-cached-model": "hf:/path/to/folder"}
    for spec, words in cases.items():
        with pytest.raises(PiaaError) as info:
            get_pretrained_cfg(spec)
        assert words in str(info.value) and "\n" not in str(info.value)


def test_an_unreachable_hub_fails_at_once_with_one_line(monkeypatch):
    import time

    from piaa.backbones import get_pretrained_cfg
    from piaa.errors import AssetMissingError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")   # nothing listens there
    t = time.perf_counter()
    with pytest.raises(AssetMissingError, match="not in the Hugging Face cache") as info:
        get_pretrained_cfg("hf:someone/not-cached-model")
    assert time.perf_counter() - t < 10 and "\n" not in str(info.value)


def test_an_unsupported_model_type_is_named(tmp_path):
    from piaa.backbones import get_pretrained_cfg
    from piaa.errors import InputError

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(InputError, match="bert"):
        get_pretrained_cfg(f"hf:{tmp_path}")


def test_without_transformers_the_extra_is_named(models, monkeypatch):
    from piaa.backbones.hf import hf_entry
    from piaa.errors import InputError

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(InputError, match=r"piaa\[backbones\]"):
        hf_entry(f"hf:{models['clip']}")


def test_device_option():
    from piaa.backbones.device import check_device, set_device, torch_device
    from piaa.errors import InputError

    assert check_device("CUDA:1") == "cuda:1"
    with pytest.raises(InputError):
        check_device("tpu")
    try:
        set_device("cpu")
        assert torch_device().type == "cpu"
        if not torch.cuda.is_available():
            set_device("cuda")
            with pytest.raises(InputError, match="no CUDA"):
                torch_device()
    finally:
        set_device(None)


def test_default_path_never_imports_transformers(photos, tmp_path):
    d, _ = photos
    code = ("import sys, json, piaa; from piaa.cli.main import main; "
            f"rc = main(['score', {str(d / 'p00.png')!r}, '--format', 'json']); "
            "print(json.dumps([rc, 'transformers' in sys.modules]), file=sys.stderr)")
    env = {**os.environ, "PYTHONPATH": SRC, "PIAA_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(out.stderr.strip().splitlines()[-1]) == [0, False], out.stderr


# ---- the command line, end to end ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def club(photos, tmp_path_factory):
    import pandas as pd

    d, level = photos
    rng = np.random.default_rng(2)
    rows = [(f"m{u}", n, int(np.clip(np.rint(1 + 4 * lv / 235 + rng.normal(0, .6)), 1, 5)))
            for u in range(5) for n, lv in level.items()]
    work = tmp_path_factory.mktemp("club")
    pd.DataFrame(rows, columns=["user", "image", "rating"]).to_csv(work / "club.csv", index=False)
    dark = [(f"d{u}", n, int(np.clip(np.rint(5 - 4 * lv / 235 + rng.normal(0, .6)), 1, 5)))
            for u in range(3) for n, lv in level.items()]
    pd.DataFrame(dark, columns=["user", "image", "rating"]).to_csv(work / "dark.csv", index=False)
    names = sorted(level)
    pd.DataFrame({"image": names, "fold": ["a" if i % 2 else "b" for i in range(len(names))]}).to_csv(
        work / "folds.csv", index=False)
    return work


def _task_tables(club, d) -> str:
    """[[tasks]] of the club's taste (bright) and its opposite (dark)."""
    out = ""
    for n in ("club", "dark"):
        out += f'[[tasks]]\nname = "{n}"\nratings = "{club / (n + ".csv")}"\nimages = "{d}"\nscale = [1, 5]\n'
    return out


@pytest.mark.slow
def test_train_beauty_then_score_with_an_hf_backbone(models, photos, club, tmp_path, capsys, monkeypatch):
    from scipy.stats import spearmanr

    from piaa.cli.main import main

    d, level = photos
    monkeypatch.chdir(models["clip"].parent)
    model = tmp_path / "M.npz"
    assert main(["train", "beauty", "--backbone", "hf:clip", "--ratings", str(club / "club.csv"), "--images",
                 str(d), "--output", str(model), "--quiet", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["photos"] == len(level) and out["taste_prior"] is True
    monkeypatch.chdir(tmp_path)  # the model recorded the folder's absolute path
    assert main(["score", str(d), "--model", str(model), "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    recs = recs if isinstance(recs, list) else recs["results"]
    got = {Path(r["path"]).name: r["score"] for r in recs}
    assert set(got) == set(level) and all(1.0 <= s <= 5.0 for s in got.values())
    assert spearmanr([got[k] for k in level], [level[k] for k in level])[0] > 0.5
    # a member's profile on the group's hf: model (regression: its taste prior was fitted to default-backbone
    # features, "features of width 3120 do not match the taste prior's 128")
    mine = tmp_path / "mine.csv"
    mine.write_text("image,rating\n" + "".join(f"{n},{1 + 4 * (i % 5 == 0)}\n" for i, n in enumerate(sorted(level))))
    assert main(["profile", "create", "ann", "--ratings", str(mine), "--images", str(d), "--scale", "1", "5",
                 "--base", str(model), "--store", str(tmp_path / "s.sqlite"), "--no-assess", "--format", "json"]) == 0
    capsys.readouterr()
    from piaa.profiles.profile import Profile

    prof = Profile.load("ann", store=str(tmp_path / "s.sqlite"))
    assert prof.scorer.backbone == f"hf:{models['clip'].resolve()}"


@pytest.mark.slow
def test_evaluate_generic_probe_prior_and_task_vectors_at_a_vit_split(models, photos, club, tmp_path, capsys):
    from piaa.cli.main import main

    d, _ = photos
    spec = f"hf:{models['clip']}"
    exp = tmp_path / "exp.toml"
    exp.write_text(f"""
name = "hf-smoke"
generic = "club"
{_task_tables(club, d)}[test]
ratings = "{club / 'club.csv'}"
images = "{d}"
scale = [1, 5]
folds = "{club / 'folds.csv'}"
shots = [5]
trials = 2
methods = ["generic", "probe-prior", "task-vectors"]
[methods.generic]
backbone = "{spec}"
[methods.probe-prior]
backbone = "{spec}"
[methods.task-vectors]
backbone = "{spec}"
split = 2
pool = "last"
head_steps = 30
top_epochs = 1
steps = 30
""")
    out = tmp_path / "R.json"
    assert main(["evaluate", str(exp), "--output", str(out), "--device", "cpu"]) == 0
    methods = json.loads(out.read_text())["methods"]
    assert set(methods) == {"generic", "probe-prior", "task-vectors"}
    k = {"generic": "0", "probe-prior": "5", "task-vectors": "5"}
    for m, row in methods.items():
        r = row[k[m]]
        assert r["n_people"] == 10 and np.isfinite(r["srocc_mean"]), (m, r)
    assert methods["generic"]["0"]["srocc_mean"] > 0.5          # brightness is learnable from random ViT features
    banks = list((tmp_path / "R.work").rglob("bank.json"))
    assert banks and json.loads(banks[0].read_text())["spec"]["split"] == 2


@pytest.mark.slow
def test_tasks_train_with_an_hf_backbone_at_a_split(models, photos, club, tmp_path, capsys):
    """`piaa tasks train`: a relative hf: folder in [model] resolves against the config; --backbone overrides."""
    import shutil

    from piaa.cli.main import main
    from piaa.models.task_vectors.bank import TaskBank

    d, _ = photos
    shutil.copytree(models["clip"], tmp_path / "clip")
    cfg = tmp_path / "tasks.toml"
    cfg.write_text(f"""
[model]
backbone = "hf:clip"
split = 2
pool = "last"
hidden = 8
head_steps = 20
top_epochs = 1
{_task_tables(club, d)}""")
    assert main(["tasks", "train", str(cfg), "--output", str(tmp_path / "bank"), "--quiet"]) == 0
    bank = TaskBank.load(tmp_path / "bank")
    assert bank.spec.backbone == f"hf:{(tmp_path / 'clip').resolve()}" and bank.spec.split == 2
    assert any(".layer_norm1." in n for n in bank.param_names)
    assert main(["tasks", "train", str(cfg), "--output", str(tmp_path / "bank2"), "--quiet",
                 "--backbone", f"hf:{models['dinov2']}"]) == 0
    assert TaskBank.load(tmp_path / "bank2").spec.backbone == f"hf:{models['dinov2']}"
    capsys.readouterr()
