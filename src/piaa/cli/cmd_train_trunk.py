"""``piaa train trunk CONFIG --output DIR``: fine-tune the top of a backbone multi-task (piaa.training.trunk)."""
from __future__ import annotations

import json
from pathlib import Path

_DESCRIPTION = """\
Fine-tune the upper layers of a backbone (configs/trunk_default.toml: Lite0's last two stages) with one head
per task, on every rated database at once: OASIS beauty distributions, valence and arousal, BIQ2021 and
AGIQA-3K quality. The frozen lower layers run once per photo and view and are cached (float16) under the user
data dir. Writes DIR/trunk.npz (changed tensors in float16, heads, hashes of the photos it saw) and
DIR/report.json (validation curves, chosen epoch, times). AVT-AI is never a training database."""


def register_trunk_command(sub) -> None:
    t = sub.add_parser("trunk", help="fine-tune a trunk multi-task on cached activations",
                       description=_DESCRIPTION)
    t.add_argument("config", type=Path, help="trunk config TOML (e.g. configs/trunk_default.toml)")
    t.add_argument("--output", "-o", type=Path, required=True, help="folder to write trunk.npz and report.json")
    t.add_argument("--data", type=Path, default=None, help="shared data folder (default ../shared/data)")
    t.add_argument("--epochs", type=int, default=None, help="override [train] epochs")
    t.set_defaults(func=run_trunk)


def run_trunk(args) -> int:
    from piaa.training.trunk.config import load_config
    from piaa.training.trunk.train import train_trunk

    cfg = load_config(args.config)
    if args.epochs is not None:
        cfg.epochs = int(args.epochs)
    rep = train_trunk(cfg, args.output, data_dir=args.data)
    print(json.dumps({k: rep[k] for k in ("best_epoch", "val_float16", "test_float16_trunk_heads", "total_s",
                                          "trained_on")}, indent=1))
    return 0
