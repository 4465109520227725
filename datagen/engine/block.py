"""A block: a fixed run of rows of one table, generated alone from (seed, table, column, block).

Generators and modifiers receive the block and return arrays for its rows. Earlier tables are read
through the store (only the columns later tables need are kept there)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.models import Schema
from datagen.dsl.related_rows import Path
from datagen.engine.plan import Plan, TablePlan
from datagen.engine.rng import BLOCK_ROWS, block_rng
from datagen.engine.timegrid import to_us

if TYPE_CHECKING:
    from datagen.engine.behaviours import BehaviourEngine
    from datagen.engine.lifecycle import Life
    from datagen.engine.walks import WalkResult


def null_like(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Copy of `values` with `missing` rows set to the null of its dtype (ints become float NaN)."""
    if not missing.any():
        return values
    kind = values.dtype.kind
    if kind in "iub":
        out = values.astype(float)
    elif kind in "fM":
        out = values.copy()
    else:
        out = values.astype(object)
    out[missing] = np.datetime64("NaT") if kind == "M" else (np.nan if out.dtype.kind == "f" else None)
    return out


@dataclass(frozen=True)
class Groups:
    """A table's rows grouped by key: group g holds rows `order[start[g] : start[g] + size[g]]`."""

    keys: pd.Index
    start: np.ndarray
    size: np.ndarray
    order: np.ndarray


@dataclass
class Store:
    """Kept columns of finished tables, whole (concatenated over blocks)."""

    columns: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    _index: dict[tuple[str, str], pd.Index] = field(default_factory=dict)
    _distinct: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    _groups: dict[tuple[str, tuple[str, ...]], Groups] = field(default_factory=dict)
    derived: dict[tuple[str, str], np.ndarray | None] = field(default_factory=dict)  # computed once per table
    # cumulative weights of a table's rows, for a child that draws one as a further parent (segments)
    reference_weights: dict[str, np.ndarray] = field(default_factory=dict)
    # each row's life and activity level, for tables whose children live inside it (engine/lifecycle.py)
    lives: dict[str, Life] = field(default_factory=dict)
    # walks of recent parent blocks, by (walk table, parent block): a walk is run once per parent block
    walks: OrderedDict[tuple[str, int], WalkResult] = field(default_factory=OrderedDict)
    # the intensity pieces of the last parent block a fact's times were drawn for (engine/intensity.py)
    pieces: tuple[Any, Any] | None = None
    # (table, related table) -> the related row of each row of the table (-1: none), for deeper paths
    row_maps: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    # a fact's first row per primary-parent row (prefix sums of the child counts, one more than parents)
    offsets: dict[str, np.ndarray] = field(default_factory=dict)
    # deferred columns (engine/finish.py): a table's rows as generated, while it is being finished,
    # and the rollups its children feed
    spilled: dict[str, Any] = field(default_factory=dict)
    rollups: dict[tuple[str, str], Any] = field(default_factory=dict)

    def children_of(self, table: str, parent_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[first, end) rows of `table` (a fact) for each of its primary-parent rows `parent_rows`."""
        offsets = self.offsets[table]
        return offsets[parent_rows], offsets[parent_rows + 1]

    def column(self, table: str, column: str) -> np.ndarray:
        return self.columns[table][column]

    def index(self, table: str, column: str) -> pd.Index:
        """Hash index over a source key column, for joins (`lookup.on`, effects)."""
        key = (table, column)
        if key not in self._index:
            self._index[key] = pd.Index(self.column(table, column))
        return self._index[key]

    def groups(self, table: str, columns: tuple[str, ...]) -> Groups:
        """A source table's rows grouped by the values of `columns` (for a scoped pick), built once."""
        key = (table, columns)
        if key not in self._groups:
            arrays = [self.column(table, c) for c in columns]
            index = pd.Index(arrays[0]) if len(arrays) == 1 else pd.MultiIndex.from_arrays(arrays)
            codes, uniques = pd.factorize(index)
            codes = np.asarray(codes, dtype=np.int64)
            sizes = np.bincount(codes[codes >= 0], minlength=len(uniques)).astype(np.int64)
            order = np.argsort(codes, kind="stable")[int((codes < 0).sum()) :]  # null keys match nothing
            self._groups[key] = Groups(pd.Index(uniques), np.cumsum(sizes) - sizes, sizes, order)
        return self._groups[key]

    def distinct(self, table: str, column: str) -> np.ndarray:
        """Distinct non-null values in first-seen order (for `choices_ref`)."""
        key = (table, column)
        if key not in self._distinct:
            values = pd.unique(pd.Series(self.column(table, column)).dropna())
            self._distinct[key] = np.asarray(values)
        return self._distinct[key]


@dataclass
class Block:
    plan: Plan
    table: TablePlan
    store: Store
    engines: Callable[[BehaviourBlock], BehaviourEngine[Any]]  # the registry's behaviour engines
    seed: int
    index: int | str  # the block's rng key
    row_start: int  # global row number of the block's first row
    n: int
    total_rows: int
    parent_rows: np.ndarray | None = None  # primary-parent row of each row (facts)
    parent_block: int | None = None  # facts: the block of parent rows these rows were born from
    child_offset: int = 0  # facts: position of the first row among that parent block's children
    block_rows: int = BLOCK_ROWS  # rows per block (a parent block k holds rows k·block_rows onwards)
    born_index: np.ndarray | None = None  # facts: each row's position among its parent row's children
    values: dict[str, np.ndarray] = field(default_factory=dict)
    # values a clamp clipped to a bound, by (column, where: "clamp" or "modifiers[i]"), for the preflight
    clipped: dict[tuple[str, str], int] = field(default_factory=dict)
    _sources: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def schema(self) -> Schema:
        return self.plan.schema

    @property
    def node_id(self) -> str:
        return self.table.id

    def count_clipped(self, column: str, where: str, count: int) -> None:
        if count:
            key = (column, where)
            self.clipped[key] = self.clipped.get(key, 0) + count

    def parent_block_rows(self) -> np.ndarray:
        """Every row of the block of primary-parent rows this fact block was born from."""
        assert self.parent_block is not None and self.table.node.primary_parent is not None
        k, b = self.parent_block, self.block_rows
        size = self.store.rows[self.table.node.primary_parent]
        return np.arange(k * b, min((k + 1) * b, size), dtype=np.int64)

    def rng(self, column: str, purpose: str = "") -> np.random.Generator:
        return block_rng(self.seed, self.node_id, column, self.index, purpose)

    @cached_property
    def row_numbers(self) -> np.ndarray:
        return np.arange(self.row_start, self.row_start + self.n, dtype=np.int64)

    @cached_property
    def timeframe_us(self) -> tuple[int, int]:
        tf = self.schema.timeframe
        return int(to_us(tf.start_dt)), int(to_us(tf.end_dt))

    def source_rows(self, table: str) -> np.ndarray:
        """Which row of `table` each row of this block refers to: the parent row for the primary parent,
        otherwise one random existing row per (row, table), shared by every column reading that table
        (weighted by segment fanout when `table` is a further parent with segment_behavior)."""
        if table == self.table.node.primary_parent and self.parent_rows is not None:
            return self.parent_rows
        if table not in self._sources:
            size = self.store.rows.get(table, 0)
            if size == 0:
                self._sources[table] = np.full(self.n, -1, dtype=np.int64)
            else:
                rng = self.rng(f"__row_of__{table}")
                further_parent = table in (self.table.node.parents or [])
                cum = self.store.reference_weights.get(table) if further_parent else None
                if cum is None:
                    self._sources[table] = rng.integers(0, size, self.n)
                else:  # segment fanout of a non-primary parent (docs/schema-language.md §8.1)
                    picked = np.searchsorted(cum, rng.random(self.n) * cum[-1], side="right")
                    self._sources[table] = np.minimum(picked, size - 1)
        return self._sources[table]

    def ancestor_rows(self, table: str) -> np.ndarray:
        """The row of `table` each row of this block refers to as a parent (source_rows), or, for a table
        further up its line of first parents, the row it descends from: each step up finds a fact row's
        parent by the fact's offsets (its first row per parent row), so nothing per row is kept."""
        node = self.table.node
        if table in (node.parents or []):
            return self.source_rows(table)
        name = f"__ancestor__{table}"
        if name not in self._sources:
            assert self.parent_rows is not None and node.primary_parent is not None  # a descendant
            rows, here = self.parent_rows, node.primary_parent
            while here != table:
                rows = np.searchsorted(self.store.offsets[here], rows, side="right") - 1
                up = self.schema.node(here)
                assert up is not None and up.primary_parent is not None  # `table` is on the line
                here = up.primary_parent
            self._sources[name] = rows
        return self._sources[name]

    def related_rows(self, path: Path) -> np.ndarray:
        """The row of the table `path` leads to for each row of the block (-1: none): the first step
        read here, every further one from the row maps of the tables in between
        (docs/schema-language.md §10.4)."""
        if not path.hops:
            return self.row_numbers - self.row_start
        rows = self.source_rows(path.hops[0].to)
        for hop in path.hops[1:]:
            mapped = self.store.row_maps[(hop.table, hop.to)]
            rows = np.where(rows >= 0, mapped[np.maximum(rows, 0)] if len(mapped) else -1, -1)
        return rows

    def value_at(self, path: Path, table: str, column: str) -> np.ndarray:
        """`table.column` of the row `path` leads to (this block's own values for the same row)."""
        if not path.hops:
            return self.values[column]
        rows = self.related_rows(path)
        source = self.store.column(table, column)
        if len(source) == 0:
            return np.full(self.n, None, dtype=object)
        return null_like(source[np.maximum(rows, 0)], rows < 0)

    def picked_rows(self, table: str, on: dict[str, str]) -> np.ndarray:
        """A random row of `table` among those whose `on` columns equal this row's (-1 where none):
        one pick per row and (table, on), shared by every column that picks with them."""
        name = f"__pick__{table}__" + ",".join(f"{a}={b}" for a, b in on.items())
        if name not in self._sources:
            groups = self.store.groups(table, tuple(on.values()))
            local = [self.values[a] for a in on]
            mine = pd.Index(local[0]) if len(local) == 1 else pd.MultiIndex.from_arrays(local)
            group = np.asarray(groups.keys.get_indexer(mine), dtype=np.int64)
            found = group >= 0
            g = group[found]
            offset = np.floor(self.rng(name).random(self.n)[found] * groups.size[g]).astype(np.int64)
            rows = np.full(self.n, -1, dtype=np.int64)
            rows[found] = groups.order[groups.start[g] + np.minimum(offset, groups.size[g] - 1)]
            self._sources[name] = rows
        return self._sources[name]

    def other_rows(self, table: str) -> np.ndarray:
        """A uniformly drawn row of `table`, the table this block's rows are born from, other than each
        row's own parent row (-1 where the table has no other row): one per row, shared by every column
        that picks one, so a callee's id and number come from the same row."""
        name = f"__other__{table}"
        if name not in self._sources:
            size = self.store.rows.get(table, 0)
            own = self.source_rows(table)
            drawn = np.floor(self.rng(name).random(self.n) * max(size - 1, 0)).astype(np.int64)
            other = drawn + (drawn >= own)  # the rows before the parent, then those after it
            self._sources[name] = other if size > 1 else np.full(self.n, -1, dtype=np.int64)
        return self._sources[name]

    def related_value(self, table: str, column: str) -> np.ndarray:
        """A column of this row (same table) or of the row it refers to in another table."""
        if table == self.node_id:
            return self.values[column]
        rows = self.source_rows(table)
        source = self.store.column(table, column)
        if len(source) == 0:
            return np.full(self.n, None, dtype=object)
        return null_like(source[np.maximum(rows, 0)], rows < 0)
