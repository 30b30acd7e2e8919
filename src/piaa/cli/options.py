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
import sys


def fail(message: str, code: int = 1) -> int:
    """Print ``error: <message>`` to stderr and return ``code`` (1 an error, 2 a bad command line)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def _pixels(text: str) -> int:
    from piaa.io.images import parse_pixel_count

    try:
        return parse_pixel_count(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_max_pixels(p) -> None:
    p.add_argument("--max-pixels", type=_pixels, default=None, metavar="N",
                   help="refuse images larger than N pixels, e.g. 200M (default 128M, or PIAA_MAX_PIXELS); "
                        "a guard against decompression bombs")


def add_store(p) -> None:
    p.add_argument("--store", metavar="PATH", default=None, help="profile store file (default: user data dir)")


def add_sidecar_style(p) -> None:
    p.add_argument("--sidecar-style", choices=["darktable", "lightroom"], default="darktable",
                   help="name of NEW sidecars: photo.jpg.xmp (darktable, digiKam) or photo.xmp (Lightroom)")


def add_quiet(p) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars (shown only on a terminal anyway)")


def show_progress(args) -> bool:
    """Progress bars on: not ``--quiet`` and stderr is a terminal."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def add_device(p) -> None:
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default=None,
                   help="where torch runs the networks (feature extraction, training, task-vector fits): auto "
                        "(default, or PIAA_DEVICE) = a GPU when torch sees one, else the CPU")


def apply_process_options(args) -> None:
    """Options that set process-wide state, applied once before the command runs."""
    limit = getattr(args, "max_pixels", None)
    if limit is not None:
        from piaa.io.images import set_max_pixels

        set_max_pixels(limit)
    device = getattr(args, "device", None)
    if device is not None:
        from piaa.backbones.device import set_device

        set_device(device)


def summary_line(n_ok: int, n_err: int, done: str) -> str:
    """``"146 scored, 4 errors"`` — the last line of every command that works through a batch of photos."""
    return f"{n_ok} {done}, {n_err} error{'' if n_err == 1 else 's'}"
