"""Properties of lives (docs/schema-language.md §10.2, §10.3) over random lifecycle schemas: an entity
with a lifetime (a share ending after a duration, or its own state walk's end), maybe activity
levels, facts at a rate that may follow the walk's state, and facts of those facts. Whatever the seed,
block size and chunk size: every time of every fact, at any depth, lies inside its entity row's life,
and the bytes never depend on the chunk size. (The general drawn schemas of tests/strategies.py draw
lifetimes too; these draw the combinations that matter here more often.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datagen.engine.generate import Options, generate_in_memory
from tests.engine.conftest import checked, col, entity, fact, schema, small_faker_pools, times
from tests.engine.invariants import outside_lives, problems
from tests.strategies import shard

SHARDS = 2


@pytest.fixture(autouse=True)
def _small_faker_pools() -> Iterator[None]:
    with small_faker_pools():
        yield


@st.composite
def lifecycles(draw: Any) -> dict:
    days = draw(st.integers(20, 400))
    tf = {
        "start": "2024-01-01T00:00:00Z",
        "end": f"{2024 + days // 365}-{1 + (days % 365) // 31:02d}-28T00:00:00Z",
    }
    tf["freq"] = draw(st.sampled_from(["h", "30min", "D"]))
    walk = fact(
        "w",
        ["u"],
        [col("state", "string", {"choice": {"choices": ["x"]}}), times("changed_at")],
        state_transition_model={
            "initial_state": "on",
            "period_unit": draw(st.sampled_from(["day", "week", "month"])),
            "states": {
                "on": {
                    "transition_prob_per_period": draw(st.floats(0.01, 1)),
                    "next_states": {"off": 1.0, "gone": draw(st.floats(0, 2))},
                },
                "off": {
                    "duration": {"distribution": "exponential", "mean": draw(st.floats(0.1, 3))},
                    "next_states": {"on": 1.0, "gone": draw(st.floats(0, 1))},
                },
                "gone": {"terminal": True},
            },
        },
    )
    if draw(st.booleans()):
        end = {"column": "left_at", "walk": "w"}
    else:
        after = {"type": draw(st.sampled_from(["exponential", "weibull"]))}
        after["params"] = {"scale": draw(st.floats(1, 300))} | (
            {"shape": 0.8} if after["type"] == "weibull" else {}
        )
        end = {"column": "left_at", "share": draw(st.floats(0, 1)), "after": {"distribution": after}}
    start_type = draw(st.sampled_from(["datetime", "date"]))
    users = entity(
        "u",
        [
            col("started", start_type, {"datetime_series": {"freq": "D" if start_type == "date" else "h"}}),
            col("left_at", "datetime", {"datetime_series": {}}, nullable=True),
            col("now", "string", {"state_at": {"walk": "w"}}),
        ],
        draw(st.integers(0, 150)),
        lifetime={"start": "started", "end": end},
    )
    if draw(st.booleans()):
        users["activity"] = {
            "distribution": {"type": "gamma", "params": {"shape": draw(st.floats(0.2, 4)), "scale": 1}}
        }
    kind = draw(st.sampled_from(["poisson", "negative_binomial", "uniform"]))
    fanout = {"distribution": kind, "min": draw(st.integers(0, 2)), "max": 6}
    fanout |= {"lambda": draw(st.floats(0, 5))} if kind != "uniform" else {"min": 0}
    if kind == "negative_binomial":
        fanout["dispersion"] = 1.5
    sessions = fact(
        "s", ["u"], [times("at", type_=draw(st.sampled_from(["datetime", "date"])))], fanout=fanout
    )
    if draw(st.booleans()):
        sessions["active_in"] = {"walk": "w", "states": {"on": 1.0, "off": draw(st.floats(0, 1))}}
        sessions["columns"].append(col("then", "string", {"state_at": {"walk": "w", "at": "at"}}))
    clicks = fact(
        "c",
        ["s"],
        [times("clicked_at"), times("seen_at", freq="D")],
        fanout={"distribution": "poisson", "lambda": draw(st.floats(0, 3))},
    )
    return schema(users, walk, sessions, clicks, timeframe=tf)


def _run(doc: dict, seed: int, block: int, chunk: int) -> dict:
    return generate_in_memory(checked(doc), Options(seed=seed, block_rows=block, chunk_rows=chunk))


@pytest.mark.parametrize("index", range(SHARDS))
def test_children_stay_inside_their_parents_life_whatever_the_blocks(index: int) -> None:
    """60 drawn lifecycles in all, each generated at two block sizes and three chunk sizes."""

    @shard(100 + index, 60 // SHARDS)
    @given(doc=lifecycles(), seed=st.integers(0, 2**32 - 1), block=st.sampled_from([16, 64, 1024]))
    def inside(doc: dict, seed: int, block: int) -> None:
        tables = _run(doc, seed, block, block)
        schema_ = checked(doc)
        assert outside_lives(schema_, tables) == []
        assert problems(schema_, tables) == []
        for chunk in (block * 3, 100_000):
            other = _run(doc, seed, block, chunk)
            assert all(tables[t].equals(other[t]) for t in tables)

    inside()
