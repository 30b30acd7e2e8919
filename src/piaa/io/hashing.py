"""A photo's identity by content: the BLAKE2b-128 hash of its bytes, the key of the feature cache.

Reading and hashing live apart from decoding (:mod:`piaa.io.images`) because they never look at pixels: the
cache, the leakage guard of the evaluation and the trunk trainer only need to know whether two files are the
same photo. Files are read as :mod:`piaa.io.files` allows: regular files only, up to the size cap.
"""
from __future__ import annotations

import hashlib
import os

__all__ = ["image_bytes_hash", "image_file_hash", "read_image_bytes"]


def image_bytes_hash(data: bytes) -> str:
    """Hex BLAKE2b-128 digest (32 hex characters) of a file's bytes; the feature-cache key of an image."""
    return hashlib.blake2b(bytes(data) if not isinstance(data, bytes) else data, digest_size=16).hexdigest()


def image_file_hash(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """:func:`image_bytes_hash` of a file, read in 1 MB chunks (memory does not grow with the file). Same
    rules as :func:`read_image_bytes`: regular files only, up to the size cap."""
    from piaa.io.files import FileTooLargeError, image_byte_cap, open_regular

    cap = image_byte_cap()
    h = hashlib.blake2b(digest_size=16)
    n = 0
    with open_regular(path, cap) as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            n += len(block)
            if n > cap:
                raise FileTooLargeError(27, f"file too large (grew beyond the limit {cap} bytes)", os.fspath(path))
            h.update(block)
    return h.hexdigest()


def read_image_bytes(path: str | os.PathLike) -> bytes:
    """Read a file's raw bytes (for hashing and then ``load_image(data)`` without a second read).

    Only regular files are read, up to :func:`piaa.io.files.image_byte_cap` bytes. Raises the usual
    ``FileNotFoundError`` / ``OSError`` of the file system, :class:`piaa.io.files.NotRegularFileError` (FIFO,
    device, ...) and :class:`piaa.io.files.FileTooLargeError` (both ``OSError``).
    """
    from piaa.io.files import image_byte_cap, read_regular

    return read_regular(path, image_byte_cap())
