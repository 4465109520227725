"""After the conversation: build the dataset the schema describes — generate it, then validate it —
for `datagen nl` and `datagen eval` alike (tables, rows, quality score, failed checks)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.dsl import CheckResult


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


def validate_dataset(checked: CheckResult, data_dir: Path) -> Quality:
    """The validator's verdict in brief: score, pass/fail (hard checks and threshold), failed checks."""
    from datagen.validate import validate

    report = validate(checked, data_dir)
    failed = [f"{r.where}: {r.check} — {r.message}" for r in report.failures]
    return Quality(report.score, report.ok, failed)


def generate_and_validate(checked: CheckResult, out_dir: Path, *, seed: int, scale: float) -> Outcome:
    """Write the dataset (atomically, like `datagen generate`) and validate what was written."""
    from datagen.engine.generate import Options
    from datagen.io.dataset import write_dataset

    started = time.perf_counter()
    result = write_dataset(checked, out_dir, Options(seed=seed, scale=scale))
    rows = {s.id: s.rows for s in result.stats}
    quality = validate_dataset(checked, out_dir)
    return Outcome(out_dir, rows, time.perf_counter() - started, quality)
