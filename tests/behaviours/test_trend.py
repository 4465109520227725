"""`trend` (docs/schema-language.md §4.2): yearly means of a trended column grow as declared — exponential
growth and decay, linear and logarithmic — measured from the timeframe start; a decay that runs out stops at
0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.behaviours.helpers import YEAR, example, frames, timeframe
from tests.engine.conftest import dist, entity, generate, schema, times, values

DOC = example("trend_growth")
START, END = timeframe(DOC)


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    """Three whole calendar years (the timeframe's end instant itself is a grid point too)."""
    o = frames(DOC)["orders"]
    return o[o["ordered_at"] < END]


def _factor(column: str, years: np.ndarray) -> np.ndarray:
    args = next(c for c in DOC["nodes"][1]["columns"] if c["name"] == column)["modifiers"][0]["args"]
    g = args["growth_rate"]
    if args["type"] == "exponential":
        return (1 + g) ** years
    if args["type"] == "linear":
        return 1 + g * years
    return 1 + args["params"]["a"] * np.log1p(args["params"]["b"] * years)


def _expected_yearly(column: str) -> np.ndarray:
    """Mean trend factor over each calendar year (times are uniform, so: the factor's mean over it)."""
    out = []
    for y in range(3):
        lo, hi = pd.Timestamp(f"{2022 + y}-01-01", tz="UTC"), pd.Timestamp(f"{2023 + y}-01-01", tz="UTC")
        t = np.linspace((lo - START) / YEAR, (hi - START) / YEAR, 2001)
        out.append(_factor(column, t).mean())
    return np.array(out)


@pytest.mark.parametrize("column", ["basket_value", "shipping_cost", "support_minutes", "loyalty_points"])
def test_yearly_means_grow_as_declared(orders: pd.DataFrame, column: str) -> None:
    yearly = orders.groupby(orders["ordered_at"].dt.year)[column].agg(["mean", "std", "count"])
    observed = yearly["mean"].to_numpy() / yearly["mean"].iloc[0]
    expected = _expected_yearly(column) / _expected_yearly(column)[0]
    # each yearly mean has a relative standard error of cv/sqrt(n) ≈ 0.5/100: ±3 % is > 4 of them
    assert np.allclose(observed, expected, rtol=0.03), (column, observed.round(3), expected.round(3))


def test_exponential_growth_and_decay_read_as_the_declared_rate(orders: pd.DataFrame) -> None:
    yearly = orders.groupby(orders["ordered_at"].dt.year)[["basket_value", "shipping_cost"]].mean()
    growth = yearly.pct_change().iloc[1:]
    assert growth["basket_value"].between(0.25 - 0.03, 0.25 + 0.03).all(), growth
    assert growth["shipping_cost"].between(-0.2 - 0.03, -0.2 + 0.03).all(), growth


def test_a_linear_decay_that_runs_out_stays_at_zero() -> None:
    doc = schema(
        entity(
            "t",
            [
                times("at"),
                {
                    **dist("v", "uniform", low=10.0, high=10.000001),
                    "modifiers": [
                        {
                            "transform": "trend",
                            "args": {"type": "linear", "growth_rate": -0.5, "time_reference": "at"},
                        }
                    ],
                },
            ],
            rows=4000,
        ),
        timeframe={"start": "2020-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
    )
    t = generate(doc)["t"]
    v, at = values(t, "v"), values(t, "at")
    years = (at - np.datetime64("2020-01-01")) / np.timedelta64(int(365.2425 * 86400e6), "us")
    assert (v >= 0).all()
    assert (v[years > 2.01] == 0).all()  # 1 - 0.5·t reaches 0 at t = 2 years
    assert np.allclose(v[years < 2], 10 * (1 - 0.5 * years[years < 2]))
