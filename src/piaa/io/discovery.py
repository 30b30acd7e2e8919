"""Which files of the folders a person names are photos: :func:`iter_image_files` and its messages.

Discovery goes by file-name extension (:data:`IMAGE_EXTENSIONS`) and never opens a file; what a file holds is
decided when it is decoded (:mod:`piaa.io.images`, by content). Every command that takes folders (score, rank,
cull, profile suggest, the service's library scan, the distributed pipeline) expands them here, so hidden
files, unreadable folders, dangling links and ``--recursive`` behave the same everywhere, and so do the
messages when nothing is found (:func:`no_images_message`) or sub-folders were left out
(:func:`skipped_subfolders`).
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from piaa.errors import FileAccessError, FileMissingError
from piaa.io.raw import RAW_EXTENSIONS

__all__ = ["IMAGE_EXTENSIONS", "RAW_EXTENSIONS", "iter_image_files", "no_images_message", "skipped_subfolders"]

#: File-name extensions (lower case, with dot) that folder expansion treats as images. Decoding never
#: relies on them; they only decide which files of a folder are picked up.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".mpo",
        ".png", ".apng",
        ".webp",
        ".gif",
        ".tif", ".tiff",
        ".bmp", ".dib",
        ".ppm", ".pgm", ".pbm", ".pnm",
        ".jp2", ".j2k", ".jpx",
        ".avif", ".heic", ".heif", ".hif",
    }
    | RAW_EXTENSIONS
)  # fmt: skip


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _has_image_ext(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _listed(path: str) -> bool:
    """Whether a folder entry with an image extension is listed: everything but folders and dangling links.
    A FIFO, device, symlink loop or unreadable file is listed so that it gets its own error when read."""
    try:
        return not stat.S_ISDIR(os.stat(path).st_mode)
    except FileNotFoundError:
        return False  # a dangling symlink: nothing there
    except OSError:
        return True  # symlink loop, permission denied...: reported per file when read


def iter_image_files(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    recursive: bool = False,
    errors: list | None = None,
) -> list[Path]:
    """Expand files and folders into a list of image files.

    * A file given explicitly is kept whatever its extension (its content decides when it is loaded); so is
      a symlink loop or a FIFO given explicitly (reading it fails with a per-file error, never a hang).
    * A folder contributes its entries whose extension is in :data:`IMAGE_EXTENSIONS` (case-insensitive)
      and that are not folders, sorted by path; hidden files (and, when recursing, hidden folders) are
      skipped. Sub-folders are walked only with ``recursive=True`` (symlinked folders are not followed).
    * A folder that cannot be listed (permissions, I/O error) is appended to ``errors`` as
      ``(path, reason)`` when a list is given (the other folders are still expanded); without ``errors``
      it raises ``OSError`` naming it.
    * A path that does not exist raises ``FileNotFoundError`` naming it.
    * Order follows ``paths``; a file reached twice is listed once.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.absolute()
        if key not in seen:
            seen.add(key)
            out.append(p)

    def unlistable(folder: object, exc: OSError) -> None:
        reason = f"cannot list folder: {exc.strerror or exc}"
        if errors is None:
            err = FileAccessError(f"{folder}: {reason}")
            err.errno = exc.errno
            raise err from None
        errors.append((str(folder), reason))

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found: list[Path] = []
            if recursive:
                for root, dirs, files in os.walk(p, onerror=lambda e: unlistable(e.filename, e)):
                    dirs[:] = [d for d in dirs if not _is_hidden(d)]
                    for f in files:
                        if not _is_hidden(f) and _has_image_ext(f) and _listed(os.path.join(root, f)):
                            found.append(Path(root) / f)
            else:
                try:
                    with os.scandir(p) as it:
                        names = [e.name for e in it]
                except OSError as exc:
                    unlistable(p, exc)
                    names = []
                for name in names:
                    if not _is_hidden(name) and _has_image_ext(name) and _listed(os.path.join(p, name)):
                        found.append(p / name)
            for q in sorted(found, key=lambda q: q.relative_to(p).parts):
                add(q)
        elif p.exists() or os.path.lexists(p):
            add(p)
        else:
            raise FileMissingError(f"no such file or folder: {str(p)!r}")
    return out


def skipped_subfolders(paths: Iterable[str | os.PathLike], recursive: bool) -> int:
    """How many sub-folders (not hidden, not symlinked) of the given folders :func:`iter_image_files` did not walk
    because ``recursive`` is off: a command says so in one note rather than skip them silently."""
    if recursive:
        return 0
    n = 0
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            continue
        try:
            with os.scandir(p) as it:
                n += sum(1 for e in it if not _is_hidden(e.name) and e.is_dir(follow_symlinks=False))
        except OSError:
            continue  # an unlistable folder is reported by iter_image_files itself
    return n


def no_images_message(paths: Iterable[str | os.PathLike], recursive: bool, verb: str = "score") -> str:
    """Why :func:`iter_image_files` found nothing, in one line, with a hint only when it would help: "add
    --recursive" only when a sub-folder really holds photos; otherwise what the folder does hold."""
    folders = [Path(p) for p in paths]
    text = f"nothing to {verb}: no photos found in " + ", ".join(map(str, folders))
    if not recursive:
        budget = [2000]  # entries looked at, so a huge tree cannot stall the error message

        def photos_below(d: Path) -> bool:
            try:
                for root, dirs, files in os.walk(d):
                    dirs[:] = [x for x in dirs if not _is_hidden(x)]
                    budget[0] -= len(files) + 1
                    if budget[0] < 0:
                        return False
                    if root != str(d) and any(_has_image_ext(f) and not _is_hidden(f) for f in files):
                        return True
            except OSError:
                return False
            return False

        if any(p.is_dir() and photos_below(p) for p in folders):
            return text + "; sub-folders hold photos: add --recursive"
    others: set[str] = set()
    for p in folders:
        try:
            if p.is_dir():
                others.update(os.path.splitext(e.name)[1].lower() or e.name for e in os.scandir(p)
                              if e.is_file() and not _is_hidden(e.name))
        except OSError:
            pass
    if others:
        shown = sorted(others)[:8]
        return text + f" (files found: {', '.join(shown)}{', ...' if len(others) > 8 else ''})"
    return text + " (the folder is empty)" if len(folders) == 1 and folders[0].is_dir() else text
