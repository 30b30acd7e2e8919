"""Errors raised by the data readers: every problem names the file, the line and what is wrong."""
from __future__ import annotations

from typing import Optional

from piaa.errors import InputError


class RatingsFormatError(InputError):
    """A label file does not match the layout its reader expects.

    ``file`` is the path, ``line`` the 1-based physical line number (``None`` when the problem concerns the
    whole file, e.g. a missing file), ``problem`` a sentence describing what is wrong and, where possible, how to
    fix it. ``str(err)`` reads ``"<file>, line <n>: <problem>"``.
    """

    def __init__(self, file: object, line: Optional[int], problem: str):
        self.file = str(file)
        self.line = None if line is None else int(line)
        self.problem = str(problem)
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        super().__init__(f"{where}: {self.problem}")

    def __reduce__(self) -> tuple:  # keep picklable (multiprocessing, pytest-xdist)
        return (type(self), (self.file, self.line, self.problem))
