"""`vintage_behavior` (docs/schema-language.md §8.2): activity is a rate over each parent's lifetime, so
children per parent per age unit over the same at age 0 reproduces the curve (arrays and parametric curves,
each in
its own time unit); value curves apply at each child's own age; children never precede their parent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.behaviours.helpers import MONTH, WEEK, example, frames, mean_over_unit, retention, timeframe
from tests.engine.conftest import col, entity, fact, key, lookup, schema, times

DOC = example("cohort_retention")
START, END = timeframe(DOC)
CURVE = [1.0, 0.6, 0.45, 0.38, 0.34, 0.32, 0.3]


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return frames(DOC)


def test_sessions_per_user_per_month_of_age_follow_the_curve(data) -> None:
    observed = retention(
        data["users"],
        data["sessions"],
        ("user_id", "user_id"),
        "signed_up_at",
        "started_at",
        MONTH,
        10,
        START,
        END,
        died="deleted_at",  # a user who deleted the account has no more sessions: counted while alive
    )
    expected = np.array([CURVE[min(a, len(CURVE) - 1)] for a in range(10)])
    assert np.abs(observed - expected).max() <= 0.08, observed.round(3)
    assert np.abs(observed - expected).max() <= 0.04, observed.round(3)  # 5000 users: tighter is honest


def test_minutes_follow_the_weekly_value_curve_at_each_sessions_own_age(data) -> None:
    s = data["sessions"].merge(data["users"], on="user_id")
    weeks = ((s["started_at"] - s["signed_up_at"]) / WEEK).astype(float) // 1
    means = s.groupby(weeks)["minutes"].mean()
    curve = lambda w: 1 + 0.3 * np.log1p(w)  # noqa: E731
    for a in (1, 4, 12, 26):
        expected = mean_over_unit(curve, a) / mean_over_unit(curve, 0)
        assert means[a] / means[0] == pytest.approx(expected, rel=0.08), a


def test_children_never_happen_before_their_parents_creation(data) -> None:
    s = data["sessions"].merge(data["users"], on="user_id")
    assert (s["started_at"] >= s["signed_up_at"]).all()
    assert (s["started_at"] <= END).all()


def _decay_schema(curve: dict, created_within: dict, rows: int = 6000, lam: float = 30) -> dict:
    users = entity(
        "u",
        [col("created", "datetime", {"datetime_series": {"within": created_within, "freq": "h"}})],
        rows=rows,
        vintage_behavior={"created_at_column": "created", "age_based_multipliers": {"activity": curve}},
    )
    events = fact("e", ["u"], [times("at", freq="h")], fanout={"distribution": "poisson", "lambda": lam})
    return schema(users, events, timeframe={"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"})


def test_a_parametric_curve_in_weeks_is_read_back_per_week() -> None:
    curve = {"curve": {"curve_type": "exponential", "params": {"a": 1.0, "b": -0.15}}, "time_unit": "week"}
    doc = _decay_schema(curve, {"start": "2024-01-01T00:00:00Z", "end": "2024-09-01T00:00:00Z"})
    t = frames(doc)
    observed = retention(t["u"], t["e"], ("id", "u_id"), "created", "at", WEEK, 12, *timeframe(doc))
    f = lambda w: np.exp(-0.15 * w)  # noqa: E731
    expected = np.array([mean_over_unit(f, a) for a in range(12)]) / mean_over_unit(f, 0)
    assert np.abs(observed - expected).max() <= 0.08, (observed.round(3), expected.round(3))


def test_parents_created_before_the_timeframe_produce_at_the_rate_of_their_age() -> None:
    """A user who signed up in 2023 is already past the steep part of the curve when the data starts:
    over 2024 they produce lambda x (mean of the curve over their ages in 2024), not a newcomer's share."""
    curve = {"curve": [1.0, 0.5, 0.3, 0.2], "time_unit": "month"}
    doc = _decay_schema(curve, {"start": "2022-01-01T00:00:00Z", "end": "2023-09-01T00:00:00Z"}, lam=24)
    t = frames(doc)
    per_user = t["e"].groupby("u_id").size().reindex(t["u"]["id"], fill_value=0)
    assert per_user.mean() == pytest.approx(24 * 0.2, rel=0.05)  # every one of them is 4+ months old
    old = t["e"].merge(t["u"], left_on="u_id", right_on="id")
    assert (old["at"] >= pd.Timestamp("2024-01-01", tz="UTC")).all()


def test_several_fanout_curves_in_different_units_multiply() -> None:
    doc = _decay_schema({"curve": [1.0, 0.5], "time_unit": "month"}, {"start": "2024-01-01T00:00:00Z",
                        "end": "2024-06-01T00:00:00Z"})  # fmt: skip
    doc["nodes"][0]["vintage_behavior"]["age_based_multipliers"]["weekly"] = {
        "curve": [1.0, 1.0, 0.5],
        "time_unit": "week",
    }
    t = frames(doc)
    observed = retention(t["u"], t["e"], ("id", "u_id"), "created", "at", WEEK, 8, *timeframe(doc))
    month_w = MONTH / WEEK  # weeks 0-1: 1; week 2 .. month 1: 0.5; after a month: 0.25
    f = lambda w: np.where(w < 2, 1.0, 0.5) * np.where(w < month_w, 1.0, 0.5)  # noqa: E731
    expected = np.array([mean_over_unit(f, a) for a in range(8)])
    assert np.abs(observed - expected).max() <= 0.08, (observed.round(3), expected.round(3))


def test_keys_of_vintage_children_are_the_declared_sequence() -> None:
    doc = _decay_schema({"curve": [1.0, 0.5], "time_unit": "month"}, {"start": "2024-01-01T00:00:00Z",
                        "end": "2024-06-01T00:00:00Z"}, rows=500)  # fmt: skip
    doc["nodes"][1]["columns"][0] = key("id", start=100, step=2)
    doc["nodes"][1]["columns"][1] = lookup("u_id", "u.id")
    e = frames(doc)["e"]
    assert np.array_equal(e["id"].to_numpy(), 100 + 2 * np.arange(len(e)))
