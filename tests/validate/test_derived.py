"""Derived columns and attribution (validate/derived.py, validate/attribution.py; docs/schema-language.md
§10.4, §8.5): clean data passes every relation check, and each tampering with one relation fails the
check that holds it, naming the table and column."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datagen.validate import Report, Result
from datagen.validate.sql_condition import sql_condition
from tests.validate.helpers import (
    col,
    copy_data,
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


def ledger() -> dict[str, Any]:
    """Branches with advisers; accounts picking an adviser of their branch, their balances rolled up
    from transactions, and a running balance per transaction."""
    branches = {
        "id": "branches",
        "kind": "entity",
        "pk": "branch_id",
        "rows": 12,
        "columns": [
            seq("branch_id"),
            col("accounts_held", "int", {"rollup": {"from": "accounts.account_id", "agg": "count"}}),
        ],
    }
    advisers = {
        "id": "advisers",
        "kind": "fact",
        "pk": "adviser_id",
        "parents": ["branches"],
        "fanout": {"distribution": "poisson", "lambda": 3, "min": 1},
        "columns": [seq("adviser_id"), col("branch_id", "int", {"lookup": {"from": "branches.branch_id"}})],
    }
    accounts = {
        "id": "accounts",
        "kind": "fact",
        "pk": "account_id",
        "parents": ["branches"],
        "fanout": {"distribution": "poisson", "lambda": 30},
        "columns": [
            seq("account_id"),
            col("branch_id", "int", {"lookup": {"from": "branches.branch_id"}}),
            col(
                "adviser_id",
                "int",
                {
                    "lookup": {
                        "from": "advisers.adviser_id",
                        "on": {"branch_id": "branch_id"},
                        "pick": "random",
                    }
                },
            ),
            col(
                "opening",
                "float",
                {"distribution": {"type": "uniform", "params": {"low": 100, "high": 5000}}},
            ),
            col("net_flow", "float", {"rollup": {"from": "transactions.signed", "agg": "sum"}}),
            col("closing", "float", {"expression": {"code": "opening + net_flow"}}),
            col(
                "credits",
                "float",
                {"rollup": {"from": "transactions.amount", "agg": "sum", "where": "direction == 'credit'"}},
            ),
            col(
                "last_at",
                "datetime",
                {"rollup": {"from": "transactions.posted_at", "agg": "max"}},
                nullable=True,
            ),
            col(
                "last_direction",
                "string",
                {"rollup": {"from": "transactions.direction", "agg": "last"}},
                nullable=True,
            ),
        ],
    }
    transactions = {
        "id": "transactions",
        "kind": "fact",
        "pk": "transaction_id",
        "parents": ["accounts"],
        "fanout": {"distribution": "poisson", "lambda": 8},
        "columns": [
            seq("transaction_id"),
            col("account_id", "int", {"lookup": {"from": "accounts.account_id"}}),
            col("posted_at", "datetime", {"datetime_series": {}}),
            col(
                "amount", "float", {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 1}}}
            ),
            col("direction", "string", {"choice": {"choices": ["debit", "credit"], "weights": [3, 1]}}),
            col("signed", "float", {"expression": {"code": "amount if direction == 'credit' else -amount"}}),
            col(
                "balance",
                "float",
                {
                    "running": {
                        "of": "signed",
                        "agg": "sum",
                        "order_by": "posted_at",
                        "start": "accounts.opening",
                    }
                },
            ),
            col(
                "number",
                "int",
                {"running": {"of": "transaction_id", "agg": "count", "order_by": "posted_at"}},
            ),
        ],
    }
    return document(branches, advisers, accounts, transactions)


def journeys(search_lift: float = 3.0) -> dict[str, Any]:
    users = {
        "id": "users",
        "kind": "entity",
        "pk": "user_id",
        "rows": 3000,
        "columns": [seq("user_id")],
    }
    touches = {
        "id": "touches",
        "kind": "fact",
        "pk": "touch_id",
        "parents": ["users"],
        "fanout": {"distribution": "poisson", "lambda": 8},
        "columns": [
            seq("touch_id"),
            col("user_id", "int", {"lookup": {"from": "users.user_id"}}),
            col("channel", "string", {"choice": {"choices": ["search", "email", "display"]}}),
            col("touched_at", "datetime", {"datetime_series": {}}),
        ],
    }
    conversions = {
        "id": "conversions",
        "kind": "fact",
        "pk": "conversion_id",
        "parents": ["users"],
        "attribution": {
            "touches": "touches",
            "channel_column": "channel",
            "time_column": "touched_at",
            "lookback": {"days": 21},
            "base_rate": 0.05,
            "channel_lift": {"search": search_lift, "display": 0.7},
            "credit_table": "credit",
        },
        "columns": [
            seq("conversion_id"),
            col("user_id", "int", {"lookup": {"from": "users.user_id"}}),
            col("converted_at", "datetime", {"datetime_series": {}}),
        ],
    }
    return document(users, touches, conversions)


@pytest.fixture(scope="module")
def clean_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ledger") / "data"
    write(ledger(), out)
    report = validated(ledger(), out)
    assert report.exit_code == 0 and not report.failures, [r.message for r in report.failures]
    checks = {(r.check, r.table, r.column) for r in report.results if r.passed}
    assert ("rollup", "accounts", "credits") in checks
    assert ("running", "transactions", "balance") in checks
    assert ("scoped_lookup", "accounts", "adviser_id") in checks
    return out


@pytest.fixture(scope="module")
def clean_journeys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("journeys") / "data"
    write(journeys(), out)
    report = validated(journeys(), out)
    assert report.exit_code == 0 and not report.failures, [r.message for r in report.failures]
    passed = {r.check for r in report.results if r.passed}
    assert {"attribution_window", "attribution_credit", "attribution_lift"} <= passed
    return out


def failed(report: Report, check: str, table: str, column: str | None) -> Result:
    """The failed result of this check on this table and column, also listed in the report's failures."""
    failure(report, check, table, column)
    return next(r for r in report.failures if (r.check, r.table, r.column) == (check, table, column))


def fails(data: Path, doc: dict, check: str, table: str, column: str | None) -> Result:
    report = validated(doc, data)
    assert report.exit_code == 1
    return failed(report, check, table, column)


def changed(table: pa.Table, name: str, at: int, change: Any) -> pa.Table:
    values = table.column(name).to_pylist()
    values[at] = change(values[at])
    return set_column(table, name, values)


def test_a_rollup_that_is_not_the_sum_of_the_children_fails(clean_ledger: Path, tmp_path: Path) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    rewrite(data, "accounts", lambda t: changed(t, "net_flow", 7, lambda v: v + 0.01))
    f = fails(data, ledger(), "rollup", "accounts", "net_flow")
    assert f.details["differ"] == 1 and len(f.examples) == 1


def test_a_child_that_changes_its_where_breaks_the_filtered_rollup(
    clean_ledger: Path, tmp_path: Path
) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    directions = read(data, "transactions").column("direction").to_pylist()
    debit = directions.index("debit")
    rewrite(data, "transactions", lambda t: changed(t, "direction", debit, lambda _: "credit"))
    fails(data, ledger(), "rollup", "accounts", "credits")


def test_a_latest_time_or_last_value_out_of_step_fails(clean_ledger: Path, tmp_path: Path) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    accounts = read(data, "accounts")
    busy = next(i for i, v in enumerate(accounts.column("last_at").to_pylist()) if v is not None)
    flipped = {"debit": "credit", "credit": "debit"}

    def tamper(t: pa.Table) -> pa.Table:
        t = changed(t, "last_at", busy, lambda v: v - timedelta(seconds=1))
        return changed(t, "last_direction", busy, lambda v: flipped[v])

    rewrite(data, "accounts", tamper)
    fails(data, ledger(), "rollup", "accounts", "last_at")
    fails(data, ledger(), "rollup", "accounts", "last_direction")


def test_a_count_rollup_off_by_one_fails(clean_ledger: Path, tmp_path: Path) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    rewrite(data, "branches", lambda t: changed(t, "accounts_held", 3, lambda v: v + 1))
    fails(data, ledger(), "rollup", "branches", "accounts_held")


def test_a_running_balance_out_of_order_fails(clean_ledger: Path, tmp_path: Path) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    t = read(data, "transactions")
    accounts = t.column("account_id").to_numpy()
    first = int(np.flatnonzero(accounts[1:] == accounts[:-1])[0])  # two rows of one account
    times = t.column("posted_at").to_pylist()
    times[first], times[first + 1] = times[first + 1], times[first]
    rewrite(data, "transactions", lambda tab: set_column(tab, "posted_at", times))
    fails(data, ledger(), "running", "transactions", "balance")
    fails(data, ledger(), "running", "transactions", "number")


def test_a_running_balance_that_forgets_the_opening_fails(clean_ledger: Path, tmp_path: Path) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    rewrite(data, "accounts", lambda t: changed(t, "opening", 0, lambda v: v + 1.0))
    f = fails(data, ledger(), "running", "transactions", "balance")
    assert f.details["differ"] >= 1


def test_a_pick_outside_its_scope_fails(clean_ledger: Path, tmp_path: Path) -> None:
    data = copy_data(clean_ledger, tmp_path / "data")
    advisers = read(data, "advisers")
    accounts = read(data, "accounts")
    branch = accounts.column("branch_id")[0].as_py()
    elsewhere = pc.filter(advisers, pc.not_equal(advisers.column("branch_id"), branch)).column("adviser_id")[
        0
    ]
    rewrite(data, "accounts", lambda t: changed(t, "adviser_id", 0, lambda _: elsewhere.as_py()))
    f = fails(data, ledger(), "scoped_lookup", "accounts", "adviser_id")
    assert f.details["outside"] == 1
    assert f.examples[0]["account_id"] == accounts.column("account_id")[0].as_py()


def test_a_null_pick_with_candidates_fails(clean_ledger: Path, tmp_path: Path) -> None:
    doc = ledger()
    adviser = doc["nodes"][2]["columns"][2]
    adviser["nullable"] = True
    data = copy_data(clean_ledger, tmp_path / "data")
    rewrite(data, "accounts", lambda t: changed(t, "adviser_id", 4, lambda _: None))
    f = fails(data, doc, "scoped_lookup", "accounts", "adviser_id")
    assert f.details["null_with_candidate"] == 1


def test_a_conversion_before_any_touch_fails(clean_journeys: Path, tmp_path: Path) -> None:
    data = copy_data(clean_journeys, tmp_path / "data")
    rewrite(data, "conversions", lambda t: changed(t, "converted_at", 2, lambda v: v - timedelta(days=400)))
    f = fails(data, journeys(), "attribution_window", "conversions", "converted_at")
    assert f.details["without_touch"] == 1


def test_credits_that_do_not_sum_to_one_fail(clean_journeys: Path, tmp_path: Path) -> None:
    data = copy_data(clean_journeys, tmp_path / "data")
    rewrite(data, "credit", lambda t: changed(t, "time_decay", 0, lambda v: v + 0.1))
    f = fails(data, journeys(), "attribution_credit", "credit", None)
    assert f.details["sum_not_one"] == 1


def test_a_missing_credit_row_fails(clean_journeys: Path, tmp_path: Path) -> None:
    data = copy_data(clean_journeys, tmp_path / "data")
    credit = read(data, "credit")
    conversions = credit.column("conversion_id").to_numpy()
    shared = int(np.flatnonzero(conversions[1:] == conversions[:-1])[0])  # a conversion with 2+ touches
    rewrite(data, "credit", lambda t: pa.concat_tables([t.slice(0, shared), t.slice(shared + 1)]))
    f = fails(data, journeys(), "attribution_credit", "credit", None)
    assert f.details["missing"] == 1


def test_conversions_that_ignore_a_channel_fail_the_lift_fit(tmp_path: Path) -> None:
    """Data made with a search lift of 1 does not show the declared lift of 3."""
    data = tmp_path / "data"
    write(journeys(search_lift=1.0), data)
    report = validated(journeys(), data)
    f = failed(report, "attribution_lift", "conversions", None)
    search = next(s for s in f.details["strata"] if s["stratum"] == "lift search")
    assert not search["ok"] and search["observed"] < 1.5


def test_the_lift_fit_recovers_the_declared_lifts(clean_journeys: Path) -> None:
    report = validated(journeys(), clean_journeys)
    lift = next(r for r in report.results if r.check == "attribution_lift")
    fitted = {s["stratum"]: s["observed"] for s in lift.details["strata"]}
    assert fitted["lift search"] == pytest.approx(3.0, rel=0.25)
    assert fitted["lift display"] == pytest.approx(0.7, rel=0.25)
    assert fitted["lift email"] == pytest.approx(1.0, rel=0.25)


def test_a_reference_sample_of_a_table_with_rollups_generates_its_children(tmp_path: Path) -> None:
    """The outliers check draws the column again without the spikes, from a copy of the schema pruned
    to what the table needs, which includes the children its rollups summarise."""
    doc = ledger()
    opening = doc["nodes"][2]["columns"][3]
    opening["modifiers"] = [{"transform": "outliers", "args": {"rate": 0.05, "mode": "spike"}}]
    data = tmp_path / "data"
    write(doc, data)
    report = validated(doc, data)
    outliers = [r for r in report.results if r.check == "outliers" and r.table == "accounts"]
    assert [r.status for r in outliers] == ["pass"], [r.message for r in outliers]


def test_a_mean_rollup_written_with_decimals_is_the_mean_as_written(tmp_path: Path) -> None:
    """The offline evaluation's miss: an average rating kept to one decimal (4.3 for 4.2667) failed
    its own rollup check; the check allows what `decimals` rounds away, and no more."""
    doc = document(
        {
            "id": "places",
            "kind": "entity",
            "pk": "place_id",
            "rows": 40,
            "columns": [
                seq("place_id"),
                col(
                    "avg_rating",
                    "float",
                    {"rollup": {"from": "reviews.rating", "agg": "mean"}},
                    decimals=1,
                    nullable=True,
                ),
            ],
        },
        {
            "id": "reviews",
            "kind": "fact",
            "pk": "review_id",
            "parents": ["places"],
            "fanout": {"distribution": "poisson", "lambda": 6},
            "columns": [
                seq("review_id"),
                col("place_id", "int", {"lookup": {"from": "places.place_id"}}),
                col("rating", "int", {"distribution": {"type": "uniform", "params": {"low": 1, "high": 5}}}),
            ],
        },
    )
    write(doc, tmp_path / "d")
    [check] = results(validated(doc, tmp_path / "d"), "rollup")
    assert check.passed, check.message
    rewrite(
        tmp_path / "d",
        "places",
        lambda t: set_column(
            t,
            "avg_rating",
            [round(v + 0.1, 1) if v is not None else None for v in t.column("avg_rating").to_pylist()],
        ),
    )
    [check] = results(validated(doc, tmp_path / "d"), "rollup")
    assert not check.passed


def staff() -> dict[str, Any]:
    """Employees whose manager is an earlier employee of the same department (a self-reference on a
    key); the first of each department has none."""
    employees = {
        "id": "employees",
        "kind": "entity",
        "pk": "employee_id",
        "rows": 400,
        "columns": [
            seq("employee_id"),
            col("dept", "string", {"choice": {"choices": ["ops", "eng", "sales"]}}),
            col(
                "manager_id",
                "int",
                {"lookup": {"from": "employees.employee_id", "on": {"dept": "dept"}, "pick": "random"}},
                nullable=True,
            ),
        ],
    }
    return document(employees)


def test_a_manager_who_comes_later_or_is_missing_fails(tmp_path: Path) -> None:
    """The picked row must share the key and come earlier; a row left without one while an earlier
    row of its department exists fails too."""
    clean = tmp_path / "clean"
    write(staff(), clean)
    (ok,) = results(validated(staff(), clean), "scoped_lookup")
    assert ok.status == "pass", ok.message
    employees = read(clean, "employees").to_pandas()
    later = employees[employees["manager_id"].notna()].index[0]  # a row with a manager
    dept = employees.loc[later, "dept"]
    last = employees[employees["dept"] == dept]["employee_id"].iloc[-1]  # same department, later
    data = copy_data(clean, tmp_path / "later")
    rewrite(data, "employees", lambda t: changed(t, "manager_id", int(later), lambda _: int(last)))
    f = fails(data, staff(), "scoped_lookup", "employees", "manager_id")
    assert f.details["outside"] == 1 and "earlier in the table" in f.message
    data = copy_data(clean, tmp_path / "missing")
    rewrite(data, "employees", lambda t: changed(t, "manager_id", int(later), lambda _: None))
    assert (
        fails(data, staff(), "scoped_lookup", "employees", "manager_id").details["null_with_candidate"] == 1
    )


def phone_calls() -> dict[str, Any]:
    """Calls born from subscribers, each to a random other subscriber; the callee's id comes before the
    caller's, and the caller's segment sets how many calls it makes."""
    subscribers = {
        "id": "subscribers",
        "kind": "entity",
        "pk": "subscriber_id",
        "rows": 600,
        "columns": [
            seq("subscriber_id"),
            col("plan", "string", {"choice": {"choices": ["heavy", "light"]}}),
        ],
        "segment_behavior": {"segment_column": "plan", "behaviors": {"heavy": {"fanout_multiplier": 3.0}}},
    }
    calls = {
        "id": "calls",
        "kind": "fact",
        "pk": "call_id",
        "parents": ["subscribers"],
        "fanout": {"distribution": "poisson", "lambda": 4},
        "columns": [
            seq("call_id"),
            col("callee_id", "int", {"lookup": {"from": "subscribers.subscriber_id", "pick": "random"}}),
            col("subscriber_id", "int", {"lookup": {"from": "subscribers.subscriber_id"}}),
        ],
    }
    return document(subscribers, calls)


def test_a_callee_who_is_the_caller_fails_and_the_caller_stays_the_parent(tmp_path: Path) -> None:
    """The callee is checked to be another subscriber; the caller's key, not the callee's, links a call
    to the subscriber it is born from (the segment's fanout is recovered through it)."""
    clean = tmp_path / "clean"
    write(phone_calls(), clean)
    report = validated(phone_calls(), clean)
    (pick,) = results(report, "scoped_lookup")
    (fanout,) = results(report, "segment_fanout")
    assert pick.status == "pass" and pick.column == "callee_id", pick.message
    assert "subscribers.subscriber_id <> calls.subscriber_id" in pick.message
    assert fanout.status == "pass", fanout.message
    data = copy_data(clean, tmp_path / "data")
    caller = read(data, "calls").column("subscriber_id")[3].as_py()
    rewrite(data, "calls", lambda t: changed(t, "callee_id", 3, lambda _: caller))
    f = fails(data, phone_calls(), "scoped_lookup", "calls", "callee_id")
    assert f.details["outside"] == 1 and f.examples[0]["subscriber_id"] == caller


# --- expressions --------------------------------------------------------------------------------------


def invoices() -> dict[str, Any]:
    """Stays whose derived columns are formulas: text joined from a choice and a zero-padded key, an int
    rounded from a float, money to cents, a formula blanked by its null rate — and two the check
    must leave alone (a modifier after the formula, a hidden input)."""
    stays = {
        "id": "stays",
        "kind": "entity",
        "pk": "stay_id",
        "rows": 3000,
        "columns": [
            seq("stay_id"),
            col("city", "string", {"choice": {"choices": ["Oslo", "Rome", "Lima"]}}),
            col(
                "nights",
                "int",
                {"distribution": {"type": "normal", "params": {"mean": 4, "std": 2}, "clamp": [1, 14]}},
                nullable=True,
                null_rate=0.1,
            ),
            col("rate", "float", {"distribution": {"type": "uniform", "params": {"low": 60, "high": 240}}}),
            col("label", "string", {"expression": {"code": "'Hotel ' + city + ' #' + zfill(stay_id, 5)"}}),
            col("points", "int", {"expression": {"code": "nights * 1.5"}}, nullable=True),
            col("total", "float", {"expression": {"code": "nights * rate"}}, nullable=True, decimals=2),
            col("note", "string", {"expression": {"code": "upper(city)"}}, nullable=True, null_rate=0.2),
            col(
                "with_tax", "float", {"expression": {"code": "rate"}}, modifiers=[mod("multiply", factor=1.2)]
            ),
            col("base", "float", {"expression": {"code": "rate / 2"}}, output=False),
            col("from_base", "float", {"expression": {"code": "base * 2"}}),
        ],
    }
    return document(stays)


@pytest.fixture(scope="module")
def clean_invoices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("invoices") / "data"
    write(invoices(), out)
    report = validated(invoices(), out)
    assert report.exit_code == 0 and not report.failures, [r.message for r in report.failures]
    return out


def test_formulas_are_recomputed_and_those_changed_after_are_left_alone_with_the_reason(
    clean_invoices: Path,
) -> None:
    by_column = {r.column: r for r in results(validated(invoices(), clean_invoices), "expression")}
    assert {c for c, r in by_column.items() if r.passed} == {"label", "points", "total", "note"}
    assert (
        by_column["label"].message
        == "all 3,000 rows equal the formula 'Hotel ' + city + ' #' + zfill(stay_id, 5)"
    )
    assert "its modifiers change the computed values" in by_column["with_tax"].message
    assert "it reads base, which the data does not hold" in by_column["from_base"].message
    labels = read(clean_invoices, "stays").column("label").to_pylist()
    assert labels[0].startswith("Hotel ") and labels[0].endswith(" #00001")


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("label", lambda v: v.replace("#", "No. ")),
        ("points", lambda v: v + 1),
        ("total", lambda v: round(v + 0.01, 2)),
        ("note", lambda v: v.lower()),
    ],
)
def test_a_value_that_is_not_its_formula_fails(
    clean_invoices: Path, tmp_path: Path, column: str, change
) -> None:
    data = copy_data(clean_invoices, tmp_path / "data")
    stays = read(data, "stays")
    at = next(i for i, v in enumerate(stays.column(column).to_pylist()) if v is not None)
    rewrite(data, "stays", lambda t: changed(t, column, at, change))
    f = fails(data, invoices(), "expression", "stays", column)
    assert f.details["differ"] == 1 and f.examples[0]["stay_id"] == at + 1


def test_a_null_where_the_formula_has_a_value_fails_unless_the_null_rate_blanked_it(
    clean_invoices: Path, tmp_path: Path
) -> None:
    data = copy_data(clean_invoices, tmp_path / "data")
    rewrite(
        data, "stays", lambda t: changed(changed(t, "label", 0, lambda _: None), "note", 0, lambda _: None)
    )
    report = validated(invoices(), data)
    failed(report, "expression", "stays", "label")
    assert [r.passed for r in results(report, "expression") if r.column == "note"] == [True]


def test_a_where_that_joins_text_reads_as_sql_concatenation() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 'x'), ('b', 'y'), (NULL, 'x')) v(code, kind)")
    condition = sql_condition("code + '-' + kind == 'a-x' or 'b-' + kind == 'b-y'", "t")
    assert condition is not None and "||" in condition
    assert con.execute(f"SELECT code FROM t WHERE {condition} ORDER BY code").fetchall() == [("a",), ("b",)]
