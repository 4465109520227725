"""Lifetimes, activity, states that matter and adoption curves (docs/schema-language.md §8.6, §10.2,
§10.3), read from the generated data with pandas, independently of the engine and the validator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.behaviours.helpers import MONTH, frames, walk_spells
from tests.engine.conftest import col, entity, fact, schema, times

YEAR = pd.Timedelta(days=365.2425)
TF = {"start": "2023-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "freq": "h"}
START, END = pd.Timestamp(TF["start"]), pd.Timestamp(TF["end"])
SIGNUPS = {"start": "2023-01-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"}


def _users(rows: int, end: dict | None = None, **extra) -> dict:
    columns = [times("signup_at", within=SIGNUPS)]
    if end is not None:
        columns.append(col("left_at", "datetime", {"datetime_series": {}}, nullable=True))
    lifetime = {"start": "signup_at", **({"end": {"column": "left_at", **end}} if end else {})}
    return entity("u", columns, rows, lifetime=lifetime, **extra)


def _sessions(lam: float, **extra) -> dict:
    return fact("s", ["u"], [times("at")], fanout={"distribution": "poisson", "lambda": lam}, **extra)


SHARE_END = {"share": 0.5, "after": {"distribution": {"type": "exponential", "params": {"scale": 120}}}}


@pytest.fixture(scope="module")
def shared() -> dict[str, pd.DataFrame]:
    """Users of whom half end after an exponential time (mean 120 days), with sessions and clicks."""
    clicks = fact("c", ["s"], [times("clicked_at")], fanout={"distribution": "poisson", "lambda": 3})
    doc = schema(
        _users(3000, SHARE_END),
        _sessions(40),
        clicks,
        timeframe=TF,
        constraints={"inequalities": [{"left": "c.clicked_at", "op": ">=", "right": "s.at"}]},
    )
    return frames(doc)


def test_a_share_of_rows_end_after_a_continuous_duration(shared) -> None:
    u = shared["u"]
    room = (END - u["signup_at"]) / pd.Timedelta(days=1)
    p = 0.5 * (1 - np.exp(-room / 120))  # ends, and before the timeframe does
    ended = u["left_at"].notna()
    assert ended.sum() == pytest.approx(p.sum(), abs=4 * math.sqrt((p * (1 - p)).sum()))
    days = ((u["left_at"] - u["signup_at"]) / pd.Timedelta(days=1))[ended]
    assert (days > 0).all() and (u["left_at"][ended] < END).all()
    span = (u["left_at"] - u["signup_at"])[ended].to_numpy().astype("timedelta64[us]").astype(np.int64)
    assert (span % 86_400_000_000 != 0).all()  # continuous: never on whole days after signup
    # exponential durations cut at each row's room: F(d) / F(room) is uniform
    u01 = np.sort((1 - np.exp(-days / 120)) / (1 - np.exp(-room[ended] / 120)))
    ks = np.max(np.abs(u01 - (np.arange(1, len(u01) + 1) - 0.5) / len(u01)))
    assert ks < 1.95 / math.sqrt(len(u01))


def test_a_clamp_truncates_the_duration() -> None:
    """A clamp [30, 365] days on an exponential duration of mean 200 days: each ended life lasts 30 to
    365 days, drawn from the distribution restricted to the clamp — none piles on a bound (clipping
    would put the 14 % of draws under 30 days at 30) — and the share that ended follows it too."""
    exp = {"type": "exponential", "params": {"scale": 200}, "clamp": [30, 365]}
    u = frames(schema(_users(4000, {"share": 0.6, "after": {"distribution": exp}}), timeframe=TF))["u"]
    day = pd.Timedelta(days=1)
    room = ((END - u["signup_at"]) / day).to_numpy()

    def truncated(x: np.ndarray) -> np.ndarray:  # F of the exponential restricted to [30, 365]
        f = 1 - np.exp(-np.clip(x, 30, 365) / 200)
        return (f - (1 - np.exp(-30 / 200))) / (np.exp(-30 / 200) - np.exp(-365 / 200))

    ended = u["left_at"].notna().to_numpy()
    p = 0.6 * truncated(room)  # ends, and before the timeframe does
    assert ended.sum() == pytest.approx(p.sum(), abs=4 * math.sqrt((p * (1 - p)).sum()))
    days = ((u["left_at"] - u["signup_at"]) / day).to_numpy()[ended]
    assert days.min() >= 30 and days.max() <= 365
    assert np.mean((days < 30.5) | (days > 364.5)) < 0.01  # about 0.4 % under truncation
    u01 = np.sort(truncated(days) / truncated(room[ended]))  # cut at each row's room: uniform
    ks = np.max(np.abs(u01 - (np.arange(1, len(u01) + 1) - 0.5) / len(u01)))
    assert ks < 1.95 / math.sqrt(len(u01))


def test_lives_begun_long_before_the_timeframe_keep_their_whole_duration() -> None:
    """Members who joined 2010-2022, seen over 2023-2024, leave after an exponential of mean 30 months
    clamped to [2, 120]: each ended life lasts its drawn duration, however long before the timeframe it
    began — not cut to the timeframe's length, which piled the long ones on one value just over two
    years (the evaluation's sports club: 342 of 392 left exactly 12.99 months after joining)."""
    exp = {"type": "exponential", "params": {"scale": 30}, "clamp": [2, 120]}
    users = entity(
        "u",
        [
            times("signup_at", within={"start": "2010-01-01", "end": "2023-01-01"}),
            col("left_at", "datetime", {"datetime_series": {}}, nullable=True),
        ],
        4000,
        lifetime={
            "start": "signup_at",
            "end": {"column": "left_at", "share": 0.5, "after": {"distribution": exp, "unit": "month"}},
        },
    )
    u = frames(schema(users, timeframe=TF))["u"]
    room = ((END - u["signup_at"]) / MONTH).to_numpy()

    def truncated(x: np.ndarray) -> np.ndarray:  # F of the exponential restricted to [2, 120]
        f = 1 - np.exp(-np.clip(x, 2, 120) / 30)
        return (f - (1 - np.exp(-2 / 30))) / (np.exp(-2 / 30) - np.exp(-120 / 30))

    ended = u["left_at"].notna().to_numpy()
    p = 0.5 * truncated(room)  # ends, and before the timeframe does
    assert ended.sum() == pytest.approx(p.sum(), abs=4 * math.sqrt((p * (1 - p)).sum()))
    months = ((u["left_at"] - u["signup_at"]) / MONTH).to_numpy()[ended]
    assert months.min() >= 2 and months.max() <= 120
    assert np.mean(months > 36) > 0.2  # a quarter of them outlast the timeframe by a year
    assert np.unique(months.round(3), return_counts=True)[1].max() <= 3  # nothing piles on one value
    u01 = np.sort(truncated(months) / truncated(room[ended]))  # cut at each row's room: uniform
    ks = np.max(np.abs(u01 - (np.arange(1, len(u01) + 1) - 0.5) / len(u01)))
    assert ks < 1.95 / math.sqrt(len(u01))


def test_children_at_any_depth_stay_inside_the_life(shared) -> None:
    u, s, c = shared["u"], shared["s"], shared["c"]
    life = s.merge(u, left_on="u_id", right_on="id")
    assert (life["at"] >= life["signup_at"]).all()
    assert (life["left_at"].isna() | (life["at"] < life["left_at"])).all()
    deep = c.merge(s, left_on="s_id", right_on="id").merge(u, left_on="u_id", right_on="id")
    assert len(deep) > 10_000 and (deep["clicked_at"] >= deep["at"]).all()
    assert (deep["left_at"].isna() | (deep["clicked_at"] < deep["left_at"])).all()


def test_walks_under_a_fact_without_a_time_stay_inside_the_inherited_life() -> None:
    """A funnel and a state walk born from a fact that has no time of its own (one order per user,
    say) begin inside the user's life, not anywhere in the timeframe: the parent's life is its user's."""
    orders = fact("o", ["u"], [], fanout={"distribution": "poisson", "lambda": 1, "min": 1, "max": 1})
    label = col("step", "string", {"choice": {"choices": ["a"]}})
    funnel = fact(
        "f",
        ["o"],
        [label, times("at")],
        stage_config={
            "stages": [
                {"stage_name": "a", "transition_rate": 1},
                {"stage_name": "b", "transition_rate": 0.5},
            ],
            "gap": {"distribution": "exponential", "mean_hours": 24},
            "columns": {"stage_name": "step", "stage_index": None, "time": "at"},
        },
    )
    states = fact(
        "w",
        ["o"],
        [col("state", "string", {"choice": {"choices": ["on"]}}), times("at")],
        state_transition_model={
            "initial_state": "on",
            "period_unit": "month",
            "states": {
                "on": {"transition_prob_per_period": 0.3, "next_states": {"off": 1}},
                "off": {"terminal": True},
            },
        },
    )
    data = frames(schema(_users(2000, SHARE_END), orders, funnel, states, timeframe=TF))
    u = data["u"].set_index("id")
    for walk in ("f", "w"):
        rows = data[walk].merge(data["o"], left_on="o_id", right_on="id").join(u, on="u_id")
        assert len(rows) > 2000
        assert (rows["at"] >= rows["signup_at"]).all(), walk
        assert (rows["left_at"].isna() | (rows["at"] < rows["left_at"])).all(), walk


def test_a_short_life_has_proportionally_fewer_children(shared) -> None:
    """The fanout is a rate: children over the share of the timeframe each user was alive is lambda."""
    u, s = shared["u"], shared["s"]
    alive = (u["left_at"].fillna(END) - u["signup_at"]) / (END - START)
    k = s.groupby("u_id").size().reindex(u["id"], fill_value=0).to_numpy()
    assert k.sum() / alive.sum() == pytest.approx(40, rel=0.03)
    short, long = alive < 0.2, alive > 0.6
    assert k[short].sum() / alive[short].sum() == pytest.approx(40, rel=0.08)
    assert k[long].sum() / alive[long].sum() == pytest.approx(40, rel=0.05)


@pytest.fixture(scope="module")
def walked() -> dict[str, pd.DataFrame]:
    """Accounts that end when their walk churns; sessions only while basic (1) or premium (1.6)."""
    walk = fact(
        "w",
        ["u"],
        [col("state", "string", {"choice": {"choices": ["x"]}}), times("changed_at")],
        state_transition_model={
            "initial_state": "basic",
            "period_unit": "month",
            "states": {
                "basic": {"transition_prob_per_period": 0.1, "next_states": {"premium": 0.5, "paused": 0.5}},
                "premium": {
                    "transition_prob_per_period": 0.08,
                    "next_states": {"basic": 0.5, "churned": 0.5},
                },
                "paused": {
                    "duration": {"distribution": "exponential", "mean": 1},
                    "next_states": {"basic": 0.5, "churned": 0.5},
                },
                "churned": {"terminal": True},
            },
        },
    )
    users = _users(3000, {"walk": "w"})
    users["columns"].append(col("plan", "string", {"state_at": {"walk": "w"}}))
    sessions = _sessions(60, active_in={"walk": "w", "states": {"basic": 1.0, "premium": 1.6}})
    sessions["columns"].append(col("plan", "string", {"state_at": {"walk": "w", "at": "at"}}))
    return frames(schema(users, walk, sessions, timeframe=TF))


def test_a_walk_ends_the_row_and_state_at_reads_the_walk(walked) -> None:
    u, w, s = walked["u"], walked["w"], walked["s"]
    last = w.sort_values(["u_id", "changed_at"]).groupby("u_id").tail(1).set_index("u_id")
    churned = last["state"] == "churned"
    ends = u.set_index("id")["left_at"]
    assert (ends[churned.index[churned]] == last.loc[churned, "changed_at"]).all()
    assert ends[churned.index[~churned]].isna().all() and churned.mean() > 0.3
    assert (u.set_index("id")["plan"] == last["state"]).all()
    spells = walk_spells(w, "u_id", "state", "changed_at", END)
    at = pd.merge_asof(
        s.sort_values("at"),
        spells.sort_values("changed_at"),
        left_on="at",
        right_on="changed_at",
        left_by="u_id",
        right_by="u_id",
    )
    assert (at["plan"] == at["state"]).all()  # the state then, read from the walk table


def test_the_rate_follows_the_parents_state(walked) -> None:
    s, spells = walked["s"], walk_spells(walked["w"], "u_id", "state", "changed_at", END)
    assert set(s["plan"]) == {"basic", "premium"}  # none while paused, none after churning
    months = ((spells["left"] - spells["changed_at"]) / MONTH).groupby(spells["state"]).sum()
    rate = s.groupby("plan").size() / months[["basic", "premium"]]
    assert rate["premium"] / rate["basic"] == pytest.approx(1.6, rel=0.08)


def test_activity_spreads_counts_and_persists() -> None:
    """A gamma level of shape 2: children per user have variance mean + mean²/2, and a user's early
    count predicts the late one."""
    users = entity(
        "u",
        [times("signup_at", within={"start": "2023-01-01", "end": "2023-01-02"})],
        4000,
        activity={"distribution": {"type": "gamma", "params": {"shape": 2, "scale": 3}}},
    )
    data = frames(schema(users, _sessions(24), timeframe=TF))
    s = data["s"]
    half = s["at"] < START + YEAR
    early = s[half].groupby("u_id").size().reindex(data["u"]["id"], fill_value=0)
    late = s[~half].groupby("u_id").size().reindex(data["u"]["id"], fill_value=0)
    mean, var = early.mean(), early.var()
    assert mean == pytest.approx(12, rel=0.05)
    assert var / mean == pytest.approx(1 + mean / 2, rel=0.12)
    assert np.corrcoef(early, late)[0, 1] > 0.6  # 12·12·0.5 / (12 + 72) ≈ 0.86 at these means


def test_signups_follow_a_bass_curve() -> None:
    p, q = 0.05, 1.2
    users = entity("u", [times("signup_at", curve={"type": "bass", "p": p, "q": q})], 20_000)
    at = frames(schema(users, timeframe=TF))["u"]["signup_at"]

    def adopted(t: np.ndarray) -> np.ndarray:
        e = np.exp(-(p + q) * t)
        return (1 - e) / (1 + q / p * e)

    t = np.array([0.25, 0.5, 1.0, 1.5])
    expected = adopted(t) / adopted(np.array([(END - START) / YEAR]))
    observed = np.array([(at < START + x * YEAR).mean() for x in t])
    assert np.abs(observed - expected).max() < 0.01
