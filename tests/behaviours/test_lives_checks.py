"""The checks of lifetimes, activity, states and adoption curves (datagen/validate/recovery/lives.py,
activity.py, diffusion.py): clean data passes; a tampered dataset, or a schema declaring what the data
does not show, fails the check that reads it — hard where the schema's structure is broken."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datagen.dsl import check
from datagen.validate.recovery import recover_all
from datagen.validate.recovery.common import Recovered, Skipped
from tests.behaviours.helpers import checked, connection, example
from tests.engine.conftest import col, entity, expr, fact, schema, times
from tests.validate.helpers import read, rewrite, set_column, validated, write

TF = {"start": "2023-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "freq": "h"}


def _findings(doc: dict, declared: dict | None = None) -> list:
    con, _ = connection(doc)
    return recover_all(con, checked(declared or doc))


def _bad(findings: list, behaviour: str) -> list[Recovered]:
    return [f for f in findings if isinstance(f, Recovered) and f.behaviour == behaviour and not f.ok()]


def _node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def _hard(report, check: str) -> list:
    return [r for r in report.failures if r.check == check and r.hard]


def test_a_child_moved_past_its_parents_end_fails_the_hard_check(tmp_path: Path) -> None:
    doc = example("cohort_retention", users=800)
    data = tmp_path / "data"
    write(doc, data)
    assert not [r for r in validated(doc, data).failures if r.hard]

    def late(t: pa.Table) -> pa.Table:  # one session, one day after its user's account was deleted
        users = read(data, "users").to_pandas().set_index("user_id")
        gone = users["deleted_at"].dropna()
        s = t.to_pandas()
        row = s.index[s["user_id"].isin(gone.index)][0]
        s.loc[row, "started_at"] = gone[s.loc[row, "user_id"]] + np.timedelta64(1, "D")
        return set_column(t, "started_at", s["started_at"].to_numpy(), t.schema.field("started_at").type)

    rewrite(data, "sessions", late)
    report = validated(doc, data)
    broken = _hard(report, "lifetime")
    assert broken and "1 of" in broken[0].message and report.exit_code == 1


def test_a_grandchild_outside_the_life_fails_too(tmp_path: Path) -> None:
    users = entity(
        "u",
        [
            times("signup_at", within={"start": "2023-01-01", "end": "2024-01-01"}),
            col("left_at", "datetime", {"datetime_series": {}}, nullable=True),
        ],
        400,
        lifetime={
            "start": "signup_at",
            "end": {
                "column": "left_at",
                "share": 0.8,
                "after": {"distribution": {"type": "exponential", "params": {"scale": 60}}},
            },
        },
    )
    sessions = fact("s", ["u"], [times("at")], fanout={"distribution": "poisson", "lambda": 20})
    clicks = fact("c", ["s"], [times("clicked_at")], fanout={"distribution": "poisson", "lambda": 2})
    doc = schema(users, sessions, clicks, timeframe=TF)
    data = tmp_path / "data"
    write(doc, data)
    assert not _hard(validated(doc, data), "lifetime")
    rewrite(
        data,
        "c",
        lambda t: set_column(
            t,
            "clicked_at",
            pc.add(t.column("clicked_at"), pa.scalar(400 * 86_400_000_000, pa.duration("us"))),
        ),
    )
    assert any(r.table == "c" for r in _hard(validated(doc, data), "lifetime"))


def test_the_drawn_times_are_held_inside_the_life(tmp_path: Path) -> None:
    """Rent falls due inside the lease (drawn), and is paid up to a month later (computed, so it may
    follow the end); a hidden copy of the due date is not in the data. Only the drawn time is held to
    the life; moving it out still fails."""
    leases = entity(
        "u",
        [
            times("signup_at", within={"start": "2023-01-01", "end": "2024-01-01"}),
            col("left_at", "datetime", {"datetime_series": {}}, nullable=True),
        ],
        300,
        lifetime={
            "start": "signup_at",
            "end": {
                "column": "left_at",
                "share": 0.9,
                "after": {"distribution": {"type": "exponential", "params": {"scale": 90}}},
            },
        },
    )
    delay = col("delay", "float", {"distribution": {"type": "uniform", "params": {"low": 0, "high": 30}}})
    payments = fact(
        "p",
        ["u"],
        [
            times("due_at"),
            col("due_copy", "datetime", {"expression": {"code": "due_at"}}, output=False),
            delay,
            expr("paid_at", "due_copy + days(delay)", type_="datetime"),
        ],
        fanout={"distribution": "poisson", "lambda": 24},
    )
    doc = schema(leases, payments, timeframe=TF)
    data = tmp_path / "data"
    write(doc, data)
    p = read(data, "p").to_pandas().merge(read(data, "u").to_pandas(), left_on="u_id", right_on="id")
    assert (p["paid_at"] >= p["left_at"]).sum() > 10  # paid after the lease ended
    life = [r for r in validated(doc, data).results if r.check == "lifetime" and r.table == "p"]
    assert [r.status for r in life] == ["pass"] and life[0].hard
    rewrite(
        data,
        "p",
        lambda t: set_column(
            t, "due_at", pc.add(t.column("due_at"), pa.scalar(400 * 86_400_000_000, pa.duration("us")))
        ),
    )
    assert any(r.table == "p" for r in _hard(validated(doc, data), "lifetime"))


def test_a_state_at_value_that_is_not_the_walks_state_fails(tmp_path: Path) -> None:
    doc = example("subscriptions", subscribers=600)
    doc["nodes"][2]["fanout"]["lambda"] = 10
    data = tmp_path / "data"
    write(doc, data)

    def swap(t: pa.Table) -> pa.Table:
        status = t.column("status").to_pylist()
        status[0] = "paused" if status[0] != "paused" else "active"
        return set_column(t, "status", status, pa.string())

    rewrite(data, "subscribers", swap)
    broken = _hard(validated(doc, data), "state_at")
    assert broken and broken[0].table == "subscribers" and "1 of 600" in broken[0].message


def _loans_with_their_walk(status: dict) -> dict:
    """Loans (a fact of customers) owning a walk `w` whose time is not its first datetime column."""
    loans = fact("l", ["c"], [times("disbursed_at"), status], fanout={"distribution": "constant", "count": 1})
    walk = fact(
        "w",
        ["l"],
        [times("logged_at"), col("state", "string", {"choice": {"choices": ["x"]}}), times("changed_at")],
        state_transition_model={
            "initial_state": "current",
            "period_unit": "month",
            "states": {
                "current": {"transition_prob_per_period": 0.2, "next_states": {"late": 0.6, "paid": 0.4}},
                "late": {
                    "duration": {"distribution": "exponential", "mean": 1},
                    "next_states": {"current": 1},
                },
                "paid": {"terminal": True},
            },
            "columns": {"state": "state", "previous_state": None, "time": "changed_at"},
        },
    )
    return schema(entity("c", [], 300), loans, walk, timeframe=TF)


def test_state_at_on_the_walks_own_fact_reads_as_the_rollup_of_its_last_state(tmp_path: Path) -> None:
    """A loan's latest status, written as state_at on the loans fact itself (its walk runs per block of
    loans, so the fact cannot read it while its rows are made), is read as the rollup of the walk's last
    state, ordered by the walk's own time even when that is not the walk table's first datetime column;
    a note names the rewrite, and the data holds each loan's last state and validates."""
    doc = _loans_with_their_walk(col("status", "string", {"state_at": {"walk": "w"}}))
    result = check(copy.deepcopy(doc))
    assert result.ok, [i.message for i in result.errors]
    rollup = {"rollup": {"from": "w.state", "agg": "last", "order_by": "changed_at"}}
    [note] = [i for i in result.notes if i.code == "state_at_as_rollup"]
    assert note.path == "nodes[1].columns[3].generator.state_at"
    assert json.dumps(rollup) in note.message
    status = result.schema.node("l").column("status")
    assert status.generator.model_dump(by_alias=True, exclude_none=True) == rollup
    data = tmp_path / "data"
    write(doc, data)
    metadata = json.loads((data / ".metadata.json").read_text())
    assert "state_at_as_rollup" in [n["code"] for n in metadata["normalised"]]
    assert not [r.message for r in validated(doc, data).failures if r.hard]
    w = read(data, "w").to_pandas().sort_values(["l_id", "changed_at", "id"])
    last = w.groupby("l_id")["state"].last()
    held = read(data, "l").to_pandas().set_index("id")["status"]
    assert held.notna().all() and held.nunique() > 1
    assert (held == last.reindex(held.index)).all()


def test_state_at_at_a_time_on_the_walks_own_fact_is_refused() -> None:
    """At a time of its own row, the fact that owns the walk still cannot read it (the state at another
    time is read on a fact born from it); the refusal names the rollup for the latest state."""
    doc = _loans_with_their_walk(col("status", "string", {"state_at": {"walk": "w", "at": "disbursed_at"}}))
    result = check(doc)
    assert [i.code for i in result.errors] == ["state_at_on_fact"]
    assert not [i for i in result.notes if i.code == "state_at_as_rollup"]
    assert (
        '{"rollup": {"from": "w.state", "agg": "last", "order_by": "changed_at"}}, or read the state at a '
        "time on a fact born from 'l'" in result.errors[0].message
    )


def test_an_end_that_is_not_when_the_walk_ended_fails(tmp_path: Path) -> None:
    doc = example("subscriptions", subscribers=600)
    doc["nodes"][2]["fanout"]["lambda"] = 10
    data = tmp_path / "data"
    write(doc, data)
    rewrite(
        data,
        "subscribers",
        lambda t: set_column(
            t, "cancelled_at", pc.fill_null(t.column("cancelled_at"), t.column("signed_up_at"))
        ),
    )
    broken = _hard(validated(doc, data), "lifetime")
    assert broken and any("cancelled_at is not when the walk ended" in r.message for r in broken)


def test_exact_checks_are_named_by_what_they_check(tmp_path: Path) -> None:
    """Only a walk's own structure is "walk bookkeeping"; the hard checks of lives, state_at and
    active_in say what they hold."""
    doc = example("subscriptions", subscribers=400)
    data = tmp_path / "data"
    write(doc, data)
    hard = {
        (r.check, r.table, r.message.split(":")[0])
        for r in validated(doc, data).results
        if r.hard and r.check in ("lifetime", "state_at", "active_in", "state")
    }
    assert hard == {
        ("lifetime", "subscription_events", "children inside the life"),
        ("lifetime", "plays", "children inside the life"),
        ("lifetime", "subscribers", "end of life from the walk"),
        ("state_at", "subscribers", "state_at reads the walk"),
        ("state_at", "plays", "state_at reads the walk"),
        ("active_in", "plays", "no child in a state of weight 0"),
        ("state", "subscription_events", "walk bookkeeping"),
    }


def _lifetime_doc(scale: float, shape: float = 1.0, share: float = 0.5) -> dict:
    after = {"distribution": {"type": "weibull", "params": {"shape": shape, "scale": scale}}, "unit": "day"}
    users = entity(
        "u",
        [
            times("signup_at", within={"start": "2023-01-01", "end": "2024-07-01"}),
            col("left_at", "datetime", {"datetime_series": {}}, nullable=True),
        ],
        3000,
        lifetime={"start": "signup_at", "end": {"column": "left_at", "share": share, "after": after}},
    )
    return schema(users, timeframe=TF)


def test_the_share_that_ended_and_the_lifetimes_are_read_back() -> None:
    doc = _lifetime_doc(150)
    clean = _findings(doc)
    assert not _bad(clean, "lifetime")
    assert {
        f.subject.split(":")[0] for f in clean if isinstance(f, Recovered) and f.behaviour == "lifetime"
    } == {
        "share of rows that ended by the timeframe end",
        "lifetimes of the rows that ended",
    }
    longer = _bad(_findings(doc, _lifetime_doc(300)), "lifetime")  # declared twice as long
    assert any(f.subject.startswith("lifetimes") for f in longer)
    fewer = _bad(_findings(doc, _lifetime_doc(150, share=0.35)), "lifetime")
    assert any(f.subject.startswith("share") for f in fewer)


def _clamped_doc(clamp: list[float] | None) -> dict:
    doc = _lifetime_doc(200)
    after = doc["nodes"][0]["lifetime"]["end"]["after"]
    after["distribution"] = {"type": "exponential", "params": {"scale": 200}}
    if clamp:
        after["distribution"]["clamp"] = clamp
    return doc


def test_a_clamped_duration_is_read_as_truncated() -> None:
    """Lives drawn inside a clamp pass against it; read against the unclamped distribution they fail,
    and so do lives clipped to the clamp (a pile on its lower bound), as a clipping engine would write."""
    clamped, plain = _clamped_doc([30, 365]), _clamped_doc(None)
    assert not _bad(_findings(clamped), "lifetime")
    assert any(f.subject.startswith("lifetimes") for f in _bad(_findings(clamped, plain), "lifetime"))
    con, _ = connection(plain)
    u = con.table("u").df()
    lived = u["left_at"] - u["signup_at"]
    ends = u["signup_at"] + lived.clip(pd.Timedelta(days=30), pd.Timedelta(days=365))
    u["left_at"] = ends.where(ends < pd.Timestamp(TF["end"]))
    con.unregister("u")
    con.register("u", u)
    clipped = _bad(recover_all(con, checked(clamped)), "lifetime")
    assert "lifetimes of the rows that ended" in [f.subject.split(":")[0] for f in clipped]


def test_activity_that_the_data_does_not_show_fails() -> None:
    users = entity("u", [times("signup_at", within={"start": "2023-01-01", "end": "2023-07-01"})], 2000)
    sessions = fact("s", ["u"], [times("at")], fanout={"distribution": "poisson", "lambda": 60})
    plain = schema(users, sessions, timeframe=TF)
    declared = copy.deepcopy(plain)
    declared["nodes"][0]["activity"] = {
        "distribution": {"type": "gamma", "params": {"shape": 1.5, "scale": 1}}
    }
    assert not _bad(_findings(declared), "activity")  # generated with activity: as declared
    wrong = _bad(_findings(plain, declared), "activity")  # everyone alike: no spread, no persistence
    assert {f.subject.split(" ")[0] for f in wrong} == {"variance", "correlation"}


def test_rates_by_state_the_data_does_not_show_fail() -> None:
    doc = example("subscriptions", subscribers=2000)
    findings = _findings(doc)
    assert not _bad(findings, "active_in")
    declared = copy.deepcopy(doc)
    _node(declared, "plays")["active_in"]["states"]["paused"] = 0.5  # the data has none while paused
    assert not _bad(_findings(doc, declared), "active_in")  # (its rate ratio needs children to read)
    generated = copy.deepcopy(doc)
    _node(generated, "plays")["active_in"]["states"]["paused"] = 0.5
    broken = _bad(_findings(generated, doc), "active_in")
    assert broken and broken[0].stratum.startswith("in a state of weight 0")


def test_a_rate_ratio_between_states_is_read_back() -> None:
    doc = example("saas", accounts=2000)
    declared = copy.deepcopy(doc)
    _node(declared, "events")["active_in"]["states"]["pro"] = 2.6  # the data has 1.3
    wrong = _bad(_findings(doc, declared), "active_in")
    assert [f.stratum for f in wrong] == ["pro / starter"]


def test_a_bass_curve_is_fitted_back() -> None:
    doc = example("saas")
    assert not _bad(_findings(doc), "diffusion")
    declared = copy.deepcopy(doc)
    signup = next(c for c in declared["nodes"][0]["columns"] if c["name"] == "signup_at")
    signup["generator"]["datetime_series"]["curve"]["p"] = 0.5
    assert any(f.stratum == "p" for f in _bad(_findings(doc, declared), "diffusion"))


def test_vintage_activity_is_graded_on_the_children_the_curve_shapes() -> None:
    """A purchase whose time is computed (not drawn) is not placed by the curve: it is skipped with
    the reason, and the sessions that follow the curve are the ones graded."""
    users = entity(
        "u",
        [times("signup_at", within={"start": "2023-01-01", "end": "2023-06-01"})],
        3000,
        vintage_behavior={
            "created_at_column": "signup_at",
            "age_based_multipliers": {"purchases": {"curve": [1.0, 0.5, 0.3], "applies_to": "fanout"}},
        },
    )
    sessions = fact("s", ["u"], [times("at")], fanout={"distribution": "poisson", "lambda": 30})
    signed = col("signed_up_at", "datetime", {"lookup": {"from": "u.signup_at"}})
    paid = expr("paid_at", "signed_up_at + days(3)", type_="datetime")
    purchases = fact("p", ["u"], [signed, paid], fanout={"distribution": "poisson", "lambda": 0.05})
    doc = schema(users, sessions, purchases, timeframe=TF)
    findings = _findings(doc)
    graded = {f.table for f in findings if isinstance(f, Recovered) and f.behaviour == "vintage_activity"}
    skipped = [f for f in findings if isinstance(f, Skipped) and f.behaviour == "vintage_activity"]
    assert graded == {"s"}
    assert [f.table for f in skipped] == ["p"] and "not drawn by the engine" in skipped[0].reason


def test_a_hidden_state_at_is_skipped_and_the_other_lives_checks_still_run(tmp_path: Path) -> None:
    """A hidden `state_at` (a payment's loan status, read only by its own row's `is_late`) is not in the
    data: its check is skipped saying so, instead of a SQL error that failed the whole family — the
    lifetime and the written `state_at` beside it are still judged, and a tampered one still fails."""
    loans = entity(
        "l",
        [
            times("opened_at", within={"start": "2023-01-01", "end": "2024-01-01"}),
            col("closed_at", "datetime", {"datetime_series": {}}, nullable=True),
        ],
        300,
        lifetime={
            "start": "opened_at",
            "end": {
                "column": "closed_at",
                "share": 0.5,
                "after": {"distribution": {"type": "exponential", "params": {"scale": 200}}},
            },
        },
    )
    walk = fact(
        "w",
        ["l"],
        [
            col("status", "string", {"choice": {"choices": ["x"]}}),
            col("previous_status", "string", {"choice": {"choices": ["x"]}}, nullable=True),
            times("changed_at"),
        ],
        state_transition_model={
            "initial_state": "current",
            "period_unit": "month",
            "states": {
                "current": {"transition_prob_per_period": 0.2, "next_states": {"late": 1.0}},
                "late": {"transition_prob_per_period": 0.5, "next_states": {"current": 1.0}},
            },
            "columns": {"state": "status", "previous_state": "previous_status", "time": "changed_at"},
        },
    )
    at = {"state_at": {"walk": "w", "at": "paid_at"}}
    payments = fact(
        "p",
        ["l"],
        [
            times("paid_at"),
            col("loan_status", "string", at, output=False),
            col("status_seen", "string", at),
            expr("is_late", "loan_status == 'late'", type_="bool"),
        ],
        fanout={"distribution": "poisson", "lambda": 8},
    )
    doc = schema(loans, payments, walk, timeframe=TF)
    data = tmp_path / "data"
    write(doc, data)
    report = validated(doc, data)
    assert not [r.message for r in report.results if "could not be checked" in r.message]
    state_at = {r.column: r for r in report.results if r.check == "state_at" and r.table == "p"}
    assert state_at["loan_status"].status == "skip" and "hidden helper" in state_at["loan_status"].message
    assert state_at["status_seen"].status == "pass" and state_at["status_seen"].hard
    lives = {r.table for r in report.results if r.check == "lifetime" and r.status == "pass"}
    assert lives >= {"l", "p", "w"}

    def swap(t: pa.Table) -> pa.Table:
        seen = t.column("status_seen").to_pylist()
        seen[0] = "late" if seen[0] != "late" else "current"
        return set_column(t, "status_seen", seen, pa.string())

    rewrite(data, "p", swap)
    broken = _hard(validated(doc, data), "state_at")
    assert [(r.table, r.column) for r in broken] == [("p", "status_seen")] and "1 of" in broken[0].message


def test_a_club_of_members_who_joined_years_ago_validates(tmp_path: Path) -> None:
    """The evaluation's sports club in small: members joined over ten years, seen for two, leave after a
    clamped lognormal in months, each with an activity level; a monthly fee (a regular series of one per
    month) and visits (Poisson). The lifetime checks pass (the durations are the declared ones, however
    early the life began), the visits' activity is judged, and the fee's is skipped saying why: the level
    does not change one row a month."""
    lognormal = {"type": "lognormal", "params": {"mean": 3.0, "sigma": 0.8}, "clamp": [2, 180]}
    members = entity(
        "m",
        [
            times("joined_at", within={"start": "2015-01-01", "end": "2024-12-01"}),
            col("left_at", "datetime", {"datetime_series": {}}, nullable=True),
        ],
        3000,
        lifetime={
            "start": "joined_at",
            "end": {"column": "left_at", "share": 0.4, "after": {"distribution": lognormal, "unit": "month"}},
        },
        activity={"distribution": {"type": "gamma", "params": {"shape": 2, "scale": 0.5}}},
    )
    fees = fact("f", ["m"], [times("period_start", slot=True)], fanout={"every": "MS"})
    visits = fact("v", ["m"], [times("visited_at")], fanout={"distribution": "poisson", "lambda": 20})
    doc = schema(members, fees, visits, timeframe=TF)
    data = tmp_path / "data"
    write(doc, data)
    report = validated(doc, data)
    judged = [r for r in report.results if r.check in ("lifetime", "activity")]
    assert not [r.message for r in judged if r.status == "fail"]
    assert [r.table for r in judged if r.check == "lifetime" and r.column == "left_at"] == ["m", "m"]
    assert [r.status for r in judged if r.check == "activity" and r.table == "v"] == ["pass", "pass"]
    (fee,) = [r for r in judged if r.check == "activity" and r.table == "f"]
    assert fee.status == "skip" and "regular series of 1 per period" in fee.message
