"""`piaa` command line: one argparse tree, each subcommand in its own module ``piaa.cli.cmd_<name>``.

Every command module exposes ``register(subparsers)`` which adds its parser and sets ``func`` (returns an exit
code). Adding a command = adding a module and its name to ``COMMAND_MODULES``.

Errors: library code raises :class:`piaa.errors.PiaaError` subclasses for anything the user can fix (bad input,
a missing file or asset, an unknown name); :func:`main` catches them here, in one place, and prints one line
``error: <message>`` (exit ``exc.exit_code``: 1, or 2 for a :class:`piaa.errors.UsageError`). Commands have no
``except`` of their own for these (``tests/unit/test_cli_errors.py`` checks it); anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from typing import Any, Callable, Sequence

COMMAND_MODULES = [
    "score",      # piaa score PATH...
    "models",     # piaa models
    "data",       # piaa data inspect
    "bench",      # piaa bench giaa|speed
    "train",      # piaa train default-model | pa-iaa | ...
    "tasks",      # piaa tasks train CONFIG
    "evaluate",   # piaa evaluate EXPERIMENT.toml
    "analyze",    # piaa analyze traits (Table IV)
    "profile",    # piaa profile create/list/show/delete/export/import
    "rank",       # piaa rank FOLDER
    "cull",       # piaa cull FOLDER (groups of near-duplicates / bursts, keep the best)
    "explain",    # piaa explain PHOTO --profile NAME
    "serve",      # piaa serve --library DIR (web app + HTTP API)
]


EXIT_STATUS = ("exit status: 0 success; 1 error (one line on stderr: 'error: ...'); 2 bad command line; "
               "130 interrupted")


def build_parser() -> argparse.ArgumentParser:
    from piaa import __version__

    parser = argparse.ArgumentParser(
        prog="piaa",
        description="Generic and personalized image aesthetics: score photos, learn a person's taste, rank collections.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--version", action="version", version=f"piaa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"piaa.cli.cmd_{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from piaa.cli.options import apply_process_options

    apply_process_options(args)
    _piaa_warnings_as_lines()
    from piaa.cli.options import fail
    from piaa.errors import PiaaError

    try:
        return int(args.func(args) or 0)
    except PiaaError as exc:  # the one place domain errors become a one-line message
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


_previous_showwarning: Callable[..., Any] = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    from piaa.errors import PiaaWarning

    if issubclass(category, PiaaWarning):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        _previous_showwarning(message, category, filename, lineno, file, line)


def _piaa_warnings_as_lines() -> None:
    """piaa's own warnings (:class:`piaa.errors.PiaaWarning`) print as ``warning: <message>``; others as usual."""
    global _previous_showwarning
    from piaa.errors import PiaaDeprecationWarning

    # Python hides DeprecationWarnings outside __main__; the user of a deprecated option must see piaa's
    warnings.filterwarnings("default", category=PiaaDeprecationWarning)
    if warnings.showwarning is not _show_warning:
        _previous_showwarning = warnings.showwarning
        warnings.showwarning = _show_warning


if __name__ == "__main__":
    sys.exit(main())
