"""Regular series (docs/schema-language.md §10.5): `fanout.every` gives each parent one child per period
of its life inside the timeframe — no duplicate, no gap, nothing before the parent existed — with the
time at the period's start (`slot`) or a continuous instant inside it; a count per period; calendar
periods; a Poisson number per period; `time_jitter` that keeps a row on its own period."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.engine.conftest import assert_near, col, entity, fact, generate, schema, times, values

MONTH = {"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
HOUR_US = 3_600_000_000


def series(fanout: dict, time: dict, *, parents: int = 12, installed: dict | None = None) -> dict:
    parent_columns = [installed or times("installed", within={"start": "2024-02-01", "end": "2024-03-20"})]
    child = fact("r", ["s"], [time], fanout=fanout)
    return schema(entity("s", parent_columns, rows=parents), child, timeframe=MONTH)


def periods(tables: dict, freq: str) -> pd.DataFrame:
    """Each reading's parent, time and period start (floor), with the parent's installation time."""
    r = pd.DataFrame({"s": values(tables["r"], "s_id"), "t": pd.DatetimeIndex(values(tables["r"], "at"))})
    r["installed"] = pd.DatetimeIndex(values(tables["s"], "installed"))[r["s"] - 1]
    r["period"] = r["t"].dt.floor(freq)
    return r


def expected_slots(installed: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    first = max(installed.ceil(freq), pd.Timestamp("2024-03-01"))
    return pd.date_range(first, pd.Timestamp("2024-04-01"), freq=freq, inclusive="left")


def test_one_reading_per_slot_of_each_life_no_duplicate_no_gap() -> None:
    t = generate(series({"every": "10min"}, times("at", slot=True)))
    r = periods(t, "10min")
    assert (r["t"] == r["period"]).all()  # a slot is the period's start
    assert not r.duplicated(["s", "t"]).any()
    for s, group in r.groupby("s"):
        want = expected_slots(group["installed"].iloc[0], "10min")
        assert group["t"].sort_values().tolist() == list(want), f"sensor {s}"


def test_a_continuous_time_lies_inside_its_period_and_after_the_parent() -> None:
    t = generate(series({"every": "h"}, times("at")))
    r = periods(t, "h")
    assert not r.duplicated(["s", "period"]).any() and (r["t"] >= r["installed"]).all()
    within = (r["t"] - r["period"]).dt.total_seconds().to_numpy()
    assert within.min() >= 0 and within.max() < 3600
    assert_near(within.mean(), 1800, 3600 / math.sqrt(12 * len(within)))


def test_a_count_per_period() -> None:
    t = generate(series({"every": "D", "count": 3}, times("at", slot=True)))
    per = periods(t, "D").groupby(["s", "period"]).size()
    assert (per == 3).all()


OLD = {"start": "2023-01-01", "end": "2024-01-01"}  # every sensor installed before March


@pytest.mark.parametrize("every", ["MS", "W-MON"])
def test_calendar_periods_start_where_the_calendar_says(every: str) -> None:
    t = generate(series({"every": every}, times("at", slot=True), installed=times("installed", within=OLD)))
    at = pd.DatetimeIndex(values(t["r"], "at"))
    assert (at.normalize() == at).all()
    if every == "MS":
        assert at.is_month_start.all() and len(at) == 12  # March 1st for each sensor
    else:
        assert (at.day_of_week == 0).all() and len(at) == 12 * 4  # the Mondays of March 2024: 4, 11, 18, 25


def test_a_poisson_number_per_period() -> None:
    lam, parents = 2.0, 40
    doc = series({"every": "D", "distribution": "poisson", "lambda": lam}, times("at"), parents=parents)
    doc["nodes"][0]["columns"][1] = times("installed", within=OLD)
    r = periods(generate(doc), "D")
    days = 31 * parents
    assert_near(len(r), lam * days, math.sqrt(lam * days))
    per = (
        r.groupby(["s", "period"])
        .size()
        .reindex(
            pd.MultiIndex.from_product([range(1, parents + 1), pd.date_range("2024-03-01", periods=31)]),
            fill_value=0,
        )
    )
    assert_near(per.var(), lam, lam * math.sqrt(2 / days) * 2)  # Poisson: variance = mean


def test_time_jitter_moves_a_reading_off_its_slot_but_never_onto_another() -> None:
    jittered = times("at", slot=True)
    jittered["modifiers"] = [{"transform": "time_jitter", "args": {"std_minutes": 2}}]
    r = periods(generate(series({"every": "10min"}, jittered)), "10min")
    nearest = r["t"].dt.round("10min")
    assert (r["t"] != nearest).mean() > 0.99 and not r.assign(n=nearest).duplicated(["s", "n"]).any()
    assert (r["t"] >= r["installed"]).all()
    offset = (r["t"] - nearest).dt.total_seconds()
    assert offset.abs().max() < 300 and abs(offset.std() - 120) < 10


def test_where_keeps_a_regular_series_to_the_parents_it_names() -> None:
    doc = series({"every": "D", "where": "kind == 'meter'"}, times("at", slot=True))
    doc["nodes"][0]["columns"].append(col("kind", "string", {"choice": {"choices": ["meter", "valve"]}}))
    t = generate(doc)
    kinds = values(t["s"], "kind")
    readers = set(values(t["r"], "s_id").tolist())
    assert readers == {i + 1 for i, k in enumerate(kinds) if k == "meter"} and readers


# --- a regular series whose rate follows its parent's walk (active_in, §10.3) -------------------------

TWO_YEARS = {"start": "2023-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
LOAN_STATES = {
    "initial_state": "current",
    "period_unit": "month",
    "states": {
        "current": {"transition_prob_per_period": 0.12, "next_states": {"late": 0.8, "paid_off": 0.2}},
        "late": {"duration": {"distribution": "lognormal", "mean": 3.0}, "next_states": {"current": 1.0}},
        "paid_off": {"terminal": True},
    },
}


def loans(fanout: dict, time: dict, weights: dict[str, float], rows: int = 400) -> dict:
    """Loans (a fact of customers) walk their states; repayments come per period while the loan's state
    weighs more than 0 — the child of a fact whose own walk drives it."""
    customers = entity("c", [], rows=rows)
    loan = fact(
        "l",
        ["c"],
        [times("disbursed_at", within={"start": "2023-01-01", "end": "2024-01-01"})],
        fanout={"distribution": "constant", "count": 1},
    )
    walk = fact("w", ["l"], [col("state", "string", {"choice": {"choices": ["x"]}}), times("at")])
    walk["state_transition_model"] = LOAN_STATES
    repayments = fact("r", ["l"], [time], fanout=fanout, active_in={"walk": "w", "states": weights})
    return schema(customers, loan, walk, repayments, timeframe=TWO_YEARS)


def state_then(t: dict, at: pd.Series, parents: pd.Series) -> pd.Series:
    """The state each loan's walk is in at each time (None before it starts), read from the walk table."""
    w = pd.DataFrame(
        {"l": values(t["w"], "l_id"), "at": values(t["w"], "at"), "state": values(t["w"], "state")}
    )
    q = pd.DataFrame({"l": parents.to_numpy(), "t": at.to_numpy(), "i": range(len(at))})
    m = pd.merge_asof(q.sort_values("t"), w.sort_values("at"), left_on="t", right_on="at", by="l")
    return m.sort_values("i")["state"].reset_index(drop=True)


def test_a_regular_series_counts_each_period_at_its_parents_state() -> None:
    """One repayment per month while current, one month in two while late (evenly spread: never two
    in a month), none after the loan is paid off."""
    t = generate(loans({"every": "MS"}, times("due_at", slot=True), {"current": 1.0, "late": 0.5}))
    r = pd.DataFrame({"l": values(t["r"], "l_id"), "t": pd.DatetimeIndex(values(t["r"], "due_at"))})
    assert (
        not r.duplicated().any() and (r["t"] == r["t"].dt.floor("D")).all() and r["t"].dt.is_month_start.all()
    )
    disbursed = pd.Series(values(t["l"], "disbursed_at"), index=values(t["l"], "id"))
    months = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    grid = pd.DataFrame(
        [(loan, m) for loan, d in disbursed.items() for m in months if m >= d], columns=["l", "t"]
    )
    grid["state"] = state_then(t, grid["t"], grid["l"])
    got = grid.merge(r.assign(k=1), on=["l", "t"], how="left")["k"].fillna(0)
    assert set(grid.loc[got > 0, "state"]) == {"current", "late"}
    assert (got[grid["state"] == "current"] == 1).all()  # no gap while current
    late = got[grid["state"] == "late"]
    assert len(late) > 1000
    assert_near(late.mean(), 0.5, math.sqrt(0.25 / len(late)))


def test_a_poisson_series_places_its_rows_in_states_by_weight() -> None:
    """A Poisson count per day at the state's weight, each row at an instant inside a state that
    weighs more than 0: rows per day in each state over the days the loans spent there."""
    doc = loans(
        {"every": "D", "distribution": "poisson", "lambda": 1}, times("paid_at"), {"current": 1, "late": 0.25}
    )
    t = generate(doc)
    r = pd.DataFrame({"l": values(t["r"], "l_id"), "t": pd.DatetimeIndex(values(t["r"], "paid_at"))})
    r["state"] = state_then(t, r["t"], r["l"])
    assert set(r["state"]) == {"current", "late"}
    w = pd.DataFrame(
        {"l": values(t["w"], "l_id"), "at": values(t["w"], "at"), "state": values(t["w"], "state")}
    )
    w = w.sort_values(["l", "at"])
    w["left"] = w.groupby("l")["at"].shift(-1).fillna(pd.Timestamp("2025-01-01"))
    days = ((w["left"] - w["at"]) / pd.Timedelta(days=1)).groupby(w["state"]).sum()
    rate = r["state"].value_counts() / days[["current", "late"]]
    assert_near(rate["current"], 1.0, math.sqrt(1 / days["current"]))
    assert_near(rate["late"] / rate["current"], 0.25, math.sqrt(0.25 / days["late"]) * 1.2)


def test_a_jitter_keeps_a_row_inside_the_state_its_period_started_in() -> None:
    jittered = times("due_at", slot=True)
    jittered["modifiers"] = [{"transform": "time_jitter", "args": {"std_minutes": 600}}]
    t = generate(loans({"every": "D"}, jittered, {"current": 1.0}, rows=100))
    r = pd.DataFrame({"l": values(t["r"], "l_id"), "t": pd.DatetimeIndex(values(t["r"], "due_at"))})
    assert (r["t"] != r["t"].dt.round("D")).mean() > 0.9  # jittered
    assert set(state_then(t, r["t"], r["l"])) == {"current"}
