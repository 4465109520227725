"""Row counts and the set of columns are structural: a table with rows missing, added or gone, or
with a column the schema does not declare, fails `validate`; clean data at any scale passes, and so
does a string column another writer stored dictionary-encoded."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datagen.dsl import check
from datagen.engine.block import Store
from datagen.engine.fanout import child_counts
from datagen.engine.generate import Options
from datagen.engine.registry import behaviour_engine
from datagen.io.dataset import write_dataset
from datagen.validate import Result
from datagen.validate.row_counts import _moments
from tests.validate.helpers import copy_data, failure, read, rewrite, seq, shop, validated, write


@pytest.fixture(scope="module")
def clean_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop") / "data"
    write(shop(), out)
    return out


@pytest.fixture
def data(clean_shop: Path, tmp_path: Path) -> Path:
    return copy_data(clean_shop, tmp_path / "data")


def rows_failure(data: Path, table: str) -> Result:
    report = validated(shop(), data)
    assert report.exit_code == 1
    failure(report, "rows", table, None)
    return next(r for r in report.results if (r.check, r.table) == ("rows", table))


def test_clean_data_has_the_rows_the_schema_implies(clean_shop: Path) -> None:
    report = validated(shop(), clean_shop)
    rows = {r.table: r for r in report.results if r.check == "rows"}
    assert {t: r.status for t, r in rows.items()} == {
        "customers": "pass",
        "channels": "pass",
        "orders": "pass",
    }
    assert "expected 400 (rows 400 x scale 1 from .metadata.json)" in rows["customers"].message
    assert "expected 3 (one row per value" in rows["channels"].message
    assert "poisson fanout over 400 customers rows" in rows["orders"].message


def test_an_empty_fact_table_fails(data: Path) -> None:
    rewrite(data, "orders", lambda t: t.slice(0, 0))
    assert rows_failure(data, "orders").message.startswith("0 rows; the schema implies")


def test_a_fact_with_half_its_rows_deleted_fails(data: Path) -> None:
    rewrite(data, "orders", lambda t: t.take(np.arange(0, t.num_rows, 2)))
    f = rows_failure(data, "orders")
    assert f.details["rows"] < f.details["low"]


def test_a_fact_with_a_tenth_more_rows_fails(data: Path) -> None:
    rewrite(data, "orders", lambda t: pa.concat_tables([t, t.slice(0, t.num_rows // 10)]))
    f = rows_failure(data, "orders")
    assert f.details["rows"] > f.details["high"]


def test_one_entity_row_deleted_fails(data: Path) -> None:
    """Entities are exact: rows x scale, not a statistic."""
    rewrite(data, "customers", lambda t: t.slice(1))
    assert "399 rows; the schema implies 400" in rows_failure(data, "customers").message


def test_one_vocab_row_deleted_fails(data: Path) -> None:
    rewrite(data, "channels", lambda t: t.slice(1))
    assert "2 rows; the schema implies 3" in rows_failure(data, "channels").message


def test_a_fact_without_fanout_has_exactly_one_row_per_parent(tmp_path: Path) -> None:
    doc = shop()
    del doc["nodes"][2]["fanout"]
    data = tmp_path / "data"
    write(doc, data)
    assert validated(doc, data).exit_code == 0
    rewrite(data, "orders", lambda t: t.slice(1))
    report = validated(doc, data)
    assert (
        "399 rows; the schema implies 400 (one row per customers row)"
        in failure(report, "rows", "orders", None)["message"]
    )


def test_data_generated_at_another_scale_passes(tmp_path: Path) -> None:
    """The scale comes from .metadata.json, so half-size data is not "half the rows deleted"."""
    checked = check(shop())
    data = tmp_path / "data"
    write_dataset(checked, data, Options(scale=0.5))
    report = validated(shop(), data)
    rows = {r.table: r for r in report.results if r.check == "rows"}
    assert rows["customers"].passed and "x scale 0.5" in rows["customers"].message
    assert rows["orders"].passed and "over 200 customers rows" in rows["orders"].message


def test_a_table_found_by_a_key_the_row_makes_keeps_its_rows_at_another_scale(tmp_path: Path) -> None:
    """Regions looked up by a code each order draws itself keep their 4 rows at scale 0.25; one row
    fewer fails."""
    doc = shop()
    doc["nodes"].append(
        {
            "id": "regions",
            "kind": "entity",
            "pk": "region",
            "rows": 4,
            "columns": [
                {"name": "region", "type": "int", "generator": {"sequence": {"start": 1}}},
                {"name": "vat", "type": "float", "generator": {"choice": {"choices": [0.1, 0.2]}}},
            ],
        }
    )
    orders = next(n for n in doc["nodes"] if n["id"] == "orders")
    orders["columns"] += [
        {"name": "region", "type": "int", "generator": {"choice": {"choices": [1, 2, 3, 4]}}},
        {
            "name": "vat",
            "type": "float",
            "generator": {"lookup": {"from": "regions.vat", "on": {"region": "region"}}},
        },
    ]
    data = tmp_path / "data"
    write_dataset(check(doc), data, Options(scale=0.25))
    rows = {r.table: r for r in validated(doc, data).results if r.check == "rows"}
    assert rows["regions"].passed and "rows 4, whatever the scale" in rows["regions"].message
    assert rows["customers"].passed and "x scale 0.25" in rows["customers"].message
    rewrite(data, "regions", lambda t: t.slice(0, 3))
    assert not {r.table: r for r in validated(doc, data).results if r.check == "rows"}["regions"].passed


def test_an_extra_column_fails(data: Path) -> None:
    rewrite(data, "orders", lambda t: t.append_column("notes", pa.array(["x"] * t.num_rows)))
    report = validated(shop(), data)
    assert report.exit_code == 1
    f = failure(report, "columns", "orders", None)
    assert "extra column(s) not in the schema: notes" in f["message"]
    columns = next(r for r in report.results if (r.check, r.table) == ("columns", "orders"))
    assert columns.details["extra"] == ["notes"] and columns.hard


def test_a_dictionary_encoded_string_column_is_a_string(data: Path) -> None:
    def encode(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("segment")
        encoded = pc.dictionary_encode(t.column("segment"))
        return t.set_column(i, pa.field("segment", encoded.type), encoded)

    rewrite(data, "customers", encode)
    assert pa.types.is_dictionary(read(data, "customers").schema.field("segment").type)
    report = validated(shop(), data)
    assert report.exit_code == 0, [f"{r.check} {r.where}: {r.message}" for r in report.failures]
    segment = next(r for r in report.results if (r.check, r.column) == ("type", "segment"))
    assert segment.passed


# --- the bound for a random count ---------------------------------------------------------------------

FANOUTS = [
    {"distribution": "poisson", "lambda": 3},
    {"distribution": "poisson", "lambda": 3, "min": 2, "max": 4},
    {"distribution": "negative_binomial", "lambda": 5, "dispersion": 0.7, "max": 12},
    {"distribution": "uniform", "min": 1, "max": 6},
]


@pytest.mark.parametrize("fanout", FANOUTS, ids=lambda f: "-".join(map(str, f.values())))
@pytest.mark.parametrize("multiplier", [1.0, 1.7])
def test_the_count_moments_match_the_engines_draws(fanout: dict, multiplier: float) -> None:
    """The mean and variance the validator sums agree with the counts the engine draws for 40,000
    parents of one segment (the sample that puts the observed total within a few percent of a
    standard deviation of the mean, and the variance within 5 %)."""
    doc = shop()
    doc["nodes"][2]["fanout"] = fanout
    doc["nodes"][0]["segment_behavior"] = {
        "segment_column": "segment",
        "behaviors": {"vip": {"fanout_multiplier": multiplier}},
    }
    schema = check(doc).raise_for_errors()
    orders, customers = schema.node("orders"), schema.node("customers")
    n = 40_000
    store = Store(columns={"customers": {"segment": np.full(n, "vip", dtype=object)}}, rows={"customers": n})
    counts = child_counts(7, orders, customers, store, 0, np.arange(n), (0, 1), behaviour_engine)
    mean, var, _ = _moments(orders.fanout, np.full(n, multiplier))
    assert abs(counts.sum() - mean) <= 4 * math.sqrt(var) + 0.002 * mean
    assert counts.var() * n == pytest.approx(var, rel=0.05)


def test_without_a_recorded_scale_an_entity_count_is_not_checked_but_its_children_are(data: Path) -> None:
    """A preview sample is written with its seed only: entities hold a few rows whatever `rows` says."""
    (data / ".metadata.json").write_text('{"seed": 42}')
    rewrite(data, "customers", lambda t: t.slice(0, 50))
    rewrite(data, "orders", lambda t: t.filter(pc.less_equal(t.column("customer_id"), 50)))
    report = validated(shop(), data)
    rows = {r.table: r for r in report.results if r.check == "rows"}
    assert rows["customers"].status == "skip" and "records no scale" in rows["customers"].message
    assert rows["orders"].passed and "over 50 customers rows" in rows["orders"].message


def test_a_condition_on_a_hidden_parent_column_is_counted(tmp_path: Path) -> None:
    """Only customers whose hidden `loyal` flag is set have orders: the count is read with the flag
    regenerated (it is not in the data), not left unchecked."""
    doc = shop()
    customers, orders = doc["nodes"][0], doc["nodes"][2]
    draw = {"distribution": {"type": "uniform", "params": {"low": 0, "high": 1}}}
    customers["columns"] += [
        {"name": "u", "type": "float", "output": False, "generator": draw},
        {"name": "loyal", "type": "bool", "output": False, "generator": {"expression": {"code": "u < 0.5"}}},
    ]
    orders["fanout"]["where"] = "loyal"
    data = tmp_path / "data"
    write(doc, data)
    rows = next(r for r in validated(doc, data).results if (r.check, r.table) == ("rows", "orders"))
    assert rows.passed and "where 'loyal' holds" in rows.message
    rewrite(data, "orders", lambda t: t.slice(0, t.num_rows // 2))
    assert failure(validated(doc, data), "rows", "orders", None)


def test_a_rate_over_a_facts_states_reads_the_parent_times_it_is_drawn_after(tmp_path: Path) -> None:
    """Events of an order come at a rate while the order is open, each after the order was placed (a
    chain): the count is bounded from the order's time too, which the check reads from the data."""
    doc = shop()
    orders = doc["nodes"][2]
    orders["fanout"] = {"distribution": "constant", "count": 1}
    states = {
        "initial_state": "open",
        "period_unit": "week",
        "states": {
            "open": {"transition_prob_per_period": 0.3, "next_states": {"closed": 1}},
            "closed": {"terminal": True},
        },
    }
    walk = {
        "id": "order_states", "kind": "fact", "pk": "row_id", "parents": ["orders"],
        "state_transition_model": states,
        "columns": [
            seq("row_id"),
            {"name": "order_id", "type": "int", "generator": {"lookup": {"from": "orders.order_id"}}},
            {"name": "state", "type": "string", "generator": {"choice": {"choices": ["open"]}}},
            {"name": "at", "type": "datetime", "generator": {"datetime_series": {}}},
        ],
    }  # fmt: skip
    events = {
        "id": "events", "kind": "fact", "pk": "event_id", "parents": ["orders"],
        "fanout": {"distribution": "poisson", "lambda": 20},
        "active_in": {"walk": "order_states", "states": {"open": 1.0}},
        "columns": [
            seq("event_id"),
            {"name": "order_id", "type": "int", "generator": {"lookup": {"from": "orders.order_id"}}},
            {"name": "at", "type": "datetime", "generator": {"datetime_series": {}}},
        ],
    }  # fmt: skip
    doc["nodes"] += [walk, events]
    data = tmp_path / "data"
    write(doc, data)
    rows = next(r for r in validated(doc, data).results if (r.check, r.table) == ("rows", "events"))
    assert rows.passed, rows.message
