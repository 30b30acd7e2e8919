"""Database name -> reader. ``load_dataset(database, path, **options)`` is the one entry point.

A reader is a function ``read_x(path, *, option=default, ...) -> RatingsDataset`` that names every option it
accepts (no ``**kwargs``): ``load_dataset`` rejects any other option with a one-line
:class:`~piaa.errors.InputError` listing the accepted ones. Register one with ``READERS.register(name, fn,
aliases=...)`` or the ``@register_reader(name)`` decorator; names are case-insensitive and ``_`` equals ``-``.
"""
from __future__ import annotations

import inspect
import os
from typing import Callable, List, Sequence

from piaa.errors import FileMissingError, InputError
from piaa.registry import Registry

from .csv_reader import read_ratings_csv
from .ratings import RatingsDataset
from .readers.aggregate import read_aadb, read_ava, read_koniq10k, read_spaq, read_tad66k
from .readers.avtai import read_avt_ai
from .readers.biq2021 import read_biq2021
from .readers.oasis import read_oasis_beauty, read_oasis_norms
from .readers.personal import read_flickr_aes, read_para, read_psychoflickr, read_real_cur


def _normalize(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


READERS: Registry[Callable[..., RatingsDataset]] = Registry("database", normalize=_normalize)


def register_reader(name: str, fn: Callable = None, *, aliases: Sequence[str] = (), override: bool = False):
    """Register ``fn`` (or decorate a reader) under ``name``."""
    return READERS.register(name, fn, aliases=aliases, override=override)


for _name, _fn, _aliases in (
    ("ava", read_ava, ()),
    ("flickr-aes", read_flickr_aes, ("flickr", "flickraes")),
    ("psychoflickr", read_psychoflickr, ()),
    ("koniq10k", read_koniq10k, ("koniq", "koniq-10k")),
    ("spaq", read_spaq, ()),
    ("tad66k", read_tad66k, ()),
    ("para", read_para, ()),
    ("aadb", read_aadb, ()),
    ("real-cur", read_real_cur, ("realcur",)),
    ("oasis-beauty", read_oasis_beauty, ("oasis",)),
    ("oasis-norms", read_oasis_norms, ()),
    ("avt-ai", read_avt_ai, ("avtai", "avt")),
    ("biq2021", read_biq2021, ("biq", "biq-2021")),
    ("csv", read_ratings_csv, ()),
):
    register_reader(_name, _fn, aliases=_aliases)


def list_databases() -> List[str]:
    return READERS.names()


def reader_options(database: str) -> List[str]:
    """The options ``database``'s reader accepts (its keyword parameters after ``path``)."""
    params = list(inspect.signature(READERS.get(database)).parameters.values())[1:]
    # ``options`` (csv) only says how a caller names these in messages; it is not a reading option
    return [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "options"]


def load_dataset(database: str, path, **options) -> RatingsDataset:
    """Load ``database`` from ``path`` (the folder holding its label files as published, or the CSV for ``csv``).

    ``options`` go to the database's reader (e.g. ``criterion=`` for avt-ai, ``subsets=`` for oasis-beauty,
    ``test_workers=`` for flickr-aes, column names for csv); an option the reader does not have is an error.
    """
    reader = READERS.get(database)
    known = reader_options(database)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InputError(f"{READERS.resolve(database)}: unknown option(s) {', '.join(unknown)}; "
                         f"accepted: {', '.join(known) or 'none'}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileMissingError(f"{path}: no such file or folder")
    return reader(path, **options)
