"""Behavioural checks: clean data passes whatever the seed (tolerances follow the sample size), real
shifts fail, targets are judged, and the registry takes new checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datagen.resources import examples_dir
from datagen.validate import behaviour
from datagen.validate.results import Result
from tests.validate.helpers import failure, rewrite, set_column, spikes, validated, weekly, write


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_clean_weekly_pattern_passes_for_any_seed(seed: int, tmp_path: Path) -> None:
    write(weekly(rows=3000), tmp_path / "d", seed=seed)
    (result,) = [r for r in validated(weekly(rows=3000), tmp_path / "d").results if r.check == "seasonality"]
    assert result.passed, result.message


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_outlier_rate_passes_for_any_seed(seed: int, tmp_path: Path) -> None:
    write(spikes(rate=0.01), tmp_path / "d", seed=seed)
    (result,) = [r for r in validated(spikes(rate=0.01), tmp_path / "d").results if r.check == "outliers"]
    assert result.passed, result.message
    assert result.details["implied_rate"] == pytest.approx(0.01, abs=0.005)


def test_composite_effect_and_value_seasonality_catch_a_changed_lift(tmp_path: Path) -> None:
    """Marketing conversions: weekend revenue raised by half, beyond the declared dow weights."""
    doc = json.loads((examples_dir() / "marketing.json").read_text(encoding="utf-8"))
    data = tmp_path / "d"
    write(doc, data)
    clean = validated(doc, data)
    assert {r.check for r in clean.results if r.passed} >= {"composite_effect", "seasonality"}

    def weekend_boost(t: pa.Table) -> pa.Table:
        dow = pc.day_of_week(t["converted_at"]).to_numpy()  # Monday = 0
        revenue = t["revenue"].to_numpy() * np.where(dow >= 5, 1.5, 1.0)
        return set_column(t, "revenue", revenue)

    rewrite(data, "conversions", weekend_boost)
    report = validated(doc, data)
    assert "MAPE" in failure(report, "composite_effect", "conversions", "revenue")["message"]
    assert "mean by dow" in failure(report, "seasonality", "conversions", "revenue")["message"]


def test_targets_out_of_reach_fail_softly(tmp_path: Path) -> None:
    doc = weekly(rows=3000)
    doc["targets"] = {
        "weekend_share": {"table": "visits", "timestamp": "at", "min": 0.5, "max": 0.6},
        "mean_in_range": {"table": "visits", "column": "id", "min": 0, "max": 10},
    }
    write(doc, tmp_path / "d")
    report = validated(doc, tmp_path / "d")
    ws = failure(report, "weekend_share", "visits", "at")
    assert not ws["hard"] and "outside the target [0.5, 0.6]" in ws["message"]
    assert "mean 1500" in failure(report, "mean_in_range", "visits", "id")["message"]


def test_the_mean_of_a_bool_column_is_judged_as_the_share_of_true_values(tmp_path: Path) -> None:
    """A share asked as a target ("about 30 % of visits are returns"): 3,000 rows drawn with weight
    0.3 are inside [0.25, 0.35] (the standard error is under 0.01) and far outside [0.5, 0.6]."""
    doc = weekly(rows=3000)
    doc["nodes"][0]["columns"].append(
        {
            "name": "returning",
            "type": "bool",
            "generator": {"choice": {"choices": [True, False], "weights": [0.3, 0.7]}},
        }
    )
    doc["targets"] = {
        "mean_in_range": [
            {"table": "visits", "column": "returning", "min": 0.25, "max": 0.35},
            {"table": "visits", "column": "returning", "min": 0.5, "max": 0.6},
        ]
    }
    write(doc, tmp_path / "d")
    report = validated(doc, tmp_path / "d")
    shares = [r for r in report.results if r.check == "mean_in_range"]
    assert [r.passed for r in shares] == [True, False]
    assert shares[1].message.startswith("share of true values 0.")
    assert shares[1].details["observed"] == pytest.approx(0.3, abs=0.03) and "[0.5, 0.6]" in shares[1].message


def test_registered_check_runs_in_the_behavioural_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(behaviour, "REGISTRY", dict(behaviour.REGISTRY))
    behaviour._load()

    @behaviour.register("row_count")
    def row_count(ctx):
        for tid, n in ctx.rows.items():
            yield Result("row_count", "behavioural", tid, None, "pass" if n > 0 else "fail", f"{n} rows")

    write(weekly(rows=500), tmp_path / "d")
    report = validated(weekly(rows=500), tmp_path / "d")
    (mine,) = [r for r in report.results if r.check == "row_count"]
    assert mine.bucket == "behavioural" and mine.message == "500 rows"
