"""Database name -> reader. ``load_dataset(database, path, **options)`` is the one entry point."""
from __future__ import annotations

import os

from .csv_reader import read_ratings_csv
from .ratings import RatingsDataset
from .readers.aggregate import read_aadb, read_ava, read_koniq10k, read_spaq, read_tad66k
from .readers.avtai import read_avt_ai
from .readers.biq2021 import read_biq2021
from .readers.oasis import read_oasis_beauty, read_oasis_norms
from .readers.personal import read_flickr_aes, read_para, read_psychoflickr, read_real_cur

READERS = {
    "ava": read_ava,
    "flickr-aes": read_flickr_aes,
    "psychoflickr": read_psychoflickr,
    "koniq10k": read_koniq10k,
    "spaq": read_spaq,
    "tad66k": read_tad66k,
    "para": read_para,
    "aadb": read_aadb,
    "real-cur": read_real_cur,
    "oasis-beauty": read_oasis_beauty,
    "oasis-norms": read_oasis_norms,
    "avt-ai": read_avt_ai,
    "biq2021": read_biq2021,
    "csv": read_ratings_csv,
}

ALIASES = {"flickr": "flickr-aes", "flickraes": "flickr-aes", "koniq": "koniq10k", "koniq-10k": "koniq10k",
           "realcur": "real-cur", "oasis": "oasis-beauty", "avtai": "avt-ai", "avt": "avt-ai",
           "biq": "biq2021", "biq-2021": "biq2021"}


def list_databases() -> list:
    return list(READERS)


def load_dataset(database: str, path, **options) -> RatingsDataset:
    """Load ``database`` from ``path`` (the folder holding its label files as published, or the CSV for ``csv``).

    ``options`` go to the database's reader (e.g. ``criterion=`` for avt-ai, ``subsets=`` for oasis-beauty,
    ``test_workers=`` for flickr-aes, column names for csv).
    """
    key = str(database).strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in READERS:
        raise ValueError(f"unknown database {database!r}; known: {', '.join(READERS)}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    return READERS[key](path, **options)
