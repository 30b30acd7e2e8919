"""What a distributed scoring run reads: a SOURCE turned into numbered *parts* of work.

SOURCE is one of

- a folder: its image files, recursively (hidden files and folders skipped, the order of
  :func:`piaa.io.discovery.iter_image_files`);
- a folder holding webdataset ``.tar`` shards (img2dataset's output: ``00000.tar``, ``00000.parquet``,
  ...) and no image files of its own: the shards;
- one ``.tar`` (or gzip-compressed ``.tar.gz`` / ``.tgz``) shard, a glob pattern of shards (``data/*.tar``)
  or a webdataset brace pattern (``data/shards-{000000..000099}.tar``, ``data/{a,b}.tar``; every expanded
  name must exist);
- a ``.parquet`` file with a ``path`` column (img2dataset's metadata style; other columns are ignored);
- any other file: a text list of image paths, one per line (blank lines and lines starting with ``#``
  skipped).

Relative paths inside a text list *or* a parquet list are taken relative to the folder of the list file
(so a list can travel with its photos), never to the current folder. Every path is then made absolute here,
in the driver: Ray workers (on a cluster, in another working folder) receive only absolute paths, and the
``path`` column of the output holds them.

Images inside tar shards are identified by their webdataset *key*: the member's path up to the first dot of
its file name (``000000017.jpg`` -> ``000000017``); the other members of a sample (``.txt``, ``.json``) are
ignored. The ``shard`` column names a shard by its path relative to the folder common to all shards of the
run (``a/00000.tar`` and ``b/00000.tar`` stay apart; shards of one folder are named by their file name).

The work is cut into parts in a fixed order (the same SOURCE always gives the same parts), so an interrupted
run can skip the parts whose output already exists. A part never spans two shards.
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import itertools
import json
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from piaa.errors import InputError
from piaa.io.discovery import IMAGE_EXTENSIONS, iter_image_files

DEFAULT_PART_SIZE = 128  # images per output part: one atomic file, the unit of progress and of resumption


class SourceError(InputError):
    """SOURCE cannot be read as any of the supported kinds."""


@dataclass
class Part:
    """One unit of work: ``paths`` of files, or ``keys``/``members`` of one tar ``shard`` (with each member's
    data offset and size in the archive, so a worker reads exactly those bytes without re-listing the tar)."""

    index: int
    paths: List[str] = field(default_factory=list)
    shard: Optional[str] = None
    shard_label: Optional[str] = None  # the ``shard`` column: the path relative to the shards' common folder
    members: List[str] = field(default_factory=list)
    keys: List[str] = field(default_factory=list)
    offsets: List[int] = field(default_factory=list)
    sizes: List[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.members) if self.shard else len(self.paths)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> "Part":
        return cls(**json.loads(text))


@dataclass
class Source:
    kind: str  # "files" or "tar"
    parts: List[Part]
    description: str

    @property
    def n_images(self) -> int:
        return sum(len(p) for p in self.parts)

    def fingerprint(self) -> str:
        """Identity of the work list (every id, in order, and the cut into parts)."""
        h = hashlib.sha256(self.kind.encode())
        for p in self.parts:
            h.update(b"\0part")
            for x in (p.members if p.shard else p.paths):
                h.update(b"\0" + x.encode("utf-8", "surrogateescape"))
            if p.shard:
                h.update(b"\0shard" + (p.shard_label or p.shard).encode("utf-8", "surrogateescape"))
        return h.hexdigest()[:32]


def webdataset_key(member: str) -> str:
    """webdataset's sample key of a tar member: its path up to the first dot of the file name."""
    head, _, base = member.rpartition("/")
    stem = base.split(".", 1)[0]
    return f"{head}/{stem}" if head else stem


def _is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def shard_members(shard: str) -> List[tarfile.TarInfo]:
    """The image members of a tar shard, in archive order (one per key: the first image of a sample)."""
    try:
        with tarfile.open(shard, "r:*") as tf:
            out, seen = [], set()
            for m in tf:
                if m.isfile() and _is_image_name(m.name):
                    key = webdataset_key(m.name)
                    if key not in seen:
                        seen.add(key)
                        out.append(m)
            return out
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"{shard}: not a readable tar shard ({exc})") from None


SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def is_shard_name(name: str) -> bool:
    return name.lower().endswith(SHARD_SUFFIXES)


def _is_gzip(shard: str) -> bool:
    return shard.lower().endswith((".gz", ".tgz"))


_BRACE = re.compile(r"\{([^{}]*)\}")


def expand_braces(pattern: str) -> List[str]:
    """webdataset/bash brace expansion: ``{000..002}`` (zero padding kept from the first bound) and
    ``{a,b}``; several groups give their product. A pattern without braces is returned alone."""
    groups = []
    for m in _BRACE.finditer(pattern):
        body = m.group(1)
        rng = re.fullmatch(r"(\d+)\.\.(\d+)", body)
        if rng:
            lo, hi = rng.group(1), rng.group(2)
            if int(hi) < int(lo):
                raise SourceError(f"brace range {{{body}}} in {pattern!r} runs backwards")
            if int(hi) - int(lo) > 10_000_000:
                raise SourceError(f"brace range {{{body}}} in {pattern!r} is too large")
            width = len(lo) if lo.startswith("0") else 0
            groups.append([str(i).zfill(width) for i in range(int(lo), int(hi) + 1)])
        elif "," in body:
            groups.append(body.split(","))
        else:
            groups.append(["{" + body + "}"])  # not a pattern: literal braces
    if not groups:
        return [pattern]
    pieces = _BRACE.split(pattern)[::2]  # the text between the groups
    out = []
    for combo in itertools.product(*groups):
        out.append("".join(p + c for p, c in zip(pieces, list(combo) + [""])))
    return out


def _labels(shards: List[str]) -> List[str]:
    """Each shard's path relative to the folder all shards share (the ``shard`` column)."""
    if len(shards) == 1:
        return [os.path.basename(shards[0])]
    root = os.path.commonpath([os.path.dirname(s) for s in shards])
    return [os.path.relpath(s, root) for s in shards]


def _chunks(seq, size):
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def _file_parts(paths: List[str], part_size: int) -> List[Part]:
    return [Part(i, paths=chunk) for i, chunk in enumerate(_chunks(paths, part_size))]


def _tar_parts(shards: List[str], part_size: int) -> List[Part]:
    parts: List[Part] = []
    shards = [os.path.abspath(s) for s in shards]
    for shard, label in zip(shards, _labels(shards)):
        for chunk in _chunks(shard_members(shard), part_size):
            parts.append(Part(len(parts), shard=shard, shard_label=label, members=[m.name for m in chunk],
                              keys=[webdataset_key(m.name) for m in chunk], offsets=[m.offset_data for m in chunk],
                              sizes=[m.size for m in chunk]))
    return parts


def read_member_bytes(part: Part) -> List[object]:
    """The bytes of each member of a tar part, or an ``OSError`` in its place when it cannot be read."""
    out: List[object] = []
    try:  # offsets are in the uncompressed tar stream; gzip seeks forward through it (members are in order)
        f = gzip.open(part.shard, "rb") if _is_gzip(part.shard) else open(part.shard, "rb")
    except OSError as exc:
        return [exc] * len(part.members)
    with f:
        for off, size in zip(part.offsets, part.sizes):
            try:
                f.seek(off)
                data = f.read(size)
                out.append(data if len(data) == size else OSError(f"shard {part.shard} is shorter than its index"))
            except (OSError, EOFError) as exc:
                out.append(OSError(f"shard {part.shard} is damaged ({exc})"))
    return out


def _resolve(paths: List[str], base: Path) -> List[str]:
    """Absolute paths: ``~`` expanded, relative ones taken from ``base`` (the list file's folder)."""
    out = []
    for line in paths:
        p = Path(line).expanduser()
        out.append(os.path.abspath(p if p.is_absolute() else base / p))
    return out


def _read_path_list(path: Path) -> List[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not a text list of image paths (not UTF-8 text)") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    lines = [line.strip() for line in text.splitlines()]
    return _resolve([line for line in lines if line and not line.startswith("#")], path.parent)


def _read_parquet_paths(path: Path) -> List[str]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a non-parquet file
        raise SourceError(f"{path}: not a readable parquet file ({exc})") from None
    if "path" not in schema.names:
        raise SourceError(f"{path}: no `path` column (columns: {', '.join(schema.names)})")
    col = pq.read_table(path, columns=["path"]).column("path").to_pylist()
    return _resolve([str(p).strip() for p in col if p is not None and str(p).strip()], path.parent)


def open_source(source, part_size: int = DEFAULT_PART_SIZE) -> Source:
    """Resolve SOURCE into its parts (see the module docs for the kinds). Raises SourceError."""
    if part_size < 1:
        raise InputError("part size must be >= 1")
    text = os.fspath(source)
    p = Path(text).expanduser()
    if not p.exists() and _BRACE.search(text) and expand_braces(text) != [text]:
        shards = [os.path.expanduser(s) for s in expand_braces(text)]
        missing = [s for s in shards if not os.path.isfile(s)]
        if missing:
            raise SourceError(f"{text!r} names {len(shards)} shards but {len(missing)} do not exist "
                              f"(first: {missing[0]})")
        if not all(is_shard_name(s) for s in shards):
            raise SourceError(f"{text!r} names files that are not .tar or .tar.gz shards")
        return Source("tar", _tar_parts(shards, part_size), f"{len(shards)} tar shards")
    if not p.exists() and glob.has_magic(text):
        shards = sorted(glob.glob(os.path.expanduser(text)))
        if not shards:
            raise SourceError(f"no file matches {text!r}")
        if not all(is_shard_name(s) for s in shards):
            raise SourceError(f"{text!r} matches files that are not .tar or .tar.gz shards")
        return Source("tar", _tar_parts(shards, part_size), f"{len(shards)} tar shards")
    if not p.exists():
        raise SourceError(f"no such file or folder: {text!r}")
    if p.is_dir():
        files = iter_image_files(p, recursive=True)
        if not files:
            shards = sorted(str(s) for s in p.iterdir() if is_shard_name(s.name) and s.is_file())
            if shards:
                return Source("tar", _tar_parts(shards, part_size), f"{len(shards)} tar shards in {p}")
            raise SourceError(f"nothing to score: no image files or .tar shards in {text}")
        return Source("files", _file_parts([os.path.abspath(f) for f in files], part_size), f"folder {p}")
    suffix = p.suffix.lower()
    if is_shard_name(p.name):
        return Source("tar", _tar_parts([str(p)], part_size), f"tar shard {p}")
    if suffix == ".parquet":
        paths = _read_parquet_paths(p)
        what = f"parquet list {p}"
    elif _is_image_name(p.name):
        paths, what = [os.path.abspath(p)], f"image {p}"
    else:
        paths = _read_path_list(p)
        what = f"path list {p}"
    if not paths:
        raise SourceError(f"nothing to score: {p} lists no image paths")
    return Source("files", _file_parts(paths, part_size), what)
