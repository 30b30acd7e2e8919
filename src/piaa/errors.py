"""The one error root of piaa: every domain error is a :class:`PiaaError`.

A caller (the CLI, the service, a notebook) catches ``PiaaError`` in one place and shows ``str(err)``, a
one-line message naming what is wrong and, where possible, how to fix it. Everything else (``TypeError``,
``AssertionError``, a bare ``RuntimeError`` from a library) is a bug and keeps its traceback.

The domain errors also derive from the built-in exception they replaced (``ValueError``, ``KeyError``,
``FileNotFoundError``, ``RuntimeError``), so existing ``except ValueError:`` clauses keep working.

This module is a foundation: it imports nothing from piaa.
"""
from __future__ import annotations

from typing import Sequence


class PiaaError(Exception):
    """Root of every error piaa raises on purpose (bad input, missing file, unknown name, stale state).

    ``exit_code``: the status the CLI exits with when this error ends a command (1; 2 for a bad command line)."""

    exit_code = 1


class InputError(PiaaError, ValueError):
    """A value given by the user (an option, a file's content, a parameter) is not acceptable."""


class UsageError(InputError):
    """A bad command line (an option's value, a combination of options): the CLI exits 2, as argparse does."""

    exit_code = 2


class UnknownNameError(PiaaError, KeyError, ValueError):
    """A name looked up in a :class:`piaa.registry.Registry` is not registered.

    A ``KeyError`` (the historic type of registry look-ups) and a ``ValueError`` (what the dataset loader
    raised), so old ``except`` clauses keep working. ``str()`` is the plain message (KeyError would quote it).
    The CLI exits 2 on it, as for any bad command line: an unknown name is one typed as an option's value.
    """

    exit_code = 2

    def __init__(self, kind: str, name: str, known: Sequence[str] = (), suggestions: Sequence[str] = ()):
        self.kind = str(kind)
        self.name = name
        self.known = list(known)
        self.suggestions = list(suggestions)
        msg = f"unknown {self.kind} {name!r}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        msg += f" (known: {', '.join(self.known) or 'none'})"
        super().__init__(msg)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple:
        return (type(self), (self.kind, self.name, self.known, self.suggestions))


class DuplicateNameError(PiaaError, ValueError):
    """A name is registered twice without ``override=True``."""


class InvalidParameterError(InputError):
    """An estimator was given a parameter it does not have (or a value it cannot use)."""


class NotFittedError(PiaaError, RuntimeError):
    """``predict`` / ``state_dict`` called on an estimator before ``fit``."""


class StateError(PiaaError, ValueError):
    """Saved fitted state that cannot be restored: another method, a newer format, a different bank/network."""


class CacheEntryError(PiaaError, ValueError):
    """A stored cache entry is damaged or from another format: it is recomputed, never shown to the user."""


class FileMissingError(PiaaError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class FileAccessError(PiaaError, OSError):
    """A file or folder exists but cannot be read or listed (permissions, I/O error)."""


class AssetMissingError(PiaaError, FileNotFoundError):
    """A shipped asset (scoring model, network, prior, task bank) is not installed; says how to rebuild it."""


class MissingKeyError(PiaaError, KeyError):
    """A user, image, criterion or column asked for is not in the data (a ``KeyError``, as a mapping's is)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InsufficientDataError(PiaaError, RuntimeError):
    """The data cannot support the work asked for (too few images with features, a fold left empty)."""


class PiaaWarning(UserWarning):
    """Something the user should know that did not stop the work (a photo read past damaged metadata, an
    engine fallback). The CLI prints these as one line ``warning: <message>``, never Python's file:line form."""


class PiaaDeprecationWarning(PiaaWarning, DeprecationWarning):
    """A name or option still accepted but going away; :func:`deprecated` is the one way piaa issues it."""


def deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn once per call site that ``old`` is deprecated in favour of ``new`` (the only deprecation helper)."""
    import warnings

    warnings.warn(f"{old} is deprecated; use {new}", PiaaDeprecationWarning, stacklevel=stacklevel)
