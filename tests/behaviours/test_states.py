"""`state_transition_model` (docs/schema-language.md §8.4): per parent, a Markov chain in continuous time
(a state lasts an exponential time whose chance of ending within a period is the declared probability;
semi-Markov for states with a duration) from its creation time; one row per entered state with the
previous state and the time; terminal states end the walk; a segment's churn_multiplier multiplies the
probability of moving to a terminal state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.behaviours.helpers import MONTH, example, frames, timeframe
from tests.engine.conftest import col, entity, fact, schema, times
from tests.validate.helpers import validated, write

DOC = example("subscriptions")
START, END = timeframe(DOC)
CHURN = {"annual": 0.4, "monthly": 1.0}
STATES = {
    "initial_state": "on",
    "period_unit": "week",
    "states": {
        "on": {"transition_prob_per_period": 0.2, "next_states": {"off": 1.0}},
        "off": {"terminal": True},
    },
}


@pytest.fixture(scope="module")
def spells() -> pd.DataFrame:
    """One row per state entered, with when it was left and for what (null: still in it at the end)."""
    data = frames(DOC)
    who = data["subscribers"][["subscriber_id", "billing", "signed_up_at"]]
    e = data["subscription_events"].merge(who, on="subscriber_id")
    e = e.sort_values(["subscriber_id", "changed_at"])
    nxt = e.groupby("subscriber_id")[["status", "changed_at"]].shift(-1)
    return e.assign(next_status=nxt["status"], left_at=nxt["changed_at"])


def test_monthly_hazard_of_leaving_active_per_segment(spells) -> None:
    """Exits over the months at risk (a spell still open at the end counts the time it was seen) give
    the rate; the chance of leaving within a month is 1 - e^-rate."""
    active = spells[spells["status"] == "active"]
    months = (active["left_at"].fillna(END) - active["changed_at"]) / MONTH
    for billing, m in CHURN.items():
        rows = (active["billing"] == billing).to_numpy()
        exits = active["left_at"].notna().to_numpy()[rows]
        hazard = -np.expm1(-exits.sum() / months[rows].sum())
        assert hazard == pytest.approx(0.08 * (0.6 * m + 0.4), rel=0.10), billing


def test_next_state_split_and_churn_multiplier(spells) -> None:
    left = spells[spells["next_status"].notna()]
    share = left.groupby(["billing", "status"])["next_status"].value_counts(normalize=True)
    # Markov state: per-period hazards 0.08·0.6·m to churned, 0.08·0.4 to paused
    assert share["annual", "active", "churned"] == pytest.approx(0.24 / (0.24 + 0.4), abs=0.05)
    assert share["monthly", "active", "churned"] == pytest.approx(0.6, abs=0.05)
    # semi-Markov states leave for sure: churned takes share·m, the rest goes to the other targets
    assert share["annual", "trial", "churned"] == pytest.approx(0.3 * 0.4, abs=0.05)
    assert share["monthly", "trial", "churned"] == pytest.approx(0.3, abs=0.05)
    assert share["annual", "paused", "churned"] == pytest.approx(0.5 * 0.4, abs=0.08)
    assert share["monthly", "paused", "active"] == pytest.approx(0.5, abs=0.08)


def test_semi_markov_states_last_their_declared_duration(spells) -> None:
    trial = spells[(spells["status"] == "trial") & spells["left_at"].notna()]
    days = (trial["left_at"] - trial["changed_at"]) / MONTH
    assert days.between(0.42, 0.5).all() and days.mean() == pytest.approx(0.46, abs=0.005)  # uniform
    paused = spells[(spells["status"] == "paused") & (spells["changed_at"] <= END - 6 * MONTH)]
    assert ((paused["left_at"] - paused["changed_at"]) / MONTH).mean() == pytest.approx(2.0, rel=0.08)


def test_one_row_per_entered_state_with_its_previous_state(spells) -> None:
    first = spells.groupby("subscriber_id").head(1)
    assert (first["status"] == "trial").all() and first["previous_status"].isna().all()
    assert (first["changed_at"] == first["signed_up_at"]).all()
    prev = spells.groupby("subscriber_id")["status"].shift(1)
    rest = prev.notna()
    assert (spells.loc[rest, "previous_status"] == prev[rest]).all()
    assert spells.loc[spells["status"] == "churned", "next_status"].isna().all()  # terminal: nothing after
    assert spells["changed_at"].between(START, END).all()
    assert (spells["status"] != spells["previous_status"]).all()


def test_a_parent_without_a_time_starts_its_walk_at_the_timeframe_start() -> None:
    doc = schema(
        entity("p", [col("tier", "string", {"choice": {"choices": ["a"]}})], rows=300),
        fact(
            "s",
            ["p"],
            [col("state", "string", {"choice": {"choices": ["on"]}}), times("at")],
            state_transition_model={
                "initial_state": "on",
                "period_unit": "week",
                "states": {
                    "on": {"transition_prob_per_period": 0.2, "next_states": {"off": 1.0}},
                    "off": {"terminal": True},
                },
            },
        ),
    )
    s = frames(doc)["s"]
    first = s.groupby("p_id")["at"].min()
    assert (first == pd.Timestamp(doc["timeframe"]["start"])).all() and len(first) == 300
    weeks = (s.loc[s["state"] == "off", "at"] - pd.Timestamp(doc["timeframe"]["start"])) / pd.Timedelta(
        days=7
    )
    # continuous (docs/schema-language.md §10.1): a change falls at any instant, not on whole weeks
    assert not np.isclose(weeks, np.round(weeks)).any()


def test_without_a_column_mapping_the_walk_fills_state_previous_state_and_the_first_datetime() -> None:
    data = frames(example("combined_behaviours", players=1500))
    players = data["players"][["player_id", "installed_at"]]
    life = data["lifecycle"].merge(players, on="player_id", sort=False)
    prev = life.groupby("player_id")["state"].shift(1)  # a parent's rows come together, in step order
    assert (life["previous_state"].isna() == prev.isna()).all()
    assert (life.loc[prev.notna(), "previous_state"] == prev[prev.notna()]).all()
    assert (life.groupby("player_id")["entered_at"].diff().dropna() > pd.Timedelta(0)).all()
    first = life[prev.isna()]
    assert len(first) == len(data["players"]) and (first["entered_at"] >= first["installed_at"]).all()


def test_a_parent_that_begins_after_the_timeframe_enters_its_first_state_then(tmp_path) -> None:
    """An order placed 90 days after its customer signed up may fall after the timeframe (its time is
    computed). Its state walk and its funnel begin when it does — never before their parent — with the
    first state or stage alone; the validator accepts that row and nothing else after the end."""
    orders = fact(
        "o",
        ["c"],
        [
            col("placed_at", "datetime", {"expression": {"code": "signup + days(90)"}}),
            col("signup", "datetime", {"lookup": {"from": "c.signup_at"}}),
        ],
        fanout={"distribution": "constant", "count": 1},
    )
    label = col("state", "string", {"choice": {"choices": ["x"]}})
    walk = fact("w", ["o"], [label, times("at")], state_transition_model=STATES)
    funnel = fact(
        "f",
        ["o"],
        [col("stage_name", "string", {"choice": {"choices": ["x"]}}), times("at")],
        stage_config={
            "stages": [
                {"stage_name": "cart", "transition_rate": 1},
                {"stage_name": "paid", "transition_rate": 0.8},
            ]
        },
    )
    doc = schema(entity("c", [times("signup_at")], rows=400), orders, walk, funnel)
    data = frames(doc)
    placed = data["o"].set_index("id")["placed_at"]
    late = placed.index[placed >= pd.Timestamp(doc["timeframe"]["end"])]
    assert len(late) > 50
    for table in ("w", "f"):
        rows = data[table].join(placed, on="o_id")
        assert (rows["at"] >= rows["placed_at"]).all(), table
        after = rows[rows["o_id"].isin(late)]
        assert len(after) == len(late) and (after["at"] == after["placed_at"]).all(), table
    out = tmp_path / "data"
    write(doc, out)
    assert not [r.message for r in validated(doc, out).failures if r.hard]
