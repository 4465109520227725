"""The validator on values that look real and on hidden helpers (docs/schema-language.md §10.4, §10.6):
`decimals` and `price_point` as value checks, hidden columns neither expected nor missing, an effect
whose field is hidden still judged, a check reading a hidden column reading it regenerated."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tests.validate.helpers import (
    col,
    document,
    failure,
    mod,
    read,
    results,
    rewrite,
    seq,
    set_column,
    validated,
    write,
)

# --- decimals and price points (value checks) --------------------------------------------------------


def _priced() -> dict[str, Any]:
    products = {
        "id": "products",
        "kind": "entity",
        "pk": "product_id",
        "rows": 800,
        "columns": [
            seq("product_id"),
            col(
                "price",
                "float",
                {
                    "distribution": {
                        "type": "lognormal",
                        "params": {"mean": 3, "sigma": 0.8},
                        "clamp": [2.5, 900],
                    }
                },
                decimals=2,
                modifiers=[mod("price_point", endings=[0.99, 0.49])],
            ),
            col(
                "weight",
                "float",
                {"distribution": {"type": "gamma", "params": {"shape": 2, "scale": 1}}},
                decimals=3,
            ),
        ],
    }
    return document(products)


def test_decimals_and_price_points_hold_in_clean_data(tmp_path: Path) -> None:
    write(_priced(), tmp_path / "d")
    report = validated(_priced(), tmp_path / "d")
    checked = {(r.check, r.column): r for r in report.results if r.check in ("decimals", "price_point")}
    assert set(checked) == {("decimals", "price"), ("decimals", "weight"), ("price_point", "price")}
    assert all(r.passed and r.hard for r in checked.values()), [r.message for r in checked.values()]


def test_a_value_with_more_decimals_fails_the_decimals_check(tmp_path: Path) -> None:
    write(_priced(), tmp_path / "d")
    rewrite(
        tmp_path / "d", "products", lambda t: set_column(t, "weight", _bump(t["weight"].to_numpy(), 0.0004))
    )
    f = failure(validated(_priced(), tmp_path / "d"), "decimals", "products", "weight")
    assert f["hard"] and "more than 3 decimal(s)" in f["message"]


def test_a_price_off_its_endings_fails_the_price_point_check(tmp_path: Path) -> None:
    write(_priced(), tmp_path / "d")
    rewrite(tmp_path / "d", "products", lambda t: set_column(t, "price", _bump(t["price"].to_numpy(), 0.05)))
    f = failure(validated(_priced(), tmp_path / "d"), "price_point", "products", "price")
    assert f["message"].startswith("1 of 800 rows are not on a price point")


def test_price_points_moved_by_a_later_modifier_are_not_checked(tmp_path: Path) -> None:
    doc = _priced()
    price = doc["nodes"][0]["columns"][1]
    price["modifiers"].append(mod("multiply", factor=1.1))
    price.pop("decimals")
    write(doc, tmp_path / "d")
    [result] = results(validated(doc, tmp_path / "d"), "price_point")
    assert result.status == "skip" and "multiply" in result.message


def _bump(values: np.ndarray, by: float) -> np.ndarray:
    out = values.copy()
    out[7] += by
    return out


# --- hidden helper columns ---------------------------------------------------------------------------


def _with_helpers() -> dict[str, Any]:
    """Promotions whose strength is a hidden helper read by the order lines' table-level effect, and an
    order delay drawn in a hidden int column."""
    promos = {
        "id": "promos",
        "kind": "entity",
        "pk": "promo_id",
        "rows": 30,
        "columns": [
            seq("promo_id"),
            col("start_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}),
            col(
                "hours",
                "float",
                {"distribution": {"type": "uniform", "params": {"low": 24, "high": 96}}},
                output=False,
            ),
            col("end_at", "datetime", {"expression": {"code": "start_at + hours(hours)"}}),
            col(
                "boost",
                "float",
                {"distribution": {"type": "uniform", "params": {"low": 1.5, "high": 2.5}}},
                output=False,
            ),
        ],
    }
    orders = {
        "id": "orders",
        "kind": "entity",
        "pk": "order_id",
        "rows": 3000,
        "columns": [
            seq("order_id"),
            col("ordered_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}),
            col("delay", "int", {"distribution": {"type": "poisson", "params": {"lambda": 3}}}, output=False),
            col("shipped_at", "datetime", {"expression": {"code": "ordered_at + days(delay)"}}),
        ],
    }
    lines = {
        "id": "lines",
        "kind": "fact",
        "pk": "line_id",
        "parents": ["orders"],
        "fanout": {"distribution": "poisson", "lambda": 2},
        "modifiers": [
            mod(
                "effect",
                effect_table="promos",
                window={"start_col": "start_at", "end_col": "end_at"},
                map={"field": "boost"},
                time_column="ordered_at",
            )
        ],
        "columns": [seq("line_id"), col("order_id", "int", {"lookup": {"from": "orders.order_id"}})],
    }
    return document(promos, orders, lines)


def test_hidden_columns_are_neither_expected_nor_missing(tmp_path: Path) -> None:
    write(_with_helpers(), tmp_path / "d")
    assert read(tmp_path / "d", "promos").column_names == ["promo_id", "start_at", "end_at"]
    report = validated(_with_helpers(), tmp_path / "d")
    assert report.ok, [f"{f.check} {f.where}: {f.message}" for f in report.failures]
    columns = {r.table: r for r in results(report, "columns")}
    assert columns["promos"].details == {"missing": [], "extra": []}
    # the lines' count is judged with the promotions' hidden boost, regenerated at the data's seed
    [rows] = results(report, "rows", "lines")
    assert rows.passed and "mean" in rows.message


def test_a_hidden_column_found_in_the_files_is_an_extra_column(tmp_path: Path) -> None:
    write(_with_helpers(), tmp_path / "d")
    rewrite(tmp_path / "d", "orders", lambda t: t.append_column("delay", pa.array(np.zeros(t.num_rows))))
    f = failure(validated(_with_helpers(), tmp_path / "d"), "columns", "orders", None)
    assert "extra column(s) not in the schema: delay" in f["message"]


def test_a_hidden_effect_field_that_cannot_be_regenerated_fails_and_skips_the_count(tmp_path: Path) -> None:
    write(_with_helpers(), tmp_path / "d")
    meta = tmp_path / "d" / ".metadata.json"
    document_ = json.loads(meta.read_text(encoding="utf-8"))
    meta.write_text(json.dumps({**document_, "seed": 7}), encoding="utf-8")  # not the data's seed
    report = validated(_with_helpers(), tmp_path / "d")
    assert "start_at differs in" in failure(report, "hidden_helpers", "promos", None)["message"]
    [rows] = results(report, "rows", "lines")
    assert rows.status == "skip"
    assert "regenerated at the data's seed 7" in rows.message and "does not match" in rows.message


def test_a_check_that_reads_a_hidden_time_column_reads_it_regenerated(tmp_path: Path) -> None:
    doc = _with_helpers()
    orders = doc["nodes"][1]
    orders["columns"][1]["output"] = False  # ordered_at: read by the expression and the seasonality
    orders["columns"].append(
        col(
            "total",
            "float",
            {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 0.4}}},
            modifiers=[
                mod("seasonality", dimension="hour", weights=[1] * 12 + [2] * 12, time_column="ordered_at")
            ],
        )
    )
    doc["nodes"] = doc["nodes"][:2]  # no lines: their effect reads the hidden ordered_at too
    write(doc, tmp_path / "d")
    report = validated(copy.deepcopy(doc), tmp_path / "d")
    assert [r.status for r in results(report, "hidden_helpers")] == ["pass"]
    [season] = results(report, "seasonality", "orders")
    assert season.passed and season.column == "total", season.message


def test_behaviours_on_hidden_columns_are_recovered_from_their_regeneration(tmp_path: Path) -> None:
    """A trend on a hidden helper, and a segment multiplying one: the data does not hold it, so the
    recoveries read it regenerated (validate/hidden.py)."""
    customers = {
        "id": "customers",
        "kind": "entity",
        "pk": "customer_id",
        "rows": 600,
        "columns": [
            seq("customer_id"),
            col("tier", "string", {"choice": {"choices": ["vip", "regular"], "weights": [1, 3]}}),
        ],
        "segment_behavior": {
            "segment_column": "tier",
            "behaviors": {"vip": {"value_multiplier": 2.0}},
            "applies_to_columns": ["orders.base"],
        },
    }
    orders = {
        "id": "orders",
        "kind": "fact",
        "pk": "order_id",
        "parents": ["customers"],
        "fanout": {"distribution": "poisson", "lambda": 5},
        "columns": [
            seq("order_id"),
            col("customer_id", "int", {"lookup": {"from": "customers.customer_id"}}),
            col("ordered_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}),
            col(
                "base",
                "float",
                {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 0.3}}},
                output=False,
                modifiers=[mod("trend", growth_rate=0.5)],
            ),
            col("amount", "float", {"expression": {"code": "base * 1.2"}}, decimals=2),
        ],
    }
    doc = document(customers, orders)
    write(doc, tmp_path / "d")
    report = validated(doc, tmp_path / "d")
    assert report.ok, [f"{f.check} {f.where}: {f.message}" for f in report.failures]
    recovered = {(r.check, r.column) for r in report.results if r.passed}
    assert {("hidden_helpers", None), ("trend", "base"), ("segment_value", "base")} <= recovered
