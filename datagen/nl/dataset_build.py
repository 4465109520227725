"""After the conversation: build the dataset the schema describes — generate it, then validate it —
for `datagen nl` and `datagen eval` alike (tables, rows, quality score, failed checks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagen.dsl import CheckResult

if TYPE_CHECKING:
    from datagen.engine.estimate import RunEstimate
    from datagen.validate import Report


@dataclass
class Quality:
    score: float
    passed: bool
    failed_checks: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    out_dir: Path
    rows: dict[str, int]
    seconds: float
    quality: Quality

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.out_dir),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "quality_score": self.quality.score,
            "validation_passed": self.quality.passed,
            "failed_checks": self.quality.failed_checks,
        }


def quality_of(report: Report) -> Quality:
    """The validator's verdict in brief: score, pass/fail (hard checks and threshold), failed checks."""
    failed = [f"{r.where}: {r.check} — {r.message}" for r in report.failures]
    return Quality(report.score, report.ok, failed)


def generate_and_validate(
    checked: CheckResult,
    out_dir: Path,
    *,
    seed: int,
    scale: float,
    confirm: Callable[[RunEstimate], bool] | None = None,
) -> Outcome:
    """Write the dataset (atomically, like `datagen generate`; a run estimated over an hour only when
    `confirm` accepts it) and validate what was written."""
    from datagen.engine.generate import Options
    from datagen.io.dataset import write_dataset
    from datagen.validate import validate_dataset

    started = time.perf_counter()
    result = write_dataset(checked, out_dir, Options(seed=seed, scale=scale), confirm=confirm)
    rows = {s.id: s.rows for s in result.stats}
    quality = quality_of(validate_dataset(checked, out_dir))
    return Outcome(out_dir, rows, time.perf_counter() - started, quality)
