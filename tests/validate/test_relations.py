"""Relations between rows, recomputed from the data (validate/relations.py and the inequality check):
clean data passes every one, and each tampered relation — a claim outside its policy, a payment before
its claim, a reading duplicated, missing or before its sensor existed, a value on the timeframe's end, a
column gridded to the hour, an inequality broken two tables away — fails the check that owns it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.validate.helpers import (
    col,
    copy_data,
    document,
    failure,
    read,
    rewrite,
    seq,
    set_column,
    validated,
    write,
)

END = datetime(2024, 4, 1, tzinfo=UTC)


def times(name: str, **args: Any) -> dict[str, Any]:
    return col(name, "datetime", {"datetime_series": args})


def dist(name: str, kind: str, **params: float) -> dict[str, Any]:
    return col(name, "float", {"distribution": {"type": kind, "params": params}})


def within(start: str, end: str) -> dict[str, str]:
    return {"start": f"2024-{start}T00:00:00Z", "end": f"2024-{end}T00:00:00Z"}


def world() -> dict[str, Any]:
    policies = {
        "id": "policies", "kind": "entity", "pk": "policy_id", "rows": 300,
        "columns": [
            seq("policy_id"),
            times("start_at", within=within("01-01", "02-01")),
            col("end_at", "datetime", {"expression": {"code": "start_at + days(45)"}}),
            dist("coverage", "uniform", low=500, high=900),
        ],
    }  # fmt: skip
    claims = {
        "id": "claims", "kind": "fact", "pk": "claim_id", "parents": ["policies"],
        "fanout": {"distribution": "poisson", "lambda": 3},
        "columns": [
            seq("claim_id"),
            col("policy_id", "int", {"lookup": {"from": "policies.policy_id"}}),
            times("claimed_at", within={"start": "policies.start_at", "end": "policies.end_at"}),
            col("approved", "bool", {"choice": {"choices": [True, False]}}),
        ],
    }  # fmt: skip
    payments = {
        "id": "payments", "kind": "fact", "pk": "payment_id", "parents": ["claims"],
        "fanout": {"count": 1, "where": "approved"},
        "columns": [
            seq("payment_id"),
            col("claim_id", "int", {"lookup": {"from": "claims.claim_id"}}),
            times("paid_at"),
            dist("amount", "lognormal", mean=6, sigma=1),
        ],
    }  # fmt: skip
    sensors = {
        "id": "sensors", "kind": "entity", "pk": "sensor_id", "rows": 6,
        "columns": [seq("sensor_id"), times("installed_at", within=within("01-01", "03-20"))],
    }  # fmt: skip
    readings = {
        "id": "readings", "kind": "fact", "pk": "reading_id", "parents": ["sensors"],
        "fanout": {"every": "h"},
        "columns": [
            seq("reading_id"),
            col("sensor_id", "int", {"lookup": {"from": "sensors.sensor_id"}}),
            times("read_at", slot=True),
        ],
    }  # fmt: skip
    doc = document(
        policies,
        claims,
        payments,
        sensors,
        readings,
        constraints={"inequalities": [{"left": "payments.amount", "op": "<=", "right": "policies.coverage"}]},
    )
    doc["timeframe"] = {"start": "2024-01-01T00:00:00Z", "end": END.isoformat().replace("+00:00", "Z")}
    return doc


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "data"
    write(world(), out)
    report = validated(world(), out)
    assert report.exit_code == 0 and not report.failures, [r.message for r in report.failures]
    checks = {(r.check, r.table) for r in report.results if r.status == "pass"}
    assert {
        ("window", "claims"),
        ("chain_order", "payments"),
        ("regular_series", "readings"),
        ("window_end", "claims"),
        ("grid_alignment", "claims"),
        ("inequality", "payments"),
    } <= checks
    return out


@pytest.fixture
def data(clean: Path, tmp_path: Path) -> Path:
    return copy_data(clean, tmp_path / "data")


def fails(data: Path, check: str, table: str, column: str, *, hard: bool = True) -> dict[str, Any]:
    report = validated(world(), data)
    assert report.exit_code == (1 if hard else 0)
    found = failure(report, check, table, column)
    assert found["hard"] is hard
    return found


def replace(data: Path, table: str, column: str, change: Any) -> None:
    def edit(t: pa.Table) -> pa.Table:
        values = t.column(column).to_pylist()
        change(values, t)
        return set_column(t, column, values)

    rewrite(data, table, edit)


def test_a_claim_moved_before_its_policy_starts_fails_the_window(data: Path) -> None:
    starts = dict(
        zip(*(read(data, "policies").column(c).to_pylist() for c in ("policy_id", "start_at")), strict=True)
    )

    def early(values: list, t: pa.Table) -> None:
        values[0] = starts[t.column("policy_id")[0].as_py()] - timedelta(seconds=1)

    replace(data, "claims", "claimed_at", early)
    f = fails(data, "window", "claims", "claimed_at")
    assert f["message"].startswith("1 of ") and "policies.start_at" in f["message"]
    assert [e["claim_id"] for e in f["examples"]] == [1]


def test_a_claim_on_its_policys_end_fails_the_window_the_end_is_exclusive(data: Path) -> None:
    ends = dict(
        zip(*(read(data, "policies").column(c).to_pylist() for c in ("policy_id", "end_at")), strict=True)
    )

    def on_end(values: list, t: pa.Table) -> None:
        values[3] = ends[t.column("policy_id")[3].as_py()]

    replace(data, "claims", "claimed_at", on_end)
    assert fails(data, "window", "claims", "claimed_at")["examples"][0]["claim_id"] == 4


def test_a_payment_before_its_claim_fails_the_chain_order(data: Path) -> None:
    claimed = dict(
        zip(*(read(data, "claims").column(c).to_pylist() for c in ("claim_id", "claimed_at")), strict=True)
    )

    def before(values: list, t: pa.Table) -> None:
        values[2] = claimed[t.column("claim_id")[2].as_py()] - timedelta(hours=1)

    replace(data, "payments", "paid_at", before)
    f = fails(data, "chain_order", "payments", "paid_at")
    assert "happen before their parent" in f["message"]


def test_a_duplicated_reading_fails_the_regular_series(data: Path) -> None:
    def duplicate(t: pa.Table) -> pa.Table:
        ids = t.column("reading_id").to_pylist()
        doubled = pa.concat_tables([t, t.slice(10, 1)])
        return set_column(doubled, "reading_id", [*ids, len(ids) + 1])

    rewrite(data, "readings", duplicate)
    f = fails(data, "regular_series", "readings", "read_at")
    assert "1 periods without exactly 1 row(s)" in f["message"]


def test_a_missing_reading_is_a_gap(data: Path) -> None:
    rewrite(data, "readings", lambda t: pa.concat_tables([t.slice(0, 20), t.slice(21)]))
    f = fails(data, "regular_series", "readings", "read_at")
    assert "1 periods of a parent's life have no row (gaps)" in f["message"]


def test_a_reading_before_its_sensor_was_installed_is_outside_its_life(data: Path) -> None:
    installed = dict(
        zip(
            *(read(data, "sensors").column(c).to_pylist() for c in ("sensor_id", "installed_at")), strict=True
        )
    )

    def early(values: list, t: pa.Table) -> None:
        values[0] = installed[t.column("sensor_id")[0].as_py()] - timedelta(hours=3)

    replace(data, "readings", "read_at", early)
    f = fails(data, "regular_series", "readings", "read_at")
    assert "outside the parent's life" in f["message"]


def test_a_value_on_the_timeframes_end_fails(data: Path) -> None:
    def on_end(values: list, t: pa.Table) -> None:
        values[0] = END

    replace(data, "payments", "paid_at", on_end)
    f = fails(data, "window_end", "payments", "paid_at")
    assert f["message"].startswith("1 of ")


def test_times_gridded_to_the_hour_are_a_warning(data: Path) -> None:
    def floor(values: list, t: pa.Table) -> None:
        values[:] = [v.replace(minute=0, second=0, microsecond=0) for v in values]

    replace(data, "claims", "claimed_at", floor)
    report = validated(world(), data)
    f = failure(report, "grid_alignment", "claims", "claimed_at")
    assert f["hard"] is False and "100.0% of" in f["message"]


def test_an_inequality_two_tables_away_is_joined_along_its_path(data: Path) -> None:
    def too_much(values: list, t: pa.Table) -> None:
        values[1] = 10_000.0

    replace(data, "payments", "amount", too_much)
    f = fails(data, "inequality", "payments", "amount")
    assert "joined on payments.claim_id → claims.policy_id → policies" in f["message"]
    assert [e["payments.payment_id"] for e in f["examples"]] == [2]


# --- a regular series that follows its parent's state (active_in) ---------------------------------------


def pumps() -> dict[str, Any]:
    """Pumps read once a day while running, never while stopped or after they broke."""
    units = {
        "id": "pumps", "kind": "entity", "pk": "pump_id", "rows": 40,
        "columns": [seq("pump_id"), times("installed_at", within=within("01-01", "02-01"))],
    }  # fmt: skip
    modes = {
        "id": "modes", "kind": "fact", "pk": "mode_id", "parents": ["pumps"],
        "state_transition_model": {
            "initial_state": "running", "period_unit": "week",
            "states": {
                "running": {"transition_prob_per_period": 0.3,
                            "next_states": {"stopped": 0.8, "broken": 0.2}},
                "stopped": {"duration": {"distribution": "exponential", "mean": 1},
                            "next_states": {"running": 1}},
                "broken": {"terminal": True},
            },
        },
        "columns": [
            seq("mode_id"),
            col("pump_id", "int", {"lookup": {"from": "pumps.pump_id"}}),
            col("state", "string", {"choice": {"choices": ["running"]}}),
            times("changed_at"),
        ],
    }  # fmt: skip
    readings = {
        "id": "readings", "kind": "fact", "pk": "reading_id", "parents": ["pumps"],
        "fanout": {"every": "D"}, "active_in": {"walk": "modes", "states": {"running": 1.0}},
        "columns": [
            seq("reading_id"),
            col("pump_id", "int", {"lookup": {"from": "pumps.pump_id"}}),
            times("read_at", slot=True),
        ],
    }  # fmt: skip
    doc = document(units, modes, readings)
    doc["timeframe"] = {"start": "2024-01-01T00:00:00Z", "end": END.isoformat().replace("+00:00", "Z")}
    return doc


@pytest.fixture(scope="module")
def clean_pumps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pumps") / "data"
    write(pumps(), out)
    report = validated(pumps(), out)
    assert report.exit_code == 0 and not report.failures, [r.message for r in report.failures]
    passed = {(r.check, r.table) for r in report.results if r.status == "pass"}
    assert {("regular_series", "readings"), ("rows", "readings"), ("active_in", "readings")} <= passed
    return out


def test_a_missing_reading_while_running_is_a_gap(clean_pumps: Path, tmp_path: Path) -> None:
    data = copy_data(clean_pumps, tmp_path / "data")
    rewrite(data, "readings", lambda t: pa.concat_tables([t.slice(0, 20), t.slice(21)]))
    f = failure(validated(pumps(), data), "regular_series", "readings", "read_at")
    assert "1 periods of a parent's life have no row (gaps)" in f["message"]


def test_a_reading_while_stopped_is_outside_the_states_that_count(clean_pumps: Path, tmp_path: Path) -> None:
    data = copy_data(clean_pumps, tmp_path / "data")
    modes = read(data, "modes").to_pandas().sort_values(["pump_id", "changed_at"])
    modes["day"] = modes["changed_at"].dt.ceil("D")  # the first day that starts in the state
    ends = modes.groupby("pump_id")["changed_at"].shift(-1)
    stop = modes[(modes["state"] == "stopped") & (ends > modes["day"])].iloc[0]
    day = stop["day"]

    def while_stopped(values: list, t: pa.Table) -> None:
        row = t.column("pump_id").to_pylist().index(stop["pump_id"])
        values[row] = day.to_pydatetime()

    replace(data, "readings", "read_at", while_stopped)
    report = validated(pumps(), data)
    assert (
        "outside the parent's life or in a state of weight 0"
        in failure(report, "regular_series", "readings", "read_at")["message"]
    )
    assert failure(report, "active_in", "readings", None)["hard"]


def test_the_row_count_follows_the_periods_in_states_that_count(clean_pumps: Path, tmp_path: Path) -> None:
    data = copy_data(clean_pumps, tmp_path / "data")
    rows = next(r for r in validated(pumps(), data).results if (r.check, r.table) == ("rows", "readings"))
    assert rows.details["sd"] == 0  # one a day while running: the count is exact
    rewrite(data, "readings", lambda t: t.slice(0, t.num_rows - 3))
    assert failure(validated(pumps(), data), "rows", "readings", None)
