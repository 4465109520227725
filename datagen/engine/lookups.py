"""`lookup`: values from another table's rows — the parent's (how keys are filled), a joined row
(`on`: a real join on a unique source key), a random row among those matching `on` (`pick: random`, a
scoped lookup: a scooter in this trip's city), a random existing row, or an earlier row of the same
table (self-reference)."""

from __future__ import annotations

import numpy as np

from datagen.dsl.generators import LookupGen, SequenceGen
from datagen.dsl.models import Column
from datagen.engine.block import Block, null_like
from datagen.errors import GenerationError


def lookup(block: Block, col: Column, gen: LookupGen) -> np.ndarray:
    assert gen.source is not None  # the check step requires `table.column`
    table, column = gen.source
    if table == block.node_id:
        return _self_reference(block, col)
    if gen.lookup.on and gen.lookup.scoped:
        return _pick(block, col, table, column, gen.lookup.on)
    if gen.lookup.on:
        return _join(block, col, table, column, gen.lookup.on)
    return block.related_value(table, column)


def _join(block: Block, col: Column, table: str, column: str, on: dict[str, str]) -> np.ndarray:
    """Value of `table.column` in the source row whose key equals this row's key: null if none, which
    only a nullable column may hold (said here, with the key, not later by a column computed from it)."""
    ((local, source),) = list(on.items())[:1]
    positions = block.store.index(table, source).get_indexer(block.values[local])
    if len(on) > 1:  # every further pair must agree with the row found by the first
        for extra_local, extra_source in list(on.items())[1:]:
            src = block.store.column(table, extra_source)
            ok = positions >= 0
            ok[ok] = src[positions[ok]] == block.values[extra_local][ok]
            positions = np.where(ok, positions, -1)
    values = block.store.column(table, column)
    if len(values) == 0:
        return np.full(block.n, None, dtype=object)
    missing = positions < 0
    if missing.any() and not col.nullable:
        _no_row(block, col, table, on, missing, "join")
    return null_like(values[np.maximum(positions, 0)], missing)


def _no_row(
    block: Block, col: Column, table: str, on: dict[str, str], missing: np.ndarray, verb: str
) -> None:
    first = int(np.flatnonzero(missing)[0])
    at = {a: block.values[a][first] for a in on}
    keys = ", ".join(f"{a} = {v.item() if isinstance(v, np.generic) else v!r}" for a, v in at.items())
    raise GenerationError(
        f"{int(missing.sum()):,} row(s) have no '{table}' row to {verb} (e.g. the row with {keys})",
        hint=f"make sure every key has a '{table}' row (e.g. a fanout with \"min\": 1 under the "
        f"table the key belongs to), or make '{col.name}' \"nullable\": true",
    )


def _pick(block: Block, col: Column, table: str, column: str, on: dict[str, str]) -> np.ndarray:
    """Value of `table.column` in a random source row whose `on` keys equal this row's
    (docs/schema-language.md §10.4). The source is grouped by its keys once (Store.groups); each row
    draws an offset into its group. Columns picking from the same table with the same `on` share it."""
    rows = block.picked_rows(table, on)
    missing = rows < 0
    if missing.any() and not col.nullable:
        _no_row(block, col, table, on, missing, "pick from")
    values = block.store.column(table, column)
    if len(values) == 0:
        return np.full(block.n, None, dtype=object)
    return null_like(values[np.maximum(rows, 0)], missing)


def _self_reference(block: Block, col: Column) -> np.ndarray:
    """Each row points at a uniformly drawn earlier row; the first row is a root (null). The key of row
    j is known arithmetically because self-references require a sequence primary key."""
    node = block.table.node
    pk = node.column(node.pk or "")
    assert pk is not None and isinstance(pk.generator, SequenceGen)  # the check step requires it
    seq = pk.generator.sequence
    rows = block.row_numbers
    earlier = np.floor(block.rng(col.name).random(block.n) * rows).astype(np.int64)
    keys = (seq.start + seq.step * earlier).astype(np.int64)
    if col.type == "string":  # as text before the root's null turns the ints into floats ("5.0")
        keys = keys.astype(str)
    return null_like(keys, rows == 0)
