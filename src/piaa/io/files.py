"""Reading files that came from anywhere: only regular files, never more than a size cap, never a hang.

A photo folder can hold anything: a FIFO (``mkfifo photo.jpg``), a device (``/dev/zero``), a socket, a symlink
loop, a 50 GB file. Every place that reads user files goes through :func:`open_regular` / :func:`read_regular`:

* the file is opened with ``O_NONBLOCK`` (opening a FIFO for reading never waits for a writer) and
  ``fstat``-ed *after* opening, so what is checked is what is read (no check-then-open race);
* anything but a regular file is refused with :class:`NotRegularFileError` ("a FIFO", "a character device",
  ...), a subclass of ``OSError`` so existing ``except OSError`` per-file handlers report it;
* a file larger than the cap is refused with :class:`FileTooLargeError` before it is read, and a read never
  returns more than the cap (a file growing while it is read is cut off and refused).

Caps: images :data:`MAX_IMAGE_BYTES` (env ``PIAA_MAX_IMAGE_BYTES``), sidecars and documents
:data:`MAX_TEXT_BYTES`.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO, Optional

from piaa.errors import PiaaError

__all__ = [
    "FileTooLargeError", "MAX_IMAGE_BYTES", "MAX_TEXT_BYTES", "NotRegularFileError", "file_kind",
    "image_byte_cap", "open_regular", "read_regular",
]

#: Largest image file read (bytes): 1 GiB by default, far above any photo (a 100 MP 16-bit TIFF is ~600 MB).
MAX_IMAGE_BYTES = 1 << 30
#: Largest XMP sidecar / profile JSON / ratings document read (bytes).
MAX_TEXT_BYTES = 64 << 20


class NotRegularFileError(PiaaError, OSError):
    """The path is a FIFO, device, socket or directory: piaa only reads regular files."""


class FileTooLargeError(PiaaError, OSError):
    """The file is larger than the cap for its kind."""


def image_byte_cap() -> int:
    """The image size cap in bytes (``PIAA_MAX_IMAGE_BYTES`` overrides :data:`MAX_IMAGE_BYTES`)."""
    raw = os.environ.get("PIAA_MAX_IMAGE_BYTES")
    if raw:
        try:
            v = int(raw)
            if v > 0:
                return v
        except ValueError:
            pass
    return MAX_IMAGE_BYTES


def file_kind(mode: int) -> str:
    """Human name of a file type from ``st_mode`` ("a regular file", "a FIFO", ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n} bytes"


def open_regular(path: str | os.PathLike, max_bytes: Optional[int] = None) -> BinaryIO:
    """Open ``path`` for binary reading if (and only if) it is a regular file of at most ``max_bytes``.

    Raises ``FileNotFoundError``, ``PermissionError``, ``OSError(ELOOP)`` (symlink loop) as the OS does,
    :class:`NotRegularFileError` and :class:`FileTooLargeError`. The returned file object is blocking.
    """
    p = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(p, flags)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", p)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(errno.EINVAL, f"not a regular file ({file_kind(st.st_mode)})", p)
        if max_bytes is not None and st.st_size > max_bytes:
            raise FileTooLargeError(errno.EFBIG, f"file too large ({_mb(st.st_size)} > limit {_mb(max_bytes)})", p)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, max_bytes: Optional[int] = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`open_regular`)."""
    with open_regular(path, max_bytes) as fh:
        if max_bytes is None:
            return fh.read()
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(errno.EFBIG, f"file too large (grew beyond the limit {_mb(max_bytes)})",
                                os.fspath(path))
    return data
