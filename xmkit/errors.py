"""Errors a user can act on: where (file, row, column), what was found, what was expected.

The CLI prints these without a traceback; library callers catch :class:`XmkitError`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """An input problem reported to the user; carries one or more :class:`Problem`."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file=file or "input", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
