"""Children per parent (docs/schema-language.md §5): the fanout distributions' means and bounds, min/max
applied after every multiplier, rows contiguous per parent in parent order, and child times after their
parent's
creation without losing the child's own weekday pattern."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.engine.conftest import (
    WEEKS,
    assert_near,
    col,
    dist,
    entity,
    expr,
    fact,
    generate,
    schema,
    times,
    values,
)

PARENTS = 4000


def family(
    fanout: dict | None,
    *,
    parent_columns: list | None = None,
    parent_extra: dict | None = None,
    **child_extra: object,
) -> dict:
    """Parents `p` (keys 1..PARENTS) and a fact `c` born from them."""
    child = fact("c", ["p"], [dist("x", "uniform", low=0, high=1)], **child_extra)
    if fanout is not None:
        child["fanout"] = fanout
    return schema(entity("p", parent_columns or [], rows=PARENTS, **(parent_extra or {})), child)


def counts(tables: dict[str, pa.Table]) -> np.ndarray:
    """Children of each parent, parents in key order (keys are 1..PARENTS)."""
    return np.bincount(values(tables["c"], "p_id") - 1, minlength=tables["p"].num_rows)


def assert_mean_and_variance(k: np.ndarray, mean: float, var: float, fourth_moment: float) -> None:
    n = len(k)
    assert_near(k.mean(), mean, math.sqrt(var / n))
    assert_near(k.var(), var, math.sqrt((fourth_moment - var**2) / n))


def test_poisson_fanout_mean_and_variance() -> None:
    lam = 3.0
    k = counts(generate(family({"distribution": "poisson", "lambda": lam})))
    assert_mean_and_variance(k, lam, lam, lam * (1 + 3 * lam))


def test_negative_binomial_fanout_is_overdispersed_around_its_mean() -> None:
    mean, r = 4.0, 2.0
    k = counts(generate(family({"distribution": "negative_binomial", "lambda": mean, "dispersion": r})))
    var = mean + mean**2 / r
    assert_near(k.mean(), mean, math.sqrt(var / len(k)))
    assert k.var() > 2 * mean  # Poisson would give about `mean`; this one about 12
    p = r / (r + mean)  # share of childless parents: p^r
    assert_near((k == 0).mean(), p**r, math.sqrt(p**r * (1 - p**r) / len(k)))


def test_uniform_fanout_stays_in_bounds_with_equal_shares() -> None:
    k = counts(generate(family({"distribution": "uniform", "min": 2, "max": 5})))
    assert k.min() == 2 and k.max() == 5
    for v in range(2, 6):
        assert_near((k == v).mean(), 0.25, math.sqrt(0.25 * 0.75 / len(k)))


def test_no_fanout_means_exactly_one_child_per_parent() -> None:
    assert (counts(generate(family(None))) == 1).all()


def test_a_constant_fanout_has_exactly_its_count() -> None:
    assert (counts(generate(family({"distribution": "constant", "count": 3}))) == 3).all()
    assert (counts(generate(family({"count": 2}))) == 2).all()  # `count` alone is a constant


def test_a_constant_fanout_under_a_multiplier_keeps_its_mean_by_rounding_at_random() -> None:
    """3 × 1.5 = 4.5: half the parents get 4, half 5."""
    segment = col("segment", "string", {"choice": {"choices": ["big"]}})
    behaviour = {"segment_column": "segment", "behaviors": {"big": {"fanout_multiplier": 1.5}}}
    k = counts(
        generate(family({"count": 3}, parent_columns=[segment], parent_extra={"segment_behavior": behaviour}))
    )
    assert set(k.tolist()) == {4, 5}
    assert_near(k.mean(), 4.5, 0.5 / math.sqrt(len(k)))


def test_where_gives_children_only_to_the_parents_it_names_even_under_a_minimum() -> None:
    kind = col("kind", "string", {"choice": {"choices": ["accepted", "rejected"]}})
    doc = family(
        {"distribution": "poisson", "lambda": 2, "min": 1, "where": "kind == 'accepted'"},
        parent_columns=[kind],
    )
    tables = generate(doc)
    k, kinds = counts(tables), values(tables["p"], "kind")
    assert (k[kinds == "rejected"] == 0).all() and (k[kinds == "accepted"] >= 1).all()


def test_min_and_max_bound_the_count_after_segment_multipliers() -> None:
    segment = col("segment", "string", {"choice": {"choices": ["huge", "zero", "plain"]}})
    behaviour = {
        "segment_column": "segment",
        "behaviors": {"huge": {"fanout_multiplier": 10.0}, "zero": {"fanout_multiplier": 0.0}},
    }
    doc = family(
        {"distribution": "poisson", "lambda": 2, "min": 1, "max": 6},
        parent_columns=[segment],
        parent_extra={"segment_behavior": behaviour},
    )
    tables = generate(doc)
    k, seg = counts(tables), values(tables["p"], "segment")
    assert k.min() >= 1 and k.max() <= 6
    assert (k[seg == "zero"] == 1).all()  # 0 expected children, raised to the minimum
    assert (k[seg == "huge"] == 6).mean() > 0.99  # 20 expected children, cut to the maximum
    plain = k[seg == "plain"]
    pmf = np.array([math.exp(-2) * 2**j / math.factorial(j) for j in range(7)])
    expected = np.clip(np.arange(7), 1, 6) @ pmf + 6 * (1 - pmf.sum())  # E[clip(Poisson(2), 1, 6)]
    assert_near(plain.mean(), expected, plain.std() / math.sqrt(len(plain)))


def test_min_and_max_bound_the_count_after_vintage_activity() -> None:
    created = times("created_at", freq="D")
    vintage = {
        "created_at_column": "created_at",
        "age_based_multipliers": {"gone": {"curve": [0.0], "time_unit": "month", "applies_to": "fanout"}},
    }
    doc = family(
        {"distribution": "poisson", "lambda": 5, "min": 2, "max": 8},
        parent_columns=[created],
        parent_extra={"vintage_behavior": vintage},
    )
    doc["nodes"][1]["columns"].append(times("at", freq="h"))
    assert (counts(generate(doc)) == 2).all()  # no activity at any age, but at least 2 each


def test_table_level_effect_scales_the_fanout_inside_its_windows_only() -> None:
    waves = entity(
        "wave",
        [
            times("start_at", freq="D"),
            expr("end_at", "start_at + days(20)", type_="datetime"),
            expr("boost", "3.0"),
        ],
        rows=6,
    )
    doc = family({"distribution": "poisson", "lambda": 2}, parent_columns=[times("joined_at", freq="h")])
    doc["nodes"].insert(0, waves)
    doc["nodes"][2]["modifiers"] = [
        {
            "transform": "effect",
            "args": {
                "effect_table": "wave",
                "window": {"start_col": "start_at", "end_col": "end_at"},
                "map": {"field": "boost", "op": "mul", "default": 1.0},
                "time_column": "joined_at",
            },
        }
    ]
    tables = generate(doc)
    k, joined = counts(tables), values(tables["p"], "joined_at")
    w = tables["wave"].to_pandas()
    inside = np.zeros(len(joined), dtype=int)
    for start, end in zip(w.start_at.dt.tz_localize(None), w.end_at.dt.tz_localize(None), strict=True):
        inside += (joined >= np.datetime64(start)) & (joined < np.datetime64(end))
    mean = 2.0 * 3.0**inside  # overlapping waves multiply
    assert_near(k.mean(), mean.mean(), math.sqrt(mean.mean() / len(k)))
    for hits in (0, 1):
        sel = inside == hits
        assert_near(k[sel].mean(), 2.0 * 3.0**hits, math.sqrt(2.0 * 3.0**hits / sel.sum()))


FANOUTS = {
    "poisson": {"fanout": {"distribution": "poisson", "lambda": 3}},
    "none": {},
    "funnel": {
        "stage_config": {
            "stages": [
                {"stage_name": "visit", "transition_rate": 1.0},
                {"stage_name": "cart", "transition_rate": 0.6},
                {"stage_name": "buy", "transition_rate": 0.5},
            ]
        }
    },
}


@pytest.mark.parametrize("kind", list(FANOUTS))
def test_fact_rows_are_contiguous_per_parent_in_parent_order(kind: str) -> None:
    columns = [col("stage_name", "string", {"choice": {"choices": ["visit"]}}), times("at")]
    doc = schema(
        entity("p", [times("joined_at")], rows=500),
        fact("c", ["p"], columns, **FANOUTS[kind]),
    )
    tables = generate(doc, block_rows=64)  # a parent block's children span several blocks
    k = counts(tables)
    keys = values(tables["p"], "id")
    assert (values(tables["c"], "p_id") == np.repeat(keys, k)).all()
    assert (values(tables["c"], "id") == np.arange(1, k.sum() + 1)).all()


def test_child_times_follow_parent_creation_and_keep_their_weekday_pattern() -> None:
    weights = [1, 1, 1, 1, 1, 4, 4]
    parent = entity("p", [times("signup_at", freq="h")], rows=3000)
    child = fact("c", ["p"], [times("at", freq="h", pattern={"dimension": "dow", "weights": weights})])
    child["fanout"] = {"distribution": "poisson", "lambda": 4}
    doc = schema(
        parent,
        child,
        constraints={"inequalities": [{"left": "c.at", "op": ">=", "right": "p.signup_at"}]},
        timeframe=WEEKS,
    )
    tables = generate(doc)
    at = values(tables["c"], "at")
    signup = values(tables["p"], "signup_at")[values(tables["c"], "p_id") - 1]
    assert (at >= signup).all()
    # Each child draws from the weighted hourly grid from its parent's signup on; its chance of a
    # weekend is the weekend weight of that slice over the slice's whole weight.
    grid = pd.date_range("2024-01-01", "2024-12-30", freq="h").to_numpy()
    w = np.array(weights, dtype=float)[pd.DatetimeIndex(grid).day_of_week]
    weekend = np.where(pd.DatetimeIndex(grid).day_of_week >= 5, w, 0.0)
    tail = np.cumsum(w[::-1])[::-1]
    tail_weekend = np.cumsum(weekend[::-1])[::-1]
    first = np.searchsorted(grid, signup, side="left")
    p = tail_weekend[first] / tail[first]
    observed = (pd.DatetimeIndex(at).day_of_week >= 5).mean()
    assert_near(observed, p.mean(), math.sqrt((p * (1 - p)).sum()) / len(p))
    assert abs(p.mean() - 8 / 13) < 0.02  # and that is close to the unconditioned pattern's 8/13


@pytest.mark.parametrize("child_type", ["datetime", "date"])
def test_a_declared_inequality_wins_over_the_childs_own_window(child_type: str) -> None:
    """Parents sign up all year; children are drawn in the first quarter. A child whose parent signed up
    later cannot be both: the inequality holds (a date column counts its whole day)."""
    window = {"start": "2024-01-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
    child = fact("c", ["p"], [times("at", type_=child_type, freq="h", within=window)])
    doc = schema(
        entity("p", [times("signup_at", freq="min")], rows=1000),
        child,
        constraints={"inequalities": [{"left": "c.at", "op": ">=", "right": "p.signup_at"}]},
    )
    tables = generate(doc, block_rows=128)
    at = values(tables["c"], "at").astype("datetime64[us]")
    signup = values(tables["p"], "signup_at")[values(tables["c"], "p_id") - 1]
    if child_type == "date":
        signup = signup.astype("datetime64[D]").astype("datetime64[us]")
    assert (at >= signup).all()
    assert (at <= np.datetime64("2025-01-01")).all()  # still inside the timeframe
    early = signup < np.datetime64("2024-03-01")
    assert (at[early] <= np.datetime64("2024-04-01")).all()  # the window still holds where it can
