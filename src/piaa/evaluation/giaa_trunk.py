"""Per-fold fine-tuned trunks for ``piaa bench giaa --trunk-config``: a fold's trunk never saw that fold's photos.

For OASIS image fold ``s`` the trunk is trained (``piaa.training.trunk``) on the config's databases with every
OASIS photo of subset ``s`` removed -- not only its ratings: the photo itself -- and cached under the user data
dir by a fingerprint of the config and the fold's photo list, so a second run costs nothing. The benchmark then
extracts that trunk's features for the fold (the runner-side check ``check_trunk_unseen`` still runs).
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Dict, Optional


def fold_trunks(config_path, data_dir: Optional[Path] = None, log=None) -> Dict[str, str]:
    """{OASIS subset: registered backbone name of the trunk trained without it}."""
    from piaa.backbones.finetuned import register_trunk
    from piaa.errors import InputError
    from piaa.paths import user_data_dir
    from piaa.training.trunk.config import load_config
    from piaa.training.trunk.data import load_database, take
    from piaa.training.trunk.train import TRUNK_FILE, train_trunk

    log = log or sys.stderr
    cfg = load_config(config_path)
    if "oasis" not in cfg.databases:
        raise InputError(f"{config_path}: a GIAA fold trunk config must train on oasis")
    dbs = {name: load_database(name, data_dir) for name in cfg.databases}
    oasis = dbs["oasis"]
    out: Dict[str, str] = {}
    for s in sorted(set(oasis.strata.tolist())):
        kept = take(oasis, oasis.strata != s)
        fp = hashlib.sha256((cfg.fingerprint() + "|" + s + "|" + "|".join(kept.names)).encode()).hexdigest()[:12]
        folder = user_data_dir() / "giaa-trunks" / fp
        if not (folder / TRUNK_FILE).is_file():
            print(f"GIAA fold {s}: training its trunk without the {len(oasis.names) - len(kept.names)} photos of "
                  f"{s} -> {folder}", file=log, flush=True)
            train_trunk(cfg, folder, databases=[kept if n == "oasis" else dbs[n] for n in cfg.databases], log=log)
        name = f"giaa-trunk-{s}-{fp[:8]}"
        register_trunk(name, folder / TRUNK_FILE, override=True)
        out[s] = name
    return out
