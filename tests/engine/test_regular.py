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
