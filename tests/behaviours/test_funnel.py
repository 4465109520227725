"""`stage_config` (docs/schema-language.md §8.3): every parent walks the stages in order, reaching stage i
with probability min(1, rate_i × its segment's multiplier) given stage i-1; stage times start at the
parent's creation, increase by the declared gap and stay in the timeframe; the walk fills the columns
named in `columns` (v1 names by default) and the PK keeps its declared sequence."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from tests.behaviours.helpers import example, frames, timeframe

DOC = example("funnel")
START, END = timeframe(DOC)
RATES = {"signup": 0.3, "activation": 0.6, "purchase": 0.45}
MULT = {"organic": 1.0, "paid_search": 0.8, "referral": 1.5}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return frames(DOC)


def test_stage_conversion_per_segment_is_as_declared(data) -> None:
    visitors = data["visitors"]
    complete = visitors[visitors["first_seen_at"] <= END - pd.Timedelta(days=45)]  # walks not cut off
    steps = data["funnel_steps"].merge(complete, on="visitor_id")
    reached = steps.pivot_table(index="channel", columns="stage_name", values="visitor_id", aggfunc="count")
    names = ["visit", "signup", "activation", "purchase"]
    for channel, m in MULT.items():
        for before, stage in pairwise(names):
            observed = reached.loc[channel, stage] / reached.loc[channel, before]
            expected = min(1.0, RATES[stage] * m)
            assert observed == pytest.approx(expected, abs=0.05), (channel, stage, observed)


def test_stage_times_start_at_creation_increase_and_stay_inside_the_timeframe(data) -> None:
    s = (
        data["funnel_steps"]
        .merge(data["visitors"], on="visitor_id")
        .sort_values(["visitor_id", "stage_index"])
    )
    first = s[s["stage_index"] == 0]
    assert (first["reached_at"] == first["first_seen_at"]).all()
    assert (s.groupby("visitor_id")["reached_at"].diff().dropna() > pd.Timedelta(0)).all()
    assert s["reached_at"].between(START, END).all()
    per_visitor = s.groupby("visitor_id")["stage_index"].agg(["min", "max", "count"])
    assert (per_visitor["min"] == 0).all() and (per_visitor["count"] == per_visitor["max"] + 1).all()
    assert (
        s["stage_name"] == np.array(["visit", "signup", "activation", "purchase"])[s["stage_index"]]
    ).all()


def test_the_default_columns_and_the_declared_key_sequence(data) -> None:
    steps = data["funnel_steps"]
    assert np.array_equal(steps["step_id"].to_numpy(), 1000 + np.arange(len(steps)))
    assert set(steps["device"]) == {"mobile", "desktop"}  # other columns are generated as usual


def test_the_gap_follows_the_declared_distribution(data) -> None:
    s = data["funnel_steps"].sort_values(["visitor_id", "stage_index"])
    s = s[s["reached_at"] <= END - pd.Timedelta(days=45)]
    gaps = s.groupby("visitor_id")["reached_at"].diff().dropna() / pd.Timedelta(hours=1)
    assert gaps.mean() == pytest.approx(36, rel=0.05)  # lognormal, mean 36 h
    assert gaps.median() == pytest.approx(36 * np.exp(-0.5), rel=0.08)  # sigma 1: median = mean·e^-½


@pytest.mark.parametrize(
    ("gap", "check"),
    [
        ({"distribution": "constant", "mean_hours": 5}, lambda h: np.allclose(h, 5)),
        ({"distribution": "uniform", "min_hours": 2, "max_hours": 10}, lambda h: h.between(2, 10).all()),
    ],
)
def test_constant_and_uniform_gaps(gap, check) -> None:
    doc = example("funnel", visitors=2000)
    doc["nodes"][1]["stage_config"]["gap"] = gap
    s = frames(doc)["funnel_steps"].sort_values(["visitor_id", "stage_index"])
    hours = s.groupby("visitor_id")["reached_at"].diff().dropna() / pd.Timedelta(hours=1)
    assert len(hours) > 100 and check(hours)


def test_explicit_column_mapping_fills_the_named_columns() -> None:
    data = frames(example("combined_behaviours", players=1500))
    f = data["purchase_funnel"]
    assert set(f["step"]) <= {"install", "tutorial_done", "first_purchase", "second_purchase"}
    assert (f.groupby("player_id")["step_no"].min() == 0).all()
    assert (f.loc[f["step_no"] == 0, "step"] == "install").all()
    joined = f[f["step_no"] == 0].merge(data["players"], on="player_id")
    assert (joined["reached_at"] == joined["installed_at"]).all()


def test_a_walk_near_the_end_of_the_timeframe_is_cut_off_not_pushed_past_it() -> None:
    doc = example("funnel", visitors=3000)
    doc["nodes"][0]["columns"][2]["generator"]["datetime_series"]["within"]["start"] = "2024-12-30T00:00:00Z"
    doc["nodes"][0]["columns"][2]["generator"]["datetime_series"]["within"]["end"] = "2024-12-31T00:00:00Z"
    doc["nodes"][1]["stage_config"]["stages"][1]["transition_rate"] = 1.0
    doc["nodes"][1]["stage_config"]["gap"] = {"distribution": "constant", "mean_hours": 40}
    s = frames(doc)["funnel_steps"]
    assert (s["reached_at"] <= END).all()
    assert set(s["stage_name"]) <= {"visit", "signup"}  # a third stage would land after the end
