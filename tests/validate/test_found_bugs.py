"""Validator bugs others found, each with the case that showed it: a result left open on the
connection (checks on effect columns "could not be checked" depending on query order), a composite
effect naming an influence the metric lacks (a crash on DECIMAL sums), and a month pattern under an age
curve that was never checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from datagen.validate.context import Context
from tests.validate.helpers import (
    col,
    document,
    failure,
    mod,
    read,
    results,
    seq,
    validated,
    write,
)

# --- a result left open on the connection (bug a) ----------------------------------------------------


def _sales(targets: dict | None = None) -> dict[str, Any]:
    """Sales whose revenue has a weekday seasonality and a campaign effect; no constraints at all."""
    campaigns = {
        "id": "campaigns",
        "kind": "entity",
        "pk": "campaign_id",
        "rows": 10,
        "columns": [
            seq("campaign_id"),
            col("start_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "D"}}),
            col("end_at", "datetime", {"expression": {"code": "start_at + days(20)"}}),
            col("lift", "float", {"distribution": {"type": "uniform", "params": {"low": 1.2, "high": 1.5}}}),
        ],
    }
    sales = {
        "id": "sales",
        "kind": "entity",
        "pk": "sale_id",
        "rows": 4000,
        "columns": [
            seq("sale_id"),
            col("sold_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}),
            col(
                "revenue",
                "float",
                {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 0.3}}},
                modifiers=[
                    mod(
                        "seasonality",
                        dimension="dow",
                        weights=[1, 1, 1, 1, 1.2, 1.5, 1.4],
                        time_column="sold_at",
                    ),
                    mod(
                        "effect",
                        effect_table="campaigns",
                        window={"start_col": "start_at", "end_col": "end_at"},
                        map={"field": "lift"},
                        time_column="sold_at",
                    ),
                ],
            ),
        ],
    }
    return document(campaigns, sales, targets=targets)


def test_seasonality_and_effects_on_one_column_are_checked_whatever_the_query_order(tmp_path: Path) -> None:
    doc = _sales(
        {"composite_effect": [{"table": "sales", "metric": "revenue", "influences": ["dow", "campaigns"]}]}
    )
    write(doc, tmp_path / "d")
    report = validated(doc, tmp_path / "d")
    on_revenue = [r for r in report.results if r.column == "revenue" and r.bucket == "behavioural"]
    assert {r.check for r in on_revenue} == {"seasonality", "composite_effect"}
    assert all(r.passed for r in on_revenue), [r.message for r in on_revenue]


def test_one_row_then_an_arrow_query_on_the_same_connection(tmp_path: Path) -> None:
    doc = _sales()
    checked = write(doc, tmp_path / "d")
    ctx = Context(checked.raise_for_errors(), tmp_path / "d")
    try:
        assert ctx.one("SELECT count(*) FROM sales") == (4000,)
        assert ctx.con.sql("SELECT count(*) AS n FROM campaigns").to_arrow_table()["n"][0].as_py() == 10
    finally:
        ctx.close()


# --- a composite effect naming an influence the metric lacks (bug b) ---------------------------------


def test_a_weekday_influence_on_a_metric_without_seasonality_is_judged_not_crashed(tmp_path: Path) -> None:
    doc = _sales({"composite_effect": [{"table": "sales", "metric": "revenue", "influences": ["hour"]}]})
    write(doc, tmp_path / "d")
    [result] = results(validated(doc, tmp_path / "d"), "composite_effect")
    assert result.passed, result.message  # no hourly multiplier declared, and none in the data
    assert result.details["strata"] == 24


# --- month patterns under an age curve (bug d) -------------------------------------------------------


def _cohorts(december: float) -> dict[str, Any]:
    """Customers on a vintage activity curve; their orders' months follow a pattern with `december`."""
    customers = {
        "id": "customers",
        "kind": "entity",
        "pk": "customer_id",
        "rows": 2500,
        "columns": [
            seq("customer_id"),
            col("signup_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}),
        ],
        "vintage_behavior": {
            "created_at_column": "signup_at",
            "age_based_multipliers": {
                "decay": {"curve": [1.0, 0.7, 0.5, 0.4], "time_unit": "month", "applies_to": "fanout"}
            },
        },
    }
    months = [1.0] * 11 + [december]
    orders = {
        "id": "orders",
        "kind": "fact",
        "pk": "order_id",
        "parents": ["customers"],
        # about 12,000 orders: December's share moves by 0.021 between weights 0.8 and 1.0, about 1.8×
        # the check's tolerance (4 standard errors) at this size; at half of it (lambda 10) the shift
        # is 1.4× the tolerance on average and one seed in a dozen or so hides it in sampling noise
        "fanout": {"distribution": "poisson", "lambda": 20},
        "columns": [
            seq("order_id"),
            col("customer_id", "int", {"lookup": {"from": "customers.customer_id"}}),
            col(
                "ordered_at",
                "datetime",
                {
                    "datetime_series": {
                        "within": "timeframe",
                        "freq": "h",
                        "pattern": {"dimension": "month", "weights": months},
                    }
                },
            ),
        ],
    }
    doc = document(customers, orders)
    doc["timeframe"] = {"start": "2023-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    return doc


def test_a_month_pattern_under_an_age_curve_is_checked(tmp_path: Path) -> None:
    """The evaluation's miss: later signups pile orders into the last months, so December out-counts
    January whatever its weight, and the check used to drop the month for such times. Now the curve is
    part of the expectation: December at 0.8 passes, data made with December at 1.0 does not."""
    declared = _cohorts(0.8)
    write(declared, tmp_path / "d")
    [month] = results(validated(declared, tmp_path / "d"), "seasonality", "orders")
    assert month.passed, month.message
    assert month.details["dimension"] == "month"
    times = read(tmp_path / "d", "orders")["ordered_at"].to_numpy().astype("datetime64[M]")
    counts = np.bincount(times.astype(int) % 12)
    assert counts[11] > counts[0]  # December out-counts January, as the curve and the signups imply

    write(_cohorts(1.0), tmp_path / "e")
    report = validated(declared, tmp_path / "e")
    assert "Dec" in failure(report, "seasonality", "orders", "ordered_at")["message"]
