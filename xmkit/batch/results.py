"""What a batch did: one :class:`UnitResult` per unit (an entry of ``manifest.json``) and a
:class:`BatchResult` per client, with the summary the command prints.

Plain dataclasses, apart from :mod:`xmkit.batch.run`, so a ``--resume`` with nothing to do can
report without importing the renderer (:mod:`xmkit.batch.uptodate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DONE", "FAILED", "SKIPPED", "UNCHANGED", "BatchResult", "UnitResult"]

DONE, UNCHANGED, SKIPPED, FAILED = "done", "unchanged", "skipped", "failed"


@dataclass
class UnitResult:
    """What happened to one unit; one entry of ``manifest.json``."""

    unit: str
    slug: str
    status: str
    n: int = 0
    input_hash: str = ""
    template_hash: str = ""
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    hashes: dict[str, str] = field(default_factory=dict)
    """SHA-256 of each output, checked by ``--resume``."""
    retried: str | None = None
    """Why the unit (or its PDF) was rendered a second time, if it was."""


@dataclass
class BatchResult:
    client: str
    folder: Path
    units: list[UnitResult]
    elapsed: float
    portfolio: dict[str, Path]
    removed: list[str] = field(default_factory=list)
    """Units of an earlier run no longer in the data, whose reports were removed."""

    def count(self, *statuses: str) -> int:
        return sum(u.status in statuses for u in self.units)

    @property
    def failed(self) -> list[UnitResult]:
        return [u for u in self.units if u.status == FAILED]

    def summary(self) -> str:
        text = (
            f"{self.client}: {self.count(DONE)} rendered, {self.count(UNCHANGED)} unchanged, "
            f"{self.count(SKIPPED)} skipped (below the minimum group size or hidden to protect "
            "a smaller unit), "
            f"{self.count(FAILED)} failed, in {self.elapsed:.1f} s -> {self.folder}"
        )
        for unit in self.units:
            if unit.retried:
                text += f"\n  retried: {unit.unit}: {unit.retried}"
        for unit in self.failed:
            text += f"\n  failed: {unit.unit}: {unit.error}"
        for unit in self.removed:
            text += f"\n  removed: {unit}: no longer in the data"
        return text
