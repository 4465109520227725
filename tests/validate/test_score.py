"""The quality score formula (score.py) and the exit rule (report.py)."""

from __future__ import annotations

import pytest

from datagen.validate.report import Report
from datagen.validate.results import Result
from datagen.validate.score import WEIGHTS, quality_score


def r(bucket: str, status: str, hard: bool = False) -> Result:
    return Result("x", bucket, "t", "c", status, "m", hard=hard)  # type: ignore[arg-type]


def report(results: list[Result], threshold: float = 80.0) -> Report:
    return Report("d", "h", "dir", results, {}, threshold=threshold)


def test_weighted_mean_of_bucket_scores() -> None:
    results = [r("structural", "pass"), r("structural", "fail"), r("value", "pass"), r("behavioural", "fail")]
    expected = (WEIGHTS["structural"] * 50 + WEIGHTS["value"] * 100 + WEIGHTS["behavioural"] * 0) / sum(
        WEIGHTS.values()
    )
    assert quality_score(results) == pytest.approx(expected, abs=0.01)


def test_an_empty_bucket_gives_no_free_points() -> None:
    """Without behavioural checks the score is judged on the other buckets alone, not topped up."""
    results = [r("structural", "pass"), r("value", "fail")]
    w_s, w_v = WEIGHTS["structural"], WEIGHTS["value"]
    assert quality_score(results) == pytest.approx((w_s * 100) / (w_s + w_v), abs=0.01)
    assert quality_score(results) < quality_score([*results, r("behavioural", "pass")])


def test_skipped_checks_count_nowhere() -> None:
    base = [r("structural", "pass"), r("behavioural", "fail")]
    assert quality_score([*base, r("behavioural", "skip"), r("value", "skip")]) == quality_score(base)


def test_nothing_checked_scores_zero() -> None:
    assert quality_score([]) == 0.0
    assert quality_score([r("value", "skip")]) == 0.0


def test_a_hard_failure_fails_whatever_the_score() -> None:
    results = [r("structural", "pass")] * 99 + [r("structural", "fail", hard=True)]
    rep = report(results)
    assert rep.score > 95 and rep.exit_code == 1 and not rep.ok


def test_soft_failures_fail_only_under_the_threshold() -> None:
    results = [
        r("structural", "pass"),
        r("value", "pass"),
        r("behavioural", "pass"),
        r("behavioural", "fail"),
    ]
    assert report(results).score == pytest.approx(85.0, abs=0.01)
    assert report(results, threshold=80).exit_code == 0
    assert report(results, threshold=90).exit_code == 1


def test_summary_counts_per_bucket_and_table() -> None:
    results = [r("structural", "pass"), r("value", "fail", hard=True), r("behavioural", "skip")]
    s = report(results).to_dict()["summary"]
    assert (s["passed"], s["failed"], s["skipped"], s["hard_failed"]) == (1, 1, 1, 1)
    assert s["buckets"]["behavioural"] == {
        "weight": WEIGHTS["behavioural"],
        "checks": 1,
        "passed": 0,
        "failed": 0,
        "skipped": 1,
        "score": None,
    }
    assert s["tables"]["t"]["failed"] == 1
    assert s["verdict"] == "fail" and s["exit_code"] == 1
