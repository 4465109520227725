"""Properties of every valid schema (drawn by `tests.strategies.valid_schemas`): what the schema declares
holds in the data, the same seed gives the same data, and neither the chunk size nor the order blocks are
grouped in changes a value. Block size 64 makes even small drawn tables span several blocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datagen.dsl import check
from datagen.engine.generate import Options, generate_in_memory
from datagen.io.dataset import write_dataset
from datagen.io.output import table_files
from datagen.resources import examples_dir
from tests.engine.conftest import checked, col, entity, fact, schema, small_faker_pools, times
from tests.engine.invariants import problems
from tests.strategies import shard, valid_schemas

BLOCK = 64
SHARDS = 4  # each property runs as this many tests, spread over the test workers
seeds = st.integers(0, 2**32 - 1)


@pytest.fixture(autouse=True)
def _small_faker_pools() -> Iterator[None]:
    with small_faker_pools():
        yield


def run(doc: dict, seed: int, chunk_rows: int, block_rows: int = BLOCK) -> dict[str, pa.Table]:
    return generate_in_memory(checked(doc), Options(seed=seed, chunk_rows=chunk_rows, block_rows=block_rows))


def assert_same(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> None:
    assert a.keys() == b.keys()
    for tid in a:
        assert a[tid].equals(b[tid]), f"table {tid} differs"


@pytest.mark.parametrize("index", range(SHARDS))
def test_generated_data_holds_what_the_schema_declares(index: int) -> None:
    """PKs unique and non-null, FKs resolve, ranges / patterns / enums / inequalities hold, generated
    times inside their window (tests/engine/invariants.py): 200 drawn schemas in all."""

    @shard(index, 200 // SHARDS)
    @given(doc=valid_schemas(max_rows=200), seed=seeds)
    def holds(doc: dict, seed: int) -> None:
        schema = checked(doc)
        tables = generate_in_memory(schema, Options(seed=seed, block_rows=BLOCK, chunk_rows=BLOCK))
        assert problems(schema, tables) == []

    holds()


@pytest.mark.parametrize("index", range(SHARDS))
def test_chunk_size_and_reruns_never_change_a_value(index: int) -> None:
    """80 drawn schemas in all, each generated four times."""

    @shard(index, 80 // SHARDS)
    @given(doc=valid_schemas(max_rows=200), seed=seeds)
    def same(doc: dict, seed: int) -> None:
        first = run(doc, seed, chunk_rows=BLOCK)
        assert_same(first, run(doc, seed, chunk_rows=200))
        assert_same(first, run(doc, seed, chunk_rows=10_000))
        assert_same(first, run(doc, seed, chunk_rows=BLOCK))

    same()


def _dated_walk() -> dict:
    """Accounts whose status walk is kept as dates (several states can fall on one day), ended by it; a
    daily series and Poisson visits while active, each visit reading the account's state."""
    walk = fact(
        "w",
        ["e"],
        [
            col("ts", "date", {"datetime_series": {}}),
            col("state", "string", {"choice": {"choices": ["active"]}}),
            col("previous_state", "string", {"choice": {"choices": ["active"]}}, nullable=True),
        ],
        state_transition_model={
            "initial_state": "active",
            "period_unit": "week",
            "states": {
                "active": {"transition_prob_per_period": 0.5, "next_states": {"paused": 1.0, "churned": 0.3}},
                "paused": {
                    "duration": {"distribution": "exponential", "mean": 1.0},
                    "next_states": {"active": 1.0},
                },
                "churned": {"terminal": True},
            },
        },
    )
    active = {"walk": "w", "states": {"active": 1.0}}
    daily = fact(
        "s", ["e"], [col("ts", "datetime", {"datetime_series": {}})], fanout={"every": "D"}, active_in=active
    )
    visits = fact(
        "p",
        ["e"],
        [times(), col("seen_in", "string", {"state_at": {"walk": "w", "at": "ts"}}, nullable=True)],
        fanout={"distribution": "poisson", "lambda": 3},
        active_in=active,
    )
    accounts = entity(
        "e",
        [times("born"), col("ended_at", "datetime", {"datetime_series": {}}, nullable=True)],
        rows=60,
        lifetime={"start": "born", "end": {"column": "ended_at", "walk": "w"}},
    )
    return schema(
        accounts,
        walk,
        daily,
        visits,
        timeframe={"start": "2024-01-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"},
    )


def _state_then(walk: pd.DataFrame, keys: pd.Series, at: pd.Series) -> pd.Series:
    """The walk table's state of each key at each time: its last row dated at or before it (a date is
    its midnight; rows of one day in the table's order)."""
    w = walk.assign(t=pd.to_datetime(walk["ts"]).dt.tz_localize("UTC").astype("datetime64[us, UTC]"))
    q = pd.DataFrame(
        {"e_id": keys.to_numpy(), "t": at.astype("datetime64[us, UTC]").to_numpy(), "i": range(len(at))}
    )
    m = pd.merge_asof(
        q.sort_values("t"), w[["e_id", "t", "state"]].sort_values("t", kind="stable"), on="t", by="e_id"
    )
    return m.sort_values("i")["state"].reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_what_follows_a_walk_kept_as_dates_reads_its_dates(seed: int) -> None:
    """A state entered at 15:00 is written as its date, so the table says it holds from that midnight:
    the regular series counts each day at the state the table holds then, no visit falls where the table
    says churned or paused, `state_at` is the table's state, and the life ends at the churn's date."""
    doc = _dated_walk()
    schema_ = checked(doc)
    tables = run(doc, seed, chunk_rows=BLOCK)
    assert problems(schema_, tables) == []
    walk = tables["w"].to_pandas()
    visits = tables["p"].to_pandas()
    # the case at hand: some accounts enter two states on one day
    assert len(visits) and walk.duplicated(["e_id", "ts"]).any()
    states = _state_then(walk, visits["e_id"], visits["ts"])
    assert (states == "active").all()
    assert (visits["seen_in"].reset_index(drop=True) == states).all()
    churned = walk[walk["state"] == "churned"].set_index("e_id")["ts"]
    ended = tables["e"].to_pandas().set_index("id")["ended_at"].dropna()
    assert set(ended.index) == set(churned.index) and len(ended)
    assert (ended.dt.tz_localize(None) == pd.to_datetime(churned.reindex(ended.index))).all()


def _example() -> dict:
    return json.loads((examples_dir() / "ecommerce.json").read_text(encoding="utf-8"))


def test_an_example_is_the_same_for_every_chunk_size_and_differs_for_another_seed() -> None:
    doc = _example()
    doc["nodes"][0]["rows"] = 300  # customers; everything else follows from them or is small
    doc["nodes"][1]["rows"] = 200  # products
    base = run(doc, 1, chunk_rows=BLOCK)
    for chunk_rows in (200, 10_000):
        assert_same(base, run(doc, 1, chunk_rows=chunk_rows))
    other = run(doc, 2, chunk_rows=BLOCK)
    for tid, table in base.items():
        changed = [
            c
            for c in table.column_names
            if table.num_rows != other[tid].num_rows or not table.column(c).equals(other[tid].column(c))
        ]
        sequences = {c.name for c in checked(doc).node(tid).columns if c.kind == "sequence"}
        assert set(table.column_names) - sequences <= set(changed), f"{tid}: a random column ignored the seed"


def test_block_size_is_part_of_the_datas_identity() -> None:
    """Block size keys the random streams (like the seed), so it is recorded in the metadata."""
    doc = _example()
    doc["nodes"][0]["rows"] = 300
    a = run(doc, 1, chunk_rows=10_000, block_rows=64)
    b = run(doc, 1, chunk_rows=10_000, block_rows=128)
    assert not a["customers"].column("segment").equals(b["customers"].column("segment"))


def test_written_dataset_equals_the_in_memory_one_for_any_chunk_size(tmp_path: Path) -> None:
    doc = _example()
    doc["nodes"][0]["rows"] = 300
    memory = run(doc, 3, chunk_rows=10_000)
    for chunk_rows in (BLOCK, 10_000):
        out = tmp_path / f"chunks-{chunk_rows}"
        write_dataset(check(doc), out, Options(seed=3, chunk_rows=chunk_rows, block_rows=BLOCK))
        meta = json.loads((out / ".metadata.json").read_text(encoding="utf-8"))
        assert meta["seed"] == 3 and meta["block_rows"] == BLOCK
        for tid, table in memory.items():
            on_disk = pa.concat_tables(pq.read_table(f) for f in table_files(out, tid))
            assert on_disk.equals(table), f"{tid} on disk differs (chunk_rows={chunk_rows})"
            assert meta["tables"][tid]["rows"] == table.num_rows
