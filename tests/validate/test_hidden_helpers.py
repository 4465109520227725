"""Hidden helpers read by what the validator recomputes (validate/hidden.py; docs/schema-language.md
§10.4): a running sum of a hidden step from a hidden start, a scoped pick on a hidden key, children of a
hidden segment. Each schema checks, generates and validates at 100; the helpers are regenerated and
lent only while the written columns match the data row for row, and an edited file is caught."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.dsl import check
from datagen.validate import Report
from datagen.validate.hidden import hidden_inputs
from tests.validate.helpers import (
    col,
    copy_data,
    document,
    failure,
    read,
    results,
    rewrite,
    seq,
    set_column,
    validated,
    write,
)


def uniform(low: float, high: float) -> dict[str, Any]:
    return {"distribution": {"type": "uniform", "params": {"low": low, "high": high}}}


def fleet() -> dict[str, Any]:
    """Vans from a hidden home latitude; pings whose latitude is a running sum of hidden steps from
    it, and a running count of hidden 'moving' flags."""
    vans = {
        "id": "vans",
        "kind": "entity",
        "pk": "van_id",
        "rows": 20,
        "columns": [seq("van_id"), col("home_lat", "float", uniform(50, 52), output=False)],
    }
    pings = {
        "id": "pings",
        "kind": "fact",
        "pk": "ping_id",
        "parents": ["vans"],
        "fanout": {"distribution": "poisson", "lambda": 40},
        "columns": [
            seq("ping_id"),
            col("van_id", "int", {"lookup": {"from": "vans.van_id"}}),
            col("pinged_at", "datetime", {"datetime_series": {}}),
            col("d_lat", "float", uniform(-0.01, 0.01), output=False),
            col(
                "lat",
                "float",
                {"running": {"of": "d_lat", "order_by": "pinged_at", "start": "vans.home_lat"}},
            ),
            col("moving", "int", {"choice": {"choices": [0, 1], "weights": [1, 3]}}, output=False),
            col("moves", "int", {"running": {"of": "moving", "order_by": "pinged_at"}}),
        ],
    }
    return document(vans, pings)


def delivery(hidden_side: str = "lines") -> dict[str, Any]:
    """Order lines picking a menu item of their order's restaurant: the key they pick on is hidden on
    the lines (`hidden_side="lines"`) or on the menu items (`"items"`)."""
    restaurants = {"id": "restaurants", "kind": "entity", "pk": "restaurant_id", "rows": 15}
    restaurants["columns"] = [seq("restaurant_id")]
    items = {
        "id": "menu_items",
        "kind": "fact",
        "pk": "menu_item_id",
        "parents": ["restaurants"],
        "fanout": {"distribution": "poisson", "lambda": 6, "min": 1},
        "columns": [
            seq("menu_item_id"),
            col("restaurant_key", "int", {"lookup": {"from": "restaurants.restaurant_id"}}),
            col("price", "float", uniform(5, 30), decimals=2),
        ],
    }
    orders = {
        "id": "orders",
        "kind": "entity",
        "pk": "order_id",
        "rows": 300,
        "columns": [
            seq("order_id"),
            col("restaurant_id", "int", {"choice": {"choices_ref": "restaurants.restaurant_id"}}),
        ],
    }
    lines = {
        "id": "order_lines",
        "kind": "fact",
        "pk": "line_id",
        "parents": ["orders"],
        "fanout": {"distribution": "poisson", "lambda": 2, "min": 1},
        "columns": [
            seq("line_id"),
            col("order_id", "int", {"lookup": {"from": "orders.order_id"}}),
            col("restaurant_id", "int", {"lookup": {"from": "orders.restaurant_id"}}),
            col(
                "menu_item_id",
                "int",
                {
                    "lookup": {
                        "from": "menu_items.menu_item_id",
                        "on": {"restaurant_id": "restaurant_key"},
                        "pick": "random",
                    }
                },
            ),
        ],
    }
    if hidden_side == "lines":
        lines["columns"][2]["output"] = False
    else:
        items["columns"][1]["output"] = False
    return document(restaurants, items, orders, lines)


def tiers() -> dict[str, Any]:
    """Products in a hidden popularity tier: top sellers sell four times as often, for twice as much."""
    products = {
        "id": "products",
        "kind": "entity",
        "pk": "product_id",
        "rows": 300,
        "segment_behavior": {
            "segment_column": "tier",
            "behaviors": {
                "top": {"fanout_multiplier": 4.0, "value_multiplier": 2.0},
                "regular": {"fanout_multiplier": 1.0},
            },
            "applies_to_columns": ["sales.amount"],
        },
        "columns": [
            seq("product_id"),
            col("price", "float", uniform(1, 20), decimals=2),
            col(
                "tier", "string", {"choice": {"choices": ["top", "regular"], "weights": [1, 4]}}, output=False
            ),
        ],
    }
    sales = {
        "id": "sales",
        "kind": "fact",
        "pk": "sale_id",
        "parents": ["products"],
        "fanout": {"distribution": "poisson", "lambda": 8},
        "columns": [
            seq("sale_id"),
            col("product_id", "int", {"lookup": {"from": "products.product_id"}}),
            col(
                "amount",
                "float",
                {"distribution": {"type": "lognormal", "params": {"mean": 2, "sigma": 0.3}}},
            ),
        ],
    }
    return document(products, sales)


def passed(report: Report) -> set[tuple[str, str, str | None]]:
    return {(r.check, r.table, r.column) for r in report.results if r.passed}


def clean(doc: dict[str, Any], out: Path) -> Report:
    """Check, generate and validate: every check that applies passes."""
    assert not check(doc).errors
    write(doc, out)
    report = validated(doc, out)
    assert report.score == 100 and report.exit_code == 0, [f"{f.where}: {f.message}" for f in report.failures]
    return report


@pytest.fixture(scope="module")
def clean_fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    out = tmp_path_factory.mktemp("fleet") / "data"
    return out, clean(fleet(), out)


@pytest.fixture(scope="module")
def clean_delivery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    out = tmp_path_factory.mktemp("delivery") / "data"
    return out, clean(delivery(), out)


# --- what is regenerated ------------------------------------------------------------------------------


def test_only_tables_whose_helpers_a_recomputation_reads_are_regenerated() -> None:
    assert hidden_inputs(check(fleet()).raise_for_errors()) == {
        "vans": {"home_lat"},
        "pings": {"d_lat", "moving"},
    }
    assert hidden_inputs(check(delivery("items")).raise_for_errors()) == {"menu_items": {"restaurant_key"}}
    doc = fleet()
    doc["nodes"][1]["columns"][4] = col("lat", "float", {"expression": {"code": "50 + d_lat"}})
    doc["nodes"][1]["columns"][6] = col("moves", "int", {"expression": {"code": "moving * 2"}})
    # read only by expressions of their own row: nothing recomputes them, nothing is regenerated
    doc["nodes"][0]["columns"].pop()
    assert hidden_inputs(check(doc).raise_for_errors()) == {}


# --- running values -----------------------------------------------------------------------------------


def test_a_running_sum_of_hidden_steps_from_a_hidden_start_validates(
    clean_fleet: tuple[Path, Report],
) -> None:
    data, report = clean_fleet
    assert {
        ("hidden_helpers", "vans", None),
        ("hidden_helpers", "pings", None),
        ("running", "pings", "lat"),
        ("running", "pings", "moves"),
    } <= passed(report)
    assert read(data, "pings").column_names == ["ping_id", "van_id", "pinged_at", "lat", "moves"]


def test_a_changed_running_total_is_caught(clean_fleet: tuple[Path, Report], tmp_path: Path) -> None:
    data = copy_data(clean_fleet[0], tmp_path / "d")

    def shift_first(t: pa.Table) -> pa.Table:
        lat = t["lat"].to_numpy().copy()
        lat[0] += 0.5
        return set_column(t, "lat", lat)

    rewrite(data, "pings", shift_first)
    report = validated(fleet(), data)
    assert report.exit_code == 1
    f = failure(report, "hidden_helpers", "pings", None)
    assert "lat differs in 1 of" in f["message"] and "regenerated at the data's seed 42" in f["message"]
    assert f["examples"][0]["row"] == 0 and "lat regenerated" in f["examples"][0]
    running = {r.column: r for r in results(report, "running", "pings")}
    for column, helper in (("lat", "d_lat"), ("moves", "moving")):
        assert running[column].status == "skip"
        assert f"'pings.{helper}' is a hidden helper" in running[column].message
        assert "does not match the files" in running[column].message
    assert ("hidden_helpers", "vans", None) in passed(report)  # the start's table still matches


def test_a_deleted_row_is_caught(clean_fleet: tuple[Path, Report], tmp_path: Path) -> None:
    data = copy_data(clean_fleet[0], tmp_path / "d")
    rewrite(data, "pings", lambda t: t.slice(1))
    f = failure(validated(fleet(), data), "hidden_helpers", "pings", None)
    n = read(clean_fleet[0], "pings").num_rows
    assert f"{n - 1:,} rows in the files, {n:,} regenerated" in f["message"]


def test_data_of_another_seed_is_not_vouched_for(clean_fleet: tuple[Path, Report], tmp_path: Path) -> None:
    data = copy_data(clean_fleet[0], tmp_path / "d")
    meta = data / ".metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text(encoding="utf-8")), "seed": 7}), encoding="utf-8")
    report = validated(fleet(), data)
    assert "regenerated at the data's seed 7" in failure(report, "hidden_helpers", "pings", None)["message"]
    assert {r.status for r in results(report, "running")} == {"skip"}


# --- scoped lookups -----------------------------------------------------------------------------------


def test_a_pick_on_a_hidden_key_validates(clean_delivery: tuple[Path, Report]) -> None:
    assert {
        ("hidden_helpers", "order_lines", None),
        ("scoped_lookup", "order_lines", "menu_item_id"),
    } <= passed(clean_delivery[1])


def swap_first_pick(clean: Path) -> Callable[[pa.Table], pa.Table]:
    """An edit giving the first order line a menu item of another restaurant (whose items are read
    from data where the item's restaurant is written)."""
    owner = dict(
        zip(
            *(read(clean, "menu_items")[c].to_pylist() for c in ("menu_item_id", "restaurant_key")),
            strict=True,
        )
    )

    def swap(t: pa.Table) -> pa.Table:
        items = t["menu_item_id"].to_numpy().copy()
        items[0] = next(i for i, r in owner.items() if r != owner[int(items[0])])
        return set_column(t, "menu_item_id", items)

    return swap


def test_a_swapped_pick_on_a_hidden_key_is_caught(
    clean_delivery: tuple[Path, Report], tmp_path: Path
) -> None:
    data = copy_data(clean_delivery[0], tmp_path / "d")
    rewrite(data, "order_lines", swap_first_pick(clean_delivery[0]))
    report = validated(delivery(), data)
    assert "menu_item_id differs in 1 of" in failure(report, "hidden_helpers", "order_lines", None)["message"]
    [pick] = results(report, "scoped_lookup", "order_lines")
    assert pick.status == "skip" and "'order_lines.restaurant_id' is a hidden helper" in pick.message


def test_a_swapped_pick_on_a_hidden_source_key_fails_the_pick(
    clean_delivery: tuple[Path, Report], tmp_path: Path
) -> None:
    """The key hidden on the menu items instead: they still match the data, so the lines' edited pick is
    judged against their lent key, and fails the pick itself."""
    report = clean(delivery("items"), tmp_path / "d")
    assert ("hidden_helpers", "menu_items", None) in passed(report)
    rewrite(tmp_path / "d", "order_lines", swap_first_pick(clean_delivery[0]))
    report = validated(delivery("items"), tmp_path / "d")
    assert "1 of" in failure(report, "scoped_lookup", "order_lines", "menu_item_id")["message"]


# --- behaviour blocks ---------------------------------------------------------------------------------


def test_a_segment_in_a_hidden_column_is_recovered(tmp_path: Path) -> None:
    report = clean(tiers(), tmp_path / "d")
    assert {
        ("hidden_helpers", "products", None),
        ("rows", "sales", None),
        ("segment_fanout", "sales", None),
        ("segment_value", "sales", "amount"),
    } <= passed(report)


def test_edited_segment_rows_leave_their_checks_unverified(tmp_path: Path) -> None:
    write(tiers(), tmp_path / "d")
    rewrite(tmp_path / "d", "products", lambda t: set_column(t, "price", np.full(t.num_rows, 9.99)))
    report = validated(tiers(), tmp_path / "d")
    assert report.exit_code == 1
    assert "price differs in" in failure(report, "hidden_helpers", "products", None)["message"]
    unverified = {r.check: r.message for r in report.results if r.table == "sales" and r.status == "skip"}
    assert {"rows", "segment_fanout", "segment_value"} <= set(unverified)
    assert "does not match the files" in unverified["rows"]
    assert all("tier" in m and "hidden_helpers check" in m for c, m in unverified.items() if c != "rows")


# --- modifiers of a hidden helper ---------------------------------------------------------------------


def test_the_modifiers_of_a_hidden_helper_are_checked_on_it(tmp_path: Path) -> None:
    """A hidden base with a daily pattern and outliers, written only through an expression: its
    modifiers are recovered from it, regenerated."""
    visits = {
        "id": "visits",
        "kind": "entity",
        "pk": "visit_id",
        "rows": 20_000,
        "columns": [
            seq("visit_id"),
            col("at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}),
            col(
                "base",
                "float",
                {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 0.3}}},
                output=False,
                modifiers=[
                    {
                        "transform": "seasonality",
                        "args": {"dimension": "hour", "weights": [1] * 12 + [2] * 12},
                    },
                    {"transform": "outliers", "args": {"rate": 0.02, "mode": "spike"}},
                ],
            ),
            col("spend", "float", {"expression": {"code": "base * 1.1"}}, decimals=2),
        ],
    }
    report = clean(document(visits), tmp_path / "d")
    assert {
        ("hidden_helpers", "visits", None),
        ("seasonality", "visits", "base"),
        ("outliers", "visits", "base"),
    } <= passed(report)


# --- the data's rows in several files -----------------------------------------------------------------


def test_a_table_in_parts_is_paired_row_for_row(clean_fleet: tuple[Path, Report], tmp_path: Path) -> None:
    """Rows are numbered across the files of a table (as `datagen generate` writes a big one), so the
    n-th row of the second part meets the n-th regenerated row after the first part's."""
    data = copy_data(clean_fleet[0], tmp_path / "d")
    pings = read(data, "pings")
    (data / "pings.parquet").unlink()
    (data / "pings").mkdir()
    half = pings.num_rows // 2
    pq.write_table(pings.slice(0, half), data / "pings" / "part-00000.parquet", row_group_size=97)
    pq.write_table(pings.slice(half), data / "pings" / "part-00001.parquet", row_group_size=97)
    report = validated(fleet(), data)
    assert report.score == 100 and ("running", "pings", "lat") in passed(report)
    swapped = pa.concat_tables([pings.slice(half), pings.slice(0, half)])  # the same rows, out of order
    pq.write_table(swapped.slice(0, half), data / "pings" / "part-00000.parquet")
    pq.write_table(swapped.slice(half), data / "pings" / "part-00001.parquet")
    assert "differs in" in failure(validated(fleet(), data), "hidden_helpers", "pings", None)["message"]
