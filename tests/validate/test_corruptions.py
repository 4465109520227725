"""Corrupt clean data in each way a check exists for: the run fails (exit code 1) and `failures` names
that check, table and column. Every report is validated against the report's JSON Schema."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.validate.helpers import (
    col,
    copy_data,
    failure,
    read,
    rewrite,
    rows_where,
    set_column,
    shop,
    spikes,
    validated,
    weekly,
    write,
)

DAY_US = 86_400_000_000


@pytest.fixture(scope="module")
def clean_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shop") / "data"
    write(shop(), out)
    report = validated(shop(), out)
    assert report.exit_code == 0 and not report.failures, [r.message for r in report.failures]
    return out


@pytest.fixture
def data(clean_shop: Path, tmp_path: Path) -> Path:
    return copy_data(clean_shop, tmp_path / "data")


def assert_fails(data: Path, check: str, table: str, column: str | None, doc: dict | None = None) -> dict:
    report = validated(doc or shop(), data)
    assert report.exit_code == 1
    return failure(report, check, table, column)


def test_duplicate_primary_key(data: Path) -> None:
    rewrite(data, "orders", lambda t: pa.concat_tables([t, t.slice(5, 3)]))
    f = assert_fails(data, "primary_key", "orders", "order_id")
    assert [e["order_id"] for e in f["examples"]] == [6, 7, 8]


def test_null_primary_key(data: Path) -> None:
    def blank(t: pa.Table) -> pa.Table:
        ids = t.column("customer_id").to_pylist()
        return set_column(t, "customer_id", [None, *ids[1:]])

    rewrite(data, "customers", blank)
    assert "without a key" in assert_fails(data, "primary_key", "customers", "customer_id")["message"]


def test_orphan_foreign_key(data: Path) -> None:
    def orphan(t: pa.Table) -> pa.Table:
        ids = t.column("customer_id").to_numpy().copy()
        ids[:4] = 999_999
        return set_column(t, "customer_id", ids)

    rewrite(data, "orders", orphan)
    f = assert_fails(data, "foreign_key", "orders", "customer_id")
    assert "4 of" in f["message"] and all(e["customer_id"] == 999_999 for e in f["examples"])


def test_orphan_in_a_lookup_under_another_name(tmp_path: Path) -> None:
    """A lookup into customers' key is a foreign key whatever the column is called."""
    doc = shop()
    doc["nodes"][2]["columns"].append(col("referrer", "int", {"lookup": {"from": "customers.customer_id"}}))
    data = tmp_path / "data"
    write(doc, data)
    assert validated(doc, data).exit_code == 0
    rewrite(data, "orders", lambda t: set_column(t, "referrer", [0, *t.column("referrer").to_pylist()[1:]]))
    f = assert_fails(data, "foreign_key", "orders", "referrer", doc)
    assert "point at no customers.customer_id" in f["message"]
    assert f["examples"] == [{"order_id": 1, "referrer": 0}]


def test_enum_ref_violation(data: Path) -> None:
    rewrite(data, "orders", lambda t: set_column(t, "channel", ["fax", *t.column("channel").to_pylist()[1:]]))
    # a value outside the vocab: the column declares enum_ref channels.channel
    assert_fails(data, "enum", "orders", "channel")


def test_null_in_non_nullable_column(data: Path) -> None:
    rewrite(data, "orders", lambda t: set_column(t, "status", [None, *t.column("status").to_pylist()[1:]]))
    f = assert_fails(data, "not_null", "orders", "status")
    assert f["examples"] == [{"order_id": 1, "status": None}]


def test_nan_counts_as_null(data: Path) -> None:
    def nan(t: pa.Table) -> pa.Table:
        amount = t.column("amount").to_numpy().copy()
        amount[2] = np.nan
        return set_column(t, "amount", pa.array(amount, from_pandas=False))

    rewrite(data, "orders", nan)
    assert_fails(data, "not_null", "orders", "amount")


def test_out_of_range(data: Path) -> None:
    def big(t: pa.Table) -> pa.Table:
        amount = t.column("amount").to_numpy().copy()
        amount[[3, 10]] = [5000.0, 0.5]
        return set_column(t, "amount", amount)

    rewrite(data, "orders", big)
    f = assert_fails(data, "range", "orders", "amount")
    assert "2 of" in f["message"] and {e["amount"] for e in f["examples"]} == {5000.0, 0.5}


def test_pattern_is_a_full_match(data: Path) -> None:
    # "C-1234-AB-x" contains a match of the regex but is not one
    rewrite(
        data,
        "customers",
        lambda t: set_column(t, "code", pc.binary_join_element_wise(t.column("code"), "-x", "")),
    )
    f = assert_fails(data, "pattern", "customers", "code")
    assert f["examples"][0]["code"].endswith("-x")


def test_enum_violation(data: Path) -> None:
    rewrite(
        data, "customers", lambda t: set_column(t, "segment", ["gold", *t.column("segment").to_pylist()[1:]])
    )
    f = assert_fails(data, "enum", "customers", "segment")
    assert f["examples"] == [{"customer_id": 1, "segment": "gold"}]


def test_unique_violation(data: Path) -> None:
    def same(t: pa.Table) -> pa.Table:
        emails = t.column("email").to_pylist()
        return set_column(t, "email", [emails[0], emails[0], *emails[2:]])

    rewrite(data, "customers", same)
    assert_fails(data, "unique", "customers", "email")


def test_inequality_across_parent_and_child(data: Path) -> None:
    """An order placed a day before its customer signed up: found by joining through the key."""
    customers = read(data, "customers")
    signup = dict(zip(customers["customer_id"].to_pylist(), customers["signup_at"].to_pylist(), strict=True))

    def before_signup(t: pa.Table) -> pa.Table:
        ordered, shipped = t["ordered_at"].to_pylist(), t["shipped_at"].to_pylist()
        ordered[0] = signup[t["customer_id"][0].as_py()] - timedelta(days=1)
        shipped[0] = ordered[0] + timedelta(hours=2)  # the same-row rule still holds
        return set_column(set_column(t, "ordered_at", ordered), "shipped_at", shipped)

    rewrite(data, "orders", before_signup)
    f = assert_fails(data, "inequality", "orders", "ordered_at")
    assert [e["orders.order_id"] for e in f["examples"]] == [1]
    assert "joined on orders.customer_id" in f["message"]


def test_inequality_within_a_row(data: Path) -> None:
    def same_time(t: pa.Table) -> pa.Table:
        shipped = t["shipped_at"].to_pylist()
        shipped[7] = t["ordered_at"][7].as_py()  # the rule is strict: shipped_at > ordered_at
        return set_column(t, "shipped_at", shipped)

    rewrite(data, "orders", same_time)
    f = assert_fails(data, "inequality", "orders", "shipped_at")
    assert [e["order_id"] for e in f["examples"]] == [8]


@pytest.mark.parametrize(
    ("table", "column", "stored", "words"),
    [
        ("orders", "amount", pa.string(), "stored as string, declared float"),
        ("orders", "order_id", pa.float64(), "stored as double, declared int"),  # ints are ints
        ("customers", "signup_at", pa.timestamp("us"), "a datetime is a UTC timestamp"),
    ],
)
def test_stored_type_mismatch(data: Path, table: str, column: str, stored: pa.DataType, words: str) -> None:
    rewrite(data, table, lambda t: set_column(t, column, t.column(column).cast(stored), stored))
    f = assert_fails(data, "type", table, column)
    assert words in f["message"]


def test_missing_column(data: Path) -> None:
    rewrite(data, "orders", lambda t: t.drop_columns(["status"]))
    f = assert_fails(data, "columns", "orders", None)
    assert "status" in f["message"]


def test_null_share_against_null_rate(data: Path) -> None:
    def more_nulls(t: pa.Table) -> pa.Table:
        d = t.column("discount").to_numpy(zero_copy_only=False).copy()
        d[rows_where(len(d), 0.4)] = np.nan
        return set_column(t, "discount", pa.array(d, from_pandas=True))

    rewrite(data, "orders", more_nulls)
    report = validated(shop(), data)
    f = failure(report, "null_share", "orders", "discount")
    assert not f["hard"]
    assert report.exit_code == 0  # soft: one behavioural check among many does not sink the score
    assert validated(shop(), data, threshold=99).exit_code == 1


def test_shifted_weekly_pattern(tmp_path: Path) -> None:
    """Every visit moved one day later: each weekday now holds the next one's share."""
    data = tmp_path / "data"
    write(weekly(), data)
    assert validated(weekly(), data).exit_code == 0

    def shift(t: pa.Table) -> pa.Table:
        us = pc.add(t.column("at").cast(pa.int64()), DAY_US)
        return set_column(t, "at", us.cast(pa.timestamp("us", tz="UTC")))

    rewrite(data, "visits", shift)
    f = assert_fails(data, "seasonality", "visits", "at", weekly())
    assert "dow shares do not follow" in f["message"]


def test_wrong_outlier_rate(tmp_path: Path) -> None:
    """Data with 5 % outliers against a schema that declares 1 %."""
    data = tmp_path / "data"
    write(spikes(rate=0.05), data)
    f = assert_fails(data, "outliers", "payments", "amount", spikes(rate=0.01))
    assert "implies a rate" in f["message"]


def test_outliers_missing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(spikes(rate=0.0), data)
    assert_fails(data, "outliers", "payments", "amount", spikes(rate=0.02))
