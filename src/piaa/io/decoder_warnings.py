"""Pillow's warnings about a damaged photo, in piaa's words: one :class:`ImageWarning` naming the photo.

Pillow reports some damage (corrupt EXIF, a malformed MPO) through :mod:`warnings` instead of exceptions,
printed raw with Pillow's file and line. Every read of a photo's pixels (:mod:`piaa.io.images`) or metadata
(:mod:`piaa.io.exif`, XMP embedded in a JPEG) runs inside :func:`pillow_warnings_reported`, so the person sees
one line per photo that says what happened. A module of its own because decoding and metadata reading both
need it, and it holds process-wide state (the ``warnings.showwarning`` route) that should live in one place.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Any, Callable, Iterator, TypeVar

from piaa.errors import PiaaWarning

T = TypeVar("T")

__all__ = ["ImageWarning", "pillow_warnings_reported"]


class ImageWarning(PiaaWarning):
    """A photo was read, but its decoder reported a problem (damaged EXIF, a malformed MPO, ...); the message
    is ``"<path>: <what, in piaa's words>"``, one per photo."""


# Pillow reports some damage through ``warnings`` instead of exceptions, printed raw with its file and line.
# While this thread loads a photo they are collected here instead and re-issued as one ImageWarning naming
# the photo. A process-wide hook routes per thread (``catch_warnings`` is not thread-safe, and photos are
# decoded in several threads at once); warnings outside a load pass through untouched.
_collect = threading.local()
_PIL_WORDS = (
    ("tag data larger than file", "damaged EXIF metadata ignored"),
    ("corrupt exif", "damaged EXIF metadata ignored"),
    ("possibly corrupt exif", "damaged EXIF metadata ignored"),
    ("metadata warning", "damaged metadata ignored"),
    ("truncated file read", "damaged metadata ignored"),
    ("malformed mpo", "malformed MPO file, read as a plain JPEG"),
    ("palette images with transparency", None),  # handled by our RGB conversion: nothing to say
)


def _pil_words(message: str) -> str | None:
    low = message.lower()
    for key, words in _PIL_WORDS:
        if key in low:
            return words
    return f"decoder warning: {message.strip()[:120]}"


_previous_showwarning: Callable[..., Any] = warnings.showwarning


def _routing_showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                         file: Any = None, line: str | None = None) -> None:
    sink = getattr(_collect, "sink", None)
    if sink is not None and not issubclass(category, PiaaWarning):
        sink.append(str(message))
        return
    _previous_showwarning(message, category, filename, lineno, file, line)


def _install_warning_route() -> None:
    global _previous_showwarning
    if warnings.showwarning is not _routing_showwarning:  # (re)installed: catch_warnings elsewhere restores
        _previous_showwarning = warnings.showwarning
        warnings.showwarning = _routing_showwarning
    if not any(f[0] == "always" and f[3] is not None and f[3].pattern == r"PIL\." for f in warnings.filters):
        # every photo's damage is reported, not only the first occurrence of a message
        warnings.filterwarnings("always", category=UserWarning, module=r"PIL\.")


@contextlib.contextmanager
def pillow_warnings_reported(path: object) -> Iterator[None]:
    """Inside this block Pillow's warnings are collected (this thread only); on leaving, one
    :class:`ImageWarning` names ``path`` and says what they meant. Every header or pixel read goes through it."""
    _install_warning_route()
    outer = getattr(_collect, "sink", None)
    _collect.sink = []
    try:
        yield
    finally:
        caught, _collect.sink = _collect.sink, outer
        words = sorted({w for w in map(_pil_words, caught) if w})
        if words:
            where = f"{path}: " if path else ""
            warnings.warn(ImageWarning(where + "; ".join(words)), stacklevel=3)


def _loading_reports(path: object, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    with pillow_warnings_reported(path):
        return fn(*args, **kw)
