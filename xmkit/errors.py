"""Errors a user can act on: where (file, row, column), what was found, what was expected.

Every error xmkit raises for a user is an :class:`XmkitError` carrying :class:`Problem` lines,
of one of three kinds, because each calls for a different fix:

* :class:`InputError`: an input file is wrong (a responses file, framework, assessment); fix
  the file. A plain :class:`XmkitError` is treated as this kind.
* :class:`RenderError`: the machinery failed (a kernel died or hung, Chromium could not print);
  the input is not to blame, so the message never points at it.
* :class:`UsageError`: a command-line flag or argument is wrong (also a :class:`ValueError`,
  so a Python caller passing a bad option gets one).

The CLI prints them without a traceback and exits 2 for usage errors, 1 for the others.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InputError", "Problem", "RenderError", "UsageError", "XmkitError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            # Exports put whole questions (thousands of characters) in a header.
            column = self.column if len(self.column) <= 80 else self.column[:77] + "..."
            where += f", column {column!r}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            text += f" (found {shown!r})"
        if self.expected is not None:
            text += f"; expected {self.expected}"
        return text


class XmkitError(Exception):
    """An error reported to the user; carries one or more :class:`Problem`."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | Problem | str, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file=file or "input", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(XmkitError):
    """An input file is wrong: fix the file at the place each problem names."""


class RenderError(XmkitError):
    """Rendering failed for a reason outside the inputs: a kernel or Chromium failed."""


class UsageError(XmkitError, ValueError):
    """A flag, argument or option value is not usable (command line: exit code 2)."""

    exit_code = 2
