"""Options several commands share, defined once so they read and behave the same everywhere.

- ``--quiet/-q``: no progress bars; progress is shown only when stderr is a terminal anyway
  (:func:`show_progress`), so logs and pipes never fill with bar redraws.
- :func:`fail`: the one way a command reports a failure it handles itself (``error: <message>`` on stderr
  and the exit code: 1 an error, 2 a bad command line); :class:`piaa.errors.PiaaError` raised from a command
  is turned into the same line by :func:`piaa.cli.main.main`.
- ``--max-pixels N``: the largest image (pixels claimed by its header) a command decodes; 128M by default.
  Applied once for the whole process by :func:`piaa.cli.main.main` through
  :func:`piaa.io.images.set_max_pixels`.
- ``--device cpu|cuda|mps|auto``: where torch runs networks, set once through
  :func:`piaa.backbones.device.set_device`.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
V = TypeVar("V")


def fail(message: str, code: int = 1) -> int:
    """Print ``error: <message>`` to stderr and return ``code`` (1 an error, 2 a bad command line)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse ``type=`` from a parser that raises :class:`piaa.errors.InputError`: a bad value becomes
    argparse's own usage error (exit 2), like a wrong ``choices`` value."""
    from piaa.errors import InputError

    def convert(text: str) -> T:
        try:
            return parse(text)
        except InputError as exc:  # argparse reports it as "argument --x: <message>"
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def option_value(option: str, check: Callable[[V], T], value: V) -> T:
    """``check(value)`` for a value given on the command line, before the work starts: a
    :class:`piaa.errors.PiaaError` it raises (a model file that is not there) is a bad command line, exit 2."""
    from piaa.errors import PiaaError, UsageError

    try:
        return check(value)
    except UsageError:
        raise
    except PiaaError as exc:  # re-raised as the command line's fault; main() prints it
        raise UsageError(f"{option}: {exc}") from None


def _pixels(text: str) -> int:
    from piaa.io.images import parse_pixel_count

    return argument_type(parse_pixel_count)(text)


def _non_negative(text: str) -> float:
    from piaa.errors import InputError

    try:
        v = float(text)
    except ValueError:
        raise InputError(f"not a number: {text!r}") from None
    if not (v >= 0 and v != float("inf")):
        raise InputError(f"must be a number >= 0, not {text}")
    return v


non_negative = argument_type(_non_negative)


def add_max_pixels(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-pixels", type=_pixels, default=None, metavar="N",
                   help="refuse images larger than N pixels, e.g. 200M (default 128M, or PIAA_MAX_PIXELS); "
                        "a guard against decompression bombs")


def add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH", default=None, help="profile store file (default: user data dir)")


def add_sidecar_style(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sidecar-style", choices=["darktable", "lightroom"], default="darktable",
                   help="name of NEW sidecars: photo.jpg.xmp (darktable, digiKam) or photo.xmp (Lightroom)")


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars (shown only on a terminal anyway)")


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars on: not ``--quiet`` and stderr is a terminal."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default=None,
                   help="where torch runs the networks (feature extraction, training, task-vector fits): auto "
                        "(default, or PIAA_DEVICE) = a GPU when torch sees one, else the CPU")


def apply_process_options(args: argparse.Namespace) -> None:
    """Options that set process-wide state, applied once before the command runs."""
    limit = getattr(args, "max_pixels", None)
    if limit is not None:
        from piaa.io.images import set_max_pixels

        set_max_pixels(limit)
    device = getattr(args, "device", None)
    if device is not None:
        from piaa.backbones.device import set_device

        set_device(device)


def skipped_subfolder_note(paths: Iterable[str | os.PathLike], recursive: bool) -> None:
    """One line on stderr when folders given without ``-r`` have sub-folders that were not looked into."""
    from piaa.io.discovery import skipped_subfolders

    n = skipped_subfolders(paths, recursive)
    if n:
        print(f"note: skipped {n} sub-folder{'' if n == 1 else 's'} (add -r/--recursive to include "
              f"{'it' if n == 1 else 'them'})", file=sys.stderr)


def terminal_text(text: object) -> str:
    """``text`` safe to print on a terminal: control characters (newline, tab, escape sequences, C1 codes) and
    invisible format characters (bidirectional overrides) become visible escapes like ``\\n`` and ``\\x1b``, so
    a file name can neither break a table's lines nor send commands to the terminal."""
    import unicodedata

    s = str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or ord(ch) < 0x20:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def summary_line(n_ok: int, n_err: int, done: str) -> str:
    """``"146 scored, 4 errors"`` — the last line of every command that works through a batch of photos."""
    return f"{n_ok} {done}, {n_err} error{'' if n_err == 1 else 's'}"
