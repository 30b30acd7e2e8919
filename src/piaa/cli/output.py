"""``-o PATH`` for every command: checked before the work starts, never replacing what is not a regular file.

:func:`output_target` is called while the arguments are checked; it returns an :class:`OutputTarget` or raises
:class:`OutputError` with one line saying what is wrong:

* ``PATH`` is a folder (or ends with ``/``), its parent folder does not exist or is not a folder, or a file
  cannot be created there (read-only, permissions -- tested by creating and removing a temporary file, so it
  also holds for root, which ``os.access`` would wave through);
* ``PATH`` is a symbolic link (renaming over it would replace the link, not the file it points to), a socket
  or a block device.

A regular file (or a new one) is written atomically (temporary file, fsync, rename; an existing file keeps its
permissions). A FIFO or a character device (``/dev/stdout``, ``/dev/null``, also through a link such as
``/dev/stdout``) is *streamed* to: opened for writing, never replaced. A FIFO that no process reads is refused
instead of waiting forever.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from piaa.errors import InputError


class OutputError(InputError):
    """The ``-o`` target cannot be written; the message names it and says why."""


class OutputTarget:
    """Where a command's result goes: ``write(data)`` once the work is done."""

    def __init__(self, path: str, fd: int | None = None):
        self.path = path
        self.fd = fd  # an open FIFO / character device (opened at check time and held), else None

    @property
    def stream(self) -> bool:
        return self.fd is not None

    def write(self, data: bytes) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot write: {exc.strerror or exc}") from None
            finally:
                os.close(fd)
            return
        from piaa.profiles.xmp_write import write_atomic

        write_atomic(self.path, data)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _kind(mode: int) -> str:
    from piaa.io.files import file_kind

    return file_kind(mode)


def output_target(path: str | os.PathLike, allow_stream: bool = True, make_parents: bool = False) -> OutputTarget:
    """Check ``path`` as an output file now (see the module doc); :class:`OutputError` when it cannot be.
    ``allow_stream=False``: the output must be a regular file (a FIFO or device is refused too), for
    writers that need to rename or to write companions beside it. ``make_parents=True``: missing parent
    folders will be created when writing (commands whose outputs go into a results folder of their own);
    the nearest existing one is checked instead."""
    raw = os.fspath(path)
    if raw == "":
        raise OutputError("empty output path")
    p = Path(raw).expanduser()
    text = str(p)
    try:
        lst = os.lstat(p)
    except FileNotFoundError:
        lst = None
    except NotADirectoryError:
        raise OutputError(f"{text}: {p.parent} is not a folder") from None
    except OSError as exc:
        raise OutputError(f"{text}: cannot use as output: {exc.strerror or exc}") from None
    if lst is not None and stat.S_ISLNK(lst.st_mode):
        try:
            st = os.stat(p)
        except OSError:
            st = None
        if allow_stream and st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            return _stream_target(text, st)  # /dev/stdout and friends
        raise OutputError(f"{text} is a symbolic link; give the file it points to (a link is never replaced)")
    if lst is not None:
        if stat.S_ISDIR(lst.st_mode):
            raise OutputError(f"{text} is a folder; give a file name inside it")
        if allow_stream and (stat.S_ISCHR(lst.st_mode) or stat.S_ISFIFO(lst.st_mode)):
            return _stream_target(text, lst)
        if not stat.S_ISREG(lst.st_mode):
            raise OutputError(f"{text} is {_kind(lst.st_mode)}, not a regular file; choose another output file")
    elif raw.endswith(("/", os.sep)):
        raise OutputError(f"{text}/ names a folder that does not exist; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if make_parents:
        while not os.path.lexists(parent) and parent != parent.parent:
            parent = parent.parent
    if not parent.exists():
        raise OutputError(f"{text}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{text}: {parent} is not a folder")
    try:  # really create a file there: the only honest test (root passes os.access everywhere)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{p.name}.", suffix=".check")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(f"{text}: cannot write in folder {parent}: {exc.strerror or exc}") from None
    return OutputTarget(text)


def _stream_target(text: str, st: os.stat_result) -> OutputTarget:
    # opened now and held until the result is written: a FIFO without a reader fails at once (ENXIO) instead
    # of blocking, and a reader that is there sees one writer from start to end
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(text, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"{text} is a FIFO that no process is reading") from None
        raise OutputError(f"{text}: cannot write: {exc.strerror or exc}") from None
    os.set_blocking(fd, True)
    return OutputTarget(text, fd)


def checked_output(path: str | os.PathLike | None, allow_stream: bool = True,
                   make_parents: bool = False) -> tuple[OutputTarget | None, str | None]:
    """``(target, None)`` for ``-o PATH`` checked now, ``(None, None)`` without ``-o``, or ``(None, message)``
    (print it; the command exits 2 before doing any work)."""
    if path in (None, "-"):
        return None, None
    try:
        return output_target(path, allow_stream, make_parents), None
    except OutputError as exc:
        return None, str(exc)


def write_output(target: OutputTarget, text: str) -> str | None:
    """Write the command's result; ``None`` or the one-line reason it could not be written."""
    try:
        target.write(text.encode("utf-8"))
    except (OutputError, OSError) as exc:
        return f"cannot write {target.path}: {getattr(exc, 'strerror', None) or exc}"
    return None
