"""`lookup`: values from another table's rows — the parent's (how keys are filled), a joined row
(`on`: a real join on a unique source key), a random row among those matching `on` (`pick: random`, a
scoped lookup: a scooter in this trip's city), a random existing row (of the table the row is born
from: one other than its parent, with `pick: random`), or an earlier row of the same
table (self-reference; with `on`, one with the same key: a manager in the same department)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from datagen.dsl.generators import LookupGen, SequenceGen
from datagen.dsl.models import Column
from datagen.engine.block import Block, null_like
from datagen.errors import GenerationError


def lookup(block: Block, col: Column, gen: LookupGen) -> np.ndarray:
    assert gen.source is not None  # the check step requires `table.column`
    table, column = gen.source
    if table == block.node_id:
        return _self_reference(block, col, gen.lookup.on)
    if gen.picks_another_row(block.table.node):
        return _another(block, col, table, column)
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


def _another(block: Block, col: Column, table: str, column: str) -> np.ndarray:
    """Value of `table.column` in a random row of the table the row is born from, other than its own
    parent (a callee among subscribers; docs/schema-language.md §4.1)."""
    rows = block.other_rows(table)
    missing = rows < 0
    if missing.any() and not col.nullable:
        raise GenerationError(
            f"'{table}' has a single row, so a '{block.node_id}' row has no other '{table}' row to pick",
            hint=f"give '{table}' more rows, or make '{col.name}' \"nullable\": true",
        )
    values = block.store.column(table, column)
    return null_like(values[np.maximum(rows, 0)], missing)


def _self_reference(block: Block, col: Column, on: dict[str, str] | None) -> np.ndarray:
    """Each row points at a uniformly drawn earlier row; the first row is a root (null). With `on`, at
    an earlier row whose `on` columns equal its own, and the first row of each key is a root. The key
    of row j is known arithmetically because self-references require a sequence primary key."""
    node = block.table.node
    pk = node.column(node.pk or "")
    assert pk is not None and isinstance(pk.generator, SequenceGen)  # the check step requires it
    seq = pk.generator.sequence
    rows = block.row_numbers
    if on:
        earlier = _earlier_match(block, col, on)
        root = earlier < 0
    else:
        earlier = np.floor(block.rng(col.name).random(block.n) * rows).astype(np.int64)
        root = rows == 0
    keys = (seq.start + seq.step * earlier).astype(np.int64)
    if col.type == "string":  # as text before the root's null turns the ints into floats ("5.0")
        keys = keys.astype(str)
    return null_like(keys, root)


def _earlier_match(block: Block, col: Column, on: dict[str, str]) -> np.ndarray:
    """A uniformly drawn earlier row of the block's own table whose `on` source columns equal this row's
    `on` columns (-1: none). The column is deferred (dsl/finishing.py): the table's rows are all
    generated, and the source columns are kept whole (Store.groups). Each group lists its rows in
    order, so the earlier rows of a group are a prefix of it, found by one binary search over
    (group, row) keys built once per table."""
    table = block.node_id
    groups = block.store.groups(table, tuple(on.values()))
    name = "__earlier__" + ",".join(on.values())
    if (name, table) not in block.store.derived:
        member_of = np.repeat(np.arange(len(groups.size), dtype=np.int64), groups.size)
        block.store.derived[(name, table)] = member_of * block.total_rows + groups.order
    ranked = block.store.derived[(name, table)]
    assert ranked is not None
    local = [block.values[a] for a in on]
    mine = pd.Index(local[0]) if len(local) == 1 else pd.MultiIndex.from_arrays(local)
    group = np.asarray(groups.keys.get_indexer(mine), dtype=np.int64)
    found = group >= 0
    g, rows = group[found], block.row_numbers[found]
    query = g * block.total_rows + rows
    by = np.argsort(query, kind="stable")  # sorted queries search an order of magnitude faster
    position = np.empty_like(query)
    position[by] = np.searchsorted(ranked, query[by])
    count = position - groups.start[g]
    offset = np.floor(block.rng(col.name).random(block.n)[found] * count).astype(np.int64)
    out = np.full(block.n, -1, dtype=np.int64)
    out[found] = np.where(count > 0, groups.order[groups.start[g] + np.minimum(offset, count - 1)], -1)
    return out
