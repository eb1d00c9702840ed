"""Problems as values: every generator step reports what it found instead of raising mid-way.

An ``error`` stops the run before anything is written; a ``warning`` is printed in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    level: Level
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


@dataclass(slots=True)
class Problems:
    items: list[Problem] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.items.append(Problem("error", where, message))

    def warning(self, where: str, message: str) -> None:
        self.items.append(Problem("warning", where, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level == "error"]

    def summary(self) -> str:
        if not self.items:
            return "no problems"
        lines = [str(p) for p in sorted(self.items, key=lambda p: (p.level, p.where, p.message))]
        counts = f"{len(self.errors)} error(s), {len(self.items) - len(self.errors)} warning(s)"
        return "\n".join([*lines, counts])


class GenerationFailed(Exception):
    """Raised by the orchestrator when a step reported errors; carries the summary."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems.summary())
        self.problems = problems
