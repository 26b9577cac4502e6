"""What an import did: counts per resource type, the problems found, the time taken."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("created", "updated", "unchanged", "skipped", "failed")
MAX_LISTED_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One resource (or file) that could not be imported, and where it is."""

    file: str
    reason: str
    line: int | None = None
    entry: int | None = None
    resource_type: str | None = None
    resource_id: str | None = None

    @property
    def where(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
        if self.entry is not None:
            place += f" entry {self.entry}"
        if self.resource_type:
            place += f" {self.resource_type}/{self.resource_id or '(no id)'}"
        return place

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "entry": self.entry,
            "resourceType": self.resource_type,
            "id": self.resource_id,
            "reason": self.reason,
        }


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


@dataclass
class ImportSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_zero_counts))
    skip_reasons: dict[str, str] = field(default_factory=dict)
    problems: list[ImportProblem] = field(default_factory=list)
    problem_count: int = 0
    files: int = 0
    seconds: float = 0.0

    def count(self, resource_type: str, status: str, number: int = 1) -> None:
        self.counts[resource_type][status] += number

    def skip(self, resource_type: str, reason: str) -> None:
        self.counts[resource_type]["skipped"] += 1
        self.skip_reasons.setdefault(resource_type, reason)

    def fail(self, problem: ImportProblem) -> None:
        if problem.resource_type:
            self.counts[problem.resource_type]["failed"] += 1
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_ERRORS:
            self.problems.append(problem)

    def stored(self, resource_type: str) -> int:
        counts = self.counts.get(resource_type) or _zero_counts()
        return counts["created"] + counts["updated"] + counts["unchanged"]

    @property
    def written(self) -> int:
        """Records created or updated, of every type."""
        return sum(counts["created"] + counts["updated"] for counts in self.counts.values())

    @property
    def failed(self) -> bool:
        return self.problem_count > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "seconds": round(self.seconds, 3),
            "resources": {
                name: {**counts, "stored": self.stored(name)} for name, counts in sorted(self.counts.items())
            },
            "skipped_not_stored": dict(sorted(self.skip_reasons.items())),
            "error_count": self.problem_count,
            "errors": [problem.as_dict() | {"where": problem.where} for problem in self.problems],
        }

    def as_text(self) -> str:
        lines = [
            f"{'resource type':<22}{'created':>9}{'updated':>9}{'unchanged':>11}{'skipped':>9}{'failed':>8}"
        ]
        for name, counts in sorted(self.counts.items()):
            lines.append(
                f"{name:<22}{counts['created']:>9}{counts['updated']:>9}{counts['unchanged']:>11}"
                f"{counts['skipped']:>9}{counts['failed']:>8}"
            )
        if self.skip_reasons:
            lines.append("skipped: not stored")
            lines.extend(f"  {name}: {reason}" for name, reason in sorted(self.skip_reasons.items()))
        if self.problems:
            lines.append(f"errors ({self.problem_count}):")
            lines.extend(f"  {problem}" for problem in self.problems)
            if self.problem_count > len(self.problems):
                lines.append(f"  ... and {self.problem_count - len(self.problems)} more")
        lines.append(f"{self.files} files in {self.seconds:.2f} s")
        return "\n".join(lines)
