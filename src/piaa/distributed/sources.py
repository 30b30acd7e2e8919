"""What a distributed scoring run reads: a SOURCE turned into numbered *parts* of work.

SOURCE is one of

- a folder: its image files, recursively (hidden files and folders skipped, the order of
  :func:`piaa.io.images.iter_image_files`);
- a folder holding webdataset ``.tar`` shards (img2dataset's output: ``00000.tar``, ``00000.parquet``,
  ...) and no image files of its own: the shards;
- one ``.tar`` shard, or a glob pattern of shards (``data/{0000..}`` brace ranges are not expanded; use
  ``data/*.tar``);
- a ``.parquet`` file with a ``path`` column (img2dataset's metadata style; other columns are ignored);
- any other file: a text list of image paths, one per line (blank lines and lines starting with ``#``
  skipped; relative paths are taken relative to the list file's folder).

Images inside tar shards are identified by their webdataset *key*: the member's path up to the first dot of
its file name (``000000017.jpg`` -> ``000000017``); the other members of a sample (``.txt``, ``.json``) are
ignored. Paths of file sources are kept as given (absolute when the source was a folder given absolutely).

The work is cut into parts in a fixed order (the same SOURCE always gives the same parts), so an interrupted
run can skip the parts whose output already exists. A part never spans two shards.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from piaa.errors import InputError
from piaa.io.images import IMAGE_EXTENSIONS, iter_image_files

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
                h.update(b"\0shard" + os.path.basename(p.shard).encode("utf-8", "surrogateescape"))
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


def _chunks(seq, size):
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def _file_parts(paths: List[str], part_size: int) -> List[Part]:
    return [Part(i, paths=chunk) for i, chunk in enumerate(_chunks(paths, part_size))]


def _tar_parts(shards: List[str], part_size: int) -> List[Part]:
    parts: List[Part] = []
    for shard in shards:
        for chunk in _chunks(shard_members(shard), part_size):
            parts.append(Part(len(parts), shard=shard, members=[m.name for m in chunk],
                              keys=[webdataset_key(m.name) for m in chunk], offsets=[m.offset_data for m in chunk],
                              sizes=[m.size for m in chunk]))
    return parts


def read_member_bytes(part: Part) -> List[object]:
    """The bytes of each member of a tar part, or an ``OSError`` in its place when it cannot be read."""
    out: List[object] = []
    try:
        f = open(part.shard, "rb")
    except OSError as exc:
        return [exc] * len(part.members)
    with f:
        for off, size in zip(part.offsets, part.sizes):
            try:
                f.seek(off)
                data = f.read(size)
                out.append(data if len(data) == size else OSError(f"shard {part.shard} is shorter than its index"))
            except OSError as exc:
                out.append(exc)
    return out


def _read_path_list(path: Path) -> List[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not a text list of image paths (not UTF-8 text)") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    base = path.parent
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        p = Path(line).expanduser()
        out.append(str(p if p.is_absolute() else base / p))
    return out


def _read_parquet_paths(path: Path) -> List[str]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a non-parquet file
        raise SourceError(f"{path}: not a readable parquet file ({exc})") from None
    if "path" not in schema.names:
        raise SourceError(f"{path}: no `path` column (columns: {', '.join(schema.names)})")
    col = pq.read_table(path, columns=["path"]).column("path").to_pylist()
    return [str(p) for p in col if p is not None and str(p).strip()]


def open_source(source, part_size: int = DEFAULT_PART_SIZE) -> Source:
    """Resolve SOURCE into its parts (see the module docs for the kinds). Raises SourceError."""
    if part_size < 1:
        raise InputError("part size must be >= 1")
    text = os.fspath(source)
    p = Path(text).expanduser()
    if not p.exists() and glob.has_magic(text):
        shards = sorted(glob.glob(os.path.expanduser(text)))
        if not shards:
            raise SourceError(f"no file matches {text!r}")
        if not all(s.endswith(".tar") for s in shards):
            raise SourceError(f"{text!r} matches files that are not .tar shards")
        return Source("tar", _tar_parts(shards, part_size), f"{len(shards)} tar shards")
    if not p.exists():
        raise SourceError(f"no such file or folder: {text!r}")
    if p.is_dir():
        files = iter_image_files(p, recursive=True)
        if not files:
            shards = sorted(str(s) for s in p.iterdir() if s.suffix == ".tar" and s.is_file())
            if shards:
                return Source("tar", _tar_parts(shards, part_size), f"{len(shards)} tar shards in {p}")
            raise SourceError(f"nothing to score: no image files or .tar shards in {text}")
        return Source("files", _file_parts([str(f) for f in files], part_size), f"folder {p}")
    suffix = p.suffix.lower()
    if suffix == ".tar":
        return Source("tar", _tar_parts([str(p)], part_size), f"tar shard {p}")
    if suffix == ".parquet":
        paths = _read_parquet_paths(p)
        what = f"parquet list {p}"
    elif _is_image_name(p.name):
        paths, what = [str(p)], f"image {p}"
    else:
        paths = _read_path_list(p)
        what = f"path list {p}"
    if not paths:
        raise SourceError(f"nothing to score: {p} lists no image paths")
    return Source("files", _file_parts(paths, part_size), what)
