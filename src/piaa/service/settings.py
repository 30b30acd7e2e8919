"""The settings of one ``piaa serve`` process (what ``piaa serve`` options become)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from piaa.profiles.cull_checks import CHECKS

#: Largest request body accepted (bytes); larger ones get 413 before they are read. The largest legitimate
#: body (credentials, a rating, a comparison) is well under 10 KB.
MAX_BODY_BYTES = 64 * 1024


def default_data_dir() -> Path:
    from piaa.paths import user_data_dir

    return user_data_dir() / "serve"


@dataclass
class Settings:
    libraries: List[Path]
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: Optional[str] = None
    allow_signup: bool = False
    allow_xmp_write: bool = False
    xmp_owner: Optional[str] = None       # whose stars the sidecars hold (None: the first admin, else first account)
    model: Optional[str] = None
    method: Optional[str] = None          # personalization method of new profiles (None: piaa's default)
    feature_wait: float = 120.0           # how long a request that needs features waits for the first extraction
    max_body_bytes: int = MAX_BODY_BYTES
    trust_forwarded: bool = False         # take the client address from X-Forwarded-For (behind a proxy only)
    community: bool = True                # the library model: members' shared ratings teach everyone's start
    cull_checks: frozenset = frozenset(CHECKS)   # piaa cull's checks at 100 % run on the bursts in the background

    def __post_init__(self):
        from piaa.service.persistence import sqlite_url

        self.data_dir = Path(self.data_dir).expanduser()
        self.cull_checks = frozenset(self.cull_checks)
        self.libraries = [Path(p).expanduser() for p in self.libraries]
        if not self.database_url:
            self.database_url = os.environ.get("PIAA_DATABASE_URL") or sqlite_url(self.data_dir / "piaa-serve.sqlite")
