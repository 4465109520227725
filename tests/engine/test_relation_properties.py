"""Properties of random schemas built around rollups, running values and scoped lookups
(docs/schema-language.md §10.4): whatever the aggregates, filters, defaults, fanouts and block sizes,
the validator's independent recomputation finds every relation holding, and the chunk size never
changes a value. Drawn on fixed random streams, sharded over the test workers (tests.strategies)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datagen.dsl import check
from datagen.engine.generate import Options, generate_in_memory
from datagen.io.dataset import write_dataset
from datagen.validate import validate
from tests.strategies import shard

SHARDS = 4
RELATION_CHECKS = {"rollup", "running", "scoped_lookup"}


def col(name: str, type_: str, generator: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "generator": generator, **extra}


NUMBERS = {
    "int": {"distribution": {"type": "poisson", "params": {"lambda": 4}}},
    "float": {"distribution": {"type": "normal", "params": {"mean": 10, "std": 5}}},
}


@st.composite
def relation_schemas(draw: Any) -> dict[str, Any]:
    def maybe(p: float = 0.5) -> bool:
        return draw(st.floats(0, 1)) < p

    fanout_min = draw(st.sampled_from([0, 0, 1]))
    child_cols = [
        col(
            "child_id",
            "int",
            {"sequence": {"start": draw(st.integers(-50, 50)), "step": draw(st.sampled_from([1, 3, -1]))}},
        ),
        col("parent_id", "int", {"lookup": {"from": "parents.parent_id"}}),
        col(
            "at",
            "datetime" if maybe(0.7) else "date",
            {"datetime_series": {"freq": draw(st.sampled_from(["h", "D"]))}},
        ),
        col("kind", "string", {"choice": {"choices": ["a", "b", "c"]}}),
        col("n", "int", NUMBERS["int"]),
        col("x", "float", NUMBERS["float"], **({"nullable": True, "null_rate": 0.3} if maybe(0.4) else {})),
    ]
    x_nullable = child_cols[-1].get("nullable", False)
    parent_cols = [col("parent_id", "int", {"sequence": {}}), col("base", "float", NUMBERS["float"])]
    wheres = [None, "kind == 'a'", "n >= 3 and kind != 'c'", "x > 10 or n == 0"]
    for i in range(draw(st.integers(1, 5))):
        source, ctype = draw(
            st.sampled_from([("n", "int"), ("x", "float"), ("at", "time"), ("kind", "string")])
        )
        aggs = {
            "int": ["sum", "count", "mean", "min", "max", "first", "last"],
            "float": ["sum", "mean", "min", "max", "last"],
        }
        aggs |= {"time": ["min", "max", "first", "count"], "string": ["first", "last", "count"]}
        agg = draw(st.sampled_from(aggs[ctype]))
        args: dict[str, Any] = {"from": f"children.{source}", "agg": agg}
        where = draw(st.sampled_from(wheres))
        if where:
            args["where"] = where
        if agg in ("first", "last") and maybe():
            args["order_by"] = draw(st.sampled_from(["at", "n", "child_id"]))
        if agg == "count":
            out = "int"
        elif agg == "mean":
            out = "float"
        elif ctype == "time":
            out = "datetime"
        elif ctype == "string":
            out = "string"
        else:
            out = ctype if not (ctype == "int" and maybe(0.3)) else "float"
        extra: dict[str, Any] = {}
        if agg not in ("sum", "count"):
            if out in ("int", "float") and maybe():
                args["default"] = -1
            else:
                extra["nullable"] = True
        parent_cols.append(col(f"r{i}", out, {"rollup": args}, **extra))
    if maybe():
        parent_cols.append(
            col("twice", "float", {"expression": {"code": "r0 * 2"}}, nullable=True)
        ) if parent_cols[2]["type"] in ("int", "float") else None
    running_of = draw(st.sampled_from(["n", "x"]))
    running_agg = draw(st.sampled_from(["sum", "count", "mean", "min", "max"]))
    running: dict[str, Any] = {
        "of": running_of,
        "agg": running_agg,
        "order_by": draw(st.sampled_from(["at", "n"])),
    }
    if running_agg == "sum" and maybe():
        running["start"] = "parents.base"
    integral = running_agg == "count" or (
        running_of == "n" and running_agg != "mean" and "start" not in running
    )
    running_type = "int" if integral else "float"
    running_null = running_agg in ("mean", "min", "max") and running_of == "x" and x_nullable
    child_cols.append(
        col("acc", running_type, {"running": running}, **({"nullable": True} if running_null else {}))
    )
    nullable_pick = fanout_min == 0
    pickers = {
        "id": "pickers",
        "kind": "entity",
        "pk": "picker_id",
        "rows": draw(st.integers(0, 60)),
        "columns": [
            col("picker_id", "int", {"sequence": {}}),
            col("parent_id", "int", {"choice": {"choices_ref": "parents.parent_id"}}),
            col(
                "child_id",
                "int",
                {"lookup": {"from": "children.child_id", "on": {"parent_id": "parent_id"}, "pick": "random"}},
                **({"nullable": True} if nullable_pick else {}),
            ),
            col(
                "child_kind",
                "string",
                {"lookup": {"from": "children.kind", "on": {"parent_id": "parent_id"}, "pick": "random"}},
                **({"nullable": True} if nullable_pick else {}),
            ),
        ],
    }
    return {
        "version": "1.0",
        "metadata": {"name": "drawn"},
        "timeframe": {"start": "2024-01-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"},
        "nodes": [
            {
                "id": "parents",
                "kind": "entity",
                "pk": "parent_id",
                "rows": draw(st.integers(1, 80)),
                "columns": parent_cols,
            },
            {
                "id": "children",
                "kind": "fact",
                "pk": "child_id",
                "parents": ["parents"],
                "fanout": {"distribution": "poisson", "lambda": draw(st.floats(0.2, 12)), "min": fanout_min},
                "columns": child_cols,
            },
            pickers,
        ],
        "constraints": {},
    }


@pytest.mark.parametrize("index", range(SHARDS))
def test_every_drawn_relation_holds_in_the_validators_recomputation(index: int) -> None:
    @shard(index, 24 // SHARDS)
    @given(relation_schemas(), st.integers(0, 2**31), st.sampled_from([4, 8, 32]))
    def holds(doc: dict[str, Any], seed: int, block_rows: int) -> None:
        checked = check(doc)
        assert checked.ok and not checked.warnings, [str(i) for i in checked.issues if i.severity != "note"]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "data"
            write_dataset(checked, out, Options(seed=seed, block_rows=block_rows, chunk_rows=block_rows))
            report = validate(checked, out)
        relations = [r for r in report.results if r.check in RELATION_CHECKS]
        assert len(relations) >= 4
        bad = [f"{r.check} {r.where}: {r.message} {r.examples}" for r in relations if not r.passed]
        assert not bad, bad
        assert not report.hard_failures, [f"{r.check} {r.where}: {r.message}" for r in report.hard_failures]

    holds()


@pytest.mark.parametrize("index", range(SHARDS))
def test_the_chunk_size_never_changes_a_drawn_relation(index: int) -> None:
    @shard(100 + index, 24 // SHARDS)
    @given(relation_schemas(), st.integers(0, 2**31), st.sampled_from([4, 16]))
    def same(doc: dict[str, Any], seed: int, block_rows: int) -> None:
        schema = check(doc).raise_for_errors()
        a = generate_in_memory(schema, Options(seed=seed, block_rows=block_rows, chunk_rows=block_rows))
        b = generate_in_memory(schema, Options(seed=seed, block_rows=block_rows, chunk_rows=10**6))
        for name in a:
            assert a[name].equals(b[name]), name

    same()
