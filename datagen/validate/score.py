"""The quality score, 0–100.

    bucket score  S_b = 100 × passed_b / (passed_b + failed_b)        (skipped checks count nowhere)
    quality score     = Σ w_b·S_b / Σ w_b, over the buckets that have at least one checked result
    weights           w = structural 0.4, value 0.3, behavioural 0.3

An empty bucket is left out of both sums: it earns no points (a dataset with no behavioural checks
is not "100 % behavioural"), and the score is judged on what could be checked. Every check weighs the
same inside its bucket. The exit code does not depend on the score alone: any failed hard check
(structural, value) fails the run whatever the score."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from datagen.validate.results import BUCKETS, Bucket, Result

WEIGHTS: dict[Bucket, float] = {"structural": 0.4, "value": 0.3, "behavioural": 0.3}
DEFAULT_THRESHOLD = 80.0


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def checked(self) -> int:
        return self.passed + self.failed

    @property
    def score(self) -> float | None:
        return 100.0 * self.passed / self.checked if self.checked else None

    def add(self, r: Result) -> None:
        if r.status == "pass":
            self.passed += 1
        elif r.status == "fail":
            self.failed += 1
        else:
            self.skipped += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checked + self.skipped,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "score": None if self.score is None else round(self.score, 2),
        }


def tally(results: Iterable[Result]) -> dict[Bucket, Tally]:
    out = {b: Tally() for b in BUCKETS}
    for r in results:
        out[r.bucket].add(r)
    return out


def quality_score(results: Iterable[Result]) -> float:
    """The weighted mean of the non-empty buckets' scores (0 when nothing could be checked)."""
    buckets = tally(results)
    used = [(WEIGHTS[b], t.score) for b, t in buckets.items() if t.score is not None]
    total = sum(w for w, _ in used)
    return round(sum(w * s for w, s in used) / total, 2) if total else 0.0
