"""Behaviours combine: segments, vintage, a funnel, a state model that ends each player's life, activity
levels and sessions that follow the state on one parent all generate, and each declared parameter is
still recovered from the data. The whole run stays inside the block model: the chunk size never changes
a value, with every behaviour on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datagen.validate.recovery import recover_all
from datagen.validate.recovery.common import Recovered
from tests.behaviours.helpers import (
    MONTH,
    checked,
    connection,
    example,
    frames,
    step_integral,
    time_at_age,
    timeframe,
    walk_spells,
)
from tests.engine.conftest import generate

DOC = example("combined_behaviours")
START, END = timeframe(DOC)


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return frames(DOC)


CURVE = [1.0, 0.6, 0.45, 0.4]
WEIGHT = {"playing": 1.0, "lapsed": 0.15}


@pytest.fixture(scope="module")
def spells(data) -> pd.DataFrame:
    """The lifecycle as spells with each player's install time and segment."""
    s = walk_spells(data["lifecycle"], "player_id", "state", "entered_at", END)
    return s.merge(data["players"][["player_id", "installed_at", "spender_type"]], on="player_id")


def test_sessions_per_player_scale_with_spender_type(data, spells) -> None:
    """Whales live longer (they churn less), so a rate is read per unit of life: sessions over the time
    spent in each state times its weight, at the age curve's value then."""
    age0 = ((spells["entered_at"] - spells["installed_at"]) / MONTH).to_numpy(float)
    age1 = ((spells["left"] - spells["installed_at"]) / MONTH).to_numpy(float)
    w = spells["state"].map(WEIGHT).fillna(0.0)
    exposure = (step_integral(CURVE, np.maximum(age1, age0)) - step_integral(CURVE, age0)) * w
    time = exposure.groupby(spells["spender_type"]).sum()
    kids = data["sessions"].merge(data["players"], on="player_id").groupby("spender_type").size()
    rate = kids / time
    assert rate["whale"] / rate["minnow"] == pytest.approx(3.0, rel=0.10)
    assert rate["dolphin"] / rate["minnow"] == pytest.approx(1.5, rel=0.10)


def test_retention_still_follows_the_curve_under_segments(data, spells) -> None:
    """Sessions per month spent playing, by month of age, over the same at age 0."""
    playing = spells[spells["state"] == "playing"]
    s = data["sessions"].merge(data["players"][["player_id", "installed_at"]], on="player_id")
    s = pd.merge_asof(
        s.sort_values("started_at"),
        spells.sort_values("entered_at")[["player_id", "entered_at", "state"]],
        left_on="started_at",
        right_on="entered_at",
        by="player_id",
    )
    s = s[s["state"] == "playing"]
    age = ((s["started_at"] - s["installed_at"]) / MONTH).astype(float) // 1
    rates = []
    for a in range(6):
        months = time_at_age(playing, playing["installed_at"], "entered_at", "left", a, a + 1, MONTH).sum()
        rates.append((age == a).sum() / months)
    observed = np.array(rates) / rates[0]
    assert np.abs(observed - np.array([1.0, 0.6, 0.45, 0.4, 0.4, 0.4])).max() <= 0.08, observed.round(3)


def test_session_length_follows_segment_and_age(data) -> None:
    s = data["sessions"].merge(data["players"], on="player_id")
    months = ((s["started_at"] - s["installed_at"]) / MONTH).astype(float) // 1
    young = s[months == 0].groupby("spender_type")["minutes"].mean()
    assert young["whale"] / young["minnow"] == pytest.approx(1.4, rel=0.08)
    by_age = s[s["spender_type"] == "minnow"].groupby(months)["minutes"].mean()
    assert by_age[4] / by_age[0] == pytest.approx(1.225 / 1.025, rel=0.08)  # 1 + 0.05·age, mean over a month


def test_funnel_and_states_still_hold_per_segment(data) -> None:
    players = data["players"]
    early = players[players["installed_at"] <= END - pd.Timedelta(days=30)]
    f = data["purchase_funnel"].merge(early, on="player_id")
    reached = f.pivot_table(index="spender_type", columns="step", values="player_id", aggfunc="count")
    for seg, m in {"whale": 4.0, "dolphin": 1.0, "minnow": 0.8}.items():
        assert reached.loc[seg, "first_purchase"] / reached.loc[seg, "tutorial_done"] == pytest.approx(
            min(1.0, 0.15 * m), abs=0.05
        )
    who = players[["player_id", "spender_type"]]
    life = data["lifecycle"].merge(who, on="player_id").sort_values(["player_id", "entered_at"])
    life["next"] = life.groupby("player_id")["state"].shift(-1)
    lapsed = life[(life["state"] == "lapsed") & life["next"].notna()]
    churned = (lapsed["next"] == "churned").groupby(lapsed["spender_type"]).mean()
    assert churned["whale"] == pytest.approx(0.65 * 0.3, abs=0.05)
    assert churned["minnow"] == pytest.approx(min(1.0, 0.65 * 1.2), abs=0.05)


def test_every_recovered_parameter_matches_the_schema() -> None:
    con, schema = connection(DOC)
    found = [f for f in recover_all(con, schema) if isinstance(f, Recovered)]
    kinds = {f.behaviour for f in found}
    assert kinds == {
        "segment_fanout",
        "segment_value",
        "vintage_value",
        "stage",
        "state",
        "lifetime",
        "state_at",
        "activity",
        "active_in",
    }
    bad = [str(f) for f in found if not f.ok()]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "doc",
    [example("combined_behaviours", players=500), example("segments", customers=400, stores=12)],
    ids=["combined", "segments"],
)
def test_chunk_size_never_changes_a_value_with_behaviours_on(doc) -> None:
    small = generate(doc, seed=3, block_rows=64, chunk_rows=64)
    large = generate(doc, seed=3, block_rows=64, chunk_rows=10_000)
    assert set(small) == set(checked(doc).node_ids)
    assert max(t.num_rows for t in small.values()) > 20 * 64  # many blocks: chunk boundaries really move
    for tid, table in small.items():
        assert table.equals(large[tid]), tid
