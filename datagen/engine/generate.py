"""The driver: tables in plan order, each as a stream of blocks grouped into chunks.

Entity rows are cut into blocks of `block_rows`; fact rows are born per block of primary-parent rows,
so fact block k holds the children of parent block k and its first row number is a prefix sum of the
per-block child counts (computed first; they are cheap). A chunk is a run of whole blocks, so the chunk
size changes only how rows are grouped on disk, never their values."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from datagen.dsl.generators import DistributionGen
from datagen.dsl.limits import MAX_ROWS
from datagen.dsl.models import Node, Schema
from datagen.dsl.references import found_by_value
from datagen.engine import regular
from datagen.engine.behaviours import value_multiplier
from datagen.engine.block import Block, Store
from datagen.engine.bounds import cap
from datagen.engine.cast import arrow_schema, inject_nulls, settle, to_arrow
from datagen.engine.fanout import child_counts
from datagen.engine.finish import Finishing
from datagen.engine.generators import truncate_to_clamp
from datagen.engine.lifecycle import Life, block_life, keeps_life
from datagen.engine.plan import Plan, TablePlan, make_plan
from datagen.engine.registry import GENERATORS, MODIFIERS, Births, behaviour_engine, births
from datagen.engine.rng import BLOCK_ROWS
from datagen.engine.timegrid import to_us
from datagen.errors import DatagenError, GenerationError, InputError

MAX_ROWS_PER_TABLE = MAX_ROWS


@dataclass(frozen=True)
class Options:
    seed: int = 42
    scale: float = 1.0
    chunk_rows: int = 4 * BLOCK_ROWS
    block_rows: int = BLOCK_ROWS
    row_group_rows: int = 4 * BLOCK_ROWS  # a Parquet row group: whole blocks, at least this many rows
    sample: int | None = None  # cap rows of tables without parents (preflight)

    def __post_init__(self) -> None:
        if min(self.block_rows, self.chunk_rows, self.row_group_rows) < 1:
            raise ValueError("block_rows, chunk_rows and row_group_rows must be at least 1")
        if not (math.isfinite(self.scale) and 0 < self.scale <= MAX_ROWS):
            raise InputError(
                f"scale must be a positive number up to {MAX_ROWS:.0e} (got {self.scale})",
                hint="use e.g. --scale 0.1 for a tenth of the rows, --scale 2 for twice as many",
            )


@dataclass
class TableStats:
    id: str
    rows: int = 0
    seconds: float = 0.0
    chunks: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class BlockSpec:
    """One block: its rng key, its first global row and size; for facts, the block of parent rows it
    belongs to and where inside that parent block's children it starts. A parent block whose children
    exceed `block_rows` is split into several blocks, so memory stays bounded by the block size."""

    key: int | str
    row_start: int
    n: int
    parent_block: int | None = None
    child_offset: int = 0


@dataclass
class Layout:
    blocks: list[BlockSpec]
    parent_ranges: list[tuple[int, int]] | None = None  # parent rows of each parent block (facts)
    counts: np.ndarray | None = None  # children per parent row (facts)

    @property
    def total(self) -> int:
        return sum(b.n for b in self.blocks)

    def row_groups(self, rows: int) -> list[tuple[int, int]]:
        """The table's Parquet row groups as runs of whole blocks `[start, stop)`: a group ends with the
        first block that brings it to `rows` rows (the last may hold fewer). Known before any block is
        generated, so a row group can be generated and encoded alone, on any worker, and the files do
        not depend on how blocks were chunked or spread."""
        groups: list[tuple[int, int]] = []
        start = filled = 0
        for k, spec in enumerate(self.blocks):
            filled += spec.n
            if filled >= rows:
                groups.append((start, k + 1))
                start, filled = k + 1, 0
        if start < len(self.blocks):
            groups.append((start, len(self.blocks)))
        return groups


ChunkSink = Callable[[str, pa.Table], None]


class Parts(Protocol):
    """Where row groups generated in other processes go (io/dataset.py): `writer(tid)` is what a worker
    calls with a row group's rows and its index, to write it where the driver can read it (a picklable
    callable returning a small receipt), and `add(tid, receipt)` takes the receipts back in row order."""

    def writer(self, tid: str) -> Callable[[int, pa.Table], Any]: ...

    def add(self, tid: str, part: Any) -> None: ...


@dataclass
class BlockResult:
    """What one generated block leaves behind, whichever process made it: its rows as written, the
    values later tables read (kept columns, its life, its row maps) and the values clamps clipped."""

    n: int
    table: pa.Table
    kept: dict[str, np.ndarray]
    life: Life | None
    row_maps: dict[str, np.ndarray]
    clipped: dict[tuple[str, str], int]


class RemoteBlocks(Protocol):
    """Runs the row groups of a table elsewhere (engine/distributed.py): each is generated and written
    by `write` where it runs; yields, in row-group order, the results of its blocks (without their rows)
    and what `write` returned, so the output is the same as when the driver generates them itself."""

    def results(
        self,
        engine: Engine,
        tp: TablePlan,
        layout: Layout,
        write: Callable[[int, pa.Table], Any],
    ) -> Iterator[tuple[list[BlockResult], Any]]: ...


@dataclass
class Engine:
    schema: Schema
    options: Options = field(default_factory=Options)
    remote: RemoteBlocks | None = None  # where blocks of self-contained tables run (None: here)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex, init=False)  # this run, for workers

    def __post_init__(self) -> None:
        self.plan: Plan = make_plan(self.schema)
        self.store = Store()
        self.clipped: dict[tuple[str, str, str], int] = {}  # (table, column, where) -> values clipped
        # the rows an attribution made for the last parent block (engine/attribution.py)
        self.born_cache: tuple[tuple[str, int], Any] | None = None
        self.finishing = Finishing(self.schema, self.store)  # deferred columns (engine/finish.py)
        self.layouts: dict[str, Layout] = {}  # layouts of generated tables waiting to be finished
        self.row_groups: dict[str, list[int]] = {}  # rows of each Parquet row group, per table
        tf = self.schema.timeframe
        self.tf = (int(to_us(tf.start_dt)), int(to_us(tf.end_dt)))
        self.whole = found_by_value(self.schema)  # key spaces: never scaled nor sampled

    # --- sizes ---------------------------------------------------------------------------------------
    def base_rows(self, node: Node) -> int:
        """Rows of a table that has no parent: vocab values, or `rows` x scale (capped by --sample); a
        table other rows find by a key they make keeps its `rows` (dsl.references.found_by_value)."""
        if node.kind == "vocab":
            return node.vocab_size
        if node.id in self.whole:
            return node.row_count
        rows = node.scaled_rows(self.options.scale)
        return min(rows, self.options.sample) if self.options.sample is not None else rows

    def estimate_rows(self) -> dict[str, float]:
        """Expected rows per table before any work (for the 'too big' check and the progress bar)."""
        est: dict[str, float] = {}
        nodes = {n.id: n for n in self.schema.nodes}
        for tid in self.plan.order:
            node = nodes[tid]
            if not node.parents:
                est[tid] = float(self.base_rows(node))
                continue
            parent = nodes[node.parents[0]]
            per = 1.0
            if node.fanout is not None:
                f = node.fanout
                per = f.mean * (regular.period_count(f.every, *self.tf) if f.every else 1)
                for spec in parent.behaviours:
                    per *= behaviour_engine(spec).max_fanout_factor(spec)
                if f.max is not None:
                    per = min(per, f.max)
            if node.stage_config is not None:
                per = len(node.stage_config.stages)
            est[tid] = est.get(parent.id, 0.0) * per
        return est

    def check_size(self) -> None:
        for tid, rows in self.estimate_rows().items():
            if rows > MAX_ROWS_PER_TABLE:
                raise GenerationError(
                    f"table '{tid}' would have about {rows:.3g} rows, "
                    f"over the limit of {MAX_ROWS_PER_TABLE:.0e}",
                    hint="lower its rows / fanout, or use --scale below 1",
                )

    def layout(self, tp: TablePlan) -> Layout:
        b = self.options.block_rows
        node = tp.node
        if not node.parents:
            total = self.base_rows(node)
            if node.kind == "vocab":
                return Layout([BlockSpec(0, 0, total)])
            return Layout([BlockSpec(k, s, min(b, total - s)) for k, s in enumerate(range(0, total, b))])
        parent = self.plan.table(node.parents[0]).node
        parent_rows = self.store.rows[parent.id]
        ranges = [(s, min(s + b, parent_rows)) for s in range(0, parent_rows, b)]
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing multiplier is capped
            per_block = [self.counts_for(node, parent, k, r0, r1) for k, (r0, r1) in enumerate(ranges)]
        total = sum(int(c.sum()) for c in per_block)
        if total > MAX_ROWS_PER_TABLE:  # multipliers the estimate cannot foresee
            raise GenerationError(
                f"table '{node.id}' would have {total:,} rows, over the limit of {MAX_ROWS_PER_TABLE:.0e}",
                hint="lower its fanout or the multipliers on it (segment, effect, vintage curve)",
            )
        blocks: list[BlockSpec] = []
        start = 0
        for k, counts in enumerate(per_block):
            children = int(counts.sum())
            for j, offset in enumerate(range(0, children, b)):
                n = min(b, children - offset)
                blocks.append(BlockSpec(f"{k}:{j}", start + offset, n, k, offset))
            start += children
        counts = np.concatenate(per_block) if per_block else np.zeros(0, dtype=np.int64)
        return Layout(blocks, ranges, counts)

    def counts_for(self, node: Node, parent: Node, k: int, r0: int, r1: int) -> np.ndarray:
        rows = np.arange(r0, r1, dtype=np.int64)
        born = self.born(node)
        if born is not None:
            return born.counts(self, node, parent, k, rows)
        return child_counts(
            self.options.seed, node, parent, self.store, k, rows, self.tf, behaviour_engine, self.plan
        )

    # --- blocks --------------------------------------------------------------------------------------
    def blocks(
        self, tp: TablePlan, layout: Layout, start: int = 0, stop: int | None = None
    ) -> Iterator[Block]:
        """The blocks `start:stop` of a table's layout (all of them by default)."""
        cum_of: tuple[int, np.ndarray] | None = None
        for spec in layout.blocks[start:stop]:
            parent_rows = born = None
            if spec.parent_block is not None:
                assert layout.parent_ranges is not None and layout.counts is not None  # a fact's layout
                r0, r1 = layout.parent_ranges[spec.parent_block]
                if cum_of is None or cum_of[0] != spec.parent_block:
                    cum_of = (spec.parent_block, np.cumsum(layout.counts[r0:r1]))
                local = np.arange(spec.child_offset, spec.child_offset + spec.n, dtype=np.int64)
                within = np.searchsorted(cum_of[1], local, side="right")
                parent_rows = r0 + within
                born = local - (cum_of[1][within] - layout.counts[r0:r1][within])
            yield Block(
                self.plan,
                tp,
                self.store,
                behaviour_engine,
                self.options.seed,
                spec.key,
                spec.row_start,
                spec.n,
                layout.total,
                parent_rows,
                parent_block=spec.parent_block,
                child_offset=spec.child_offset,
                block_rows=self.options.block_rows,
                born_index=born,
            )

    def fill(self, block: Block, *, finishing: bool = False) -> None:
        """Generate every column of a block, in the plan's order: those computed when the table is
        generated, or (`finishing`) its deferred ones. Each column is settled (cast.settle) once final,
        so every later column reads the value as written."""
        node = block.table.node
        born = self.born(node)
        filled = born.fill(self, block) if born is not None and not finishing else set()
        for name in filled:
            col = node.column(name)
            assert col is not None
            block.values[name] = settle(col, block.values[name])
        deferred = block.table.deferred
        own = {c: spec for spec in node.behaviours for c in behaviour_engine(spec).fills(spec)}
        for name in block.table.column_order:
            if name in filled or (name in deferred) != finishing:
                continue
            col = node.column(name)
            assert col is not None
            try:
                if name in own:  # a column a behaviour block of its own table fills (a lifetime's end)
                    v = behaviour_engine(own[name]).fill_column(own[name], block, name)
                    block.values[name] = settle(col, v)
                    continue
                gen = col.generator
                # An overflow (inf) is not warned about here: the final cast refuses it, by column.
                with np.errstate(over="ignore", invalid="ignore"):
                    v = GENERATORS[type(gen)](block, col, gen)
                    mult = value_multiplier(block, name)
                    if mult is not None:
                        v = v.astype(float) * mult
                    if isinstance(gen, DistributionGen) and gen.distribution.clamp:
                        v = truncate_to_clamp(block, col, gen.distribution, v, mult)
                    for i, mod in enumerate(col.modifiers):
                        v = MODIFIERS[type(mod)](block, col, i, mod, v)
                    v = cap(block, name, v)  # every bound holds, whatever the modifiers did
                block.values[name] = settle(col, inject_nulls(block, col, v))
            except DatagenError as exc:
                raise GenerationError(f"{self.where(block, name)}: {exc.message}", hint=exc.hint) from exc
            except Exception as exc:  # a bug or an input the checks let through: say where
                raise GenerationError(f"{self.where(block, name)}: {type(exc).__name__}: {exc}") from exc

    def born(self, node: Node) -> Births | None:
        """The block a fact's rows are born from (a walk, an attribution or its credit table), if any."""
        return births(self.schema, node)

    def weigh_references(self, node: Node) -> None:
        """Weights of a finished table's rows for children that draw one as a further parent."""
        for spec in node.behaviours:
            weights = behaviour_engine(spec).reference_weights(spec, node, self.store)
            if weights is not None:
                self.store.reference_weights[node.id] = weights

    def where(self, block: Block, column: str) -> str:
        node = block.table.node
        return f"{node.id}.{column} (nodes[{block.table.index}].columns[{node.column_names.index(column)}])"

    def to_table(self, block: Block) -> pa.Table:
        """The block's written columns (hidden helpers are generated, read, and left out here)."""
        node = block.table.node
        arrays = [to_arrow(c, block.values[c.name], node.id) for c in node.output_columns]
        return pa.Table.from_arrays(arrays, schema=arrow_schema(node))

    # --- the whole run -------------------------------------------------------------------------------
    def run(
        self,
        sink: ChunkSink,
        *,
        parts: Parts | None = None,
        on_table_start: Callable[[str, int], None] | None = None,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> list[TableStats]:
        """Generate every table; `sink(table_id, chunk)` receives Arrow tables of whole blocks, one
        table at a time. A table with deferred columns reaches the sink when it is finished. With a
        remote, the row groups of tables that run anywhere are written where they run and reach `parts`."""
        if self.remote is not None and parts is None:
            raise ValueError("an engine with a remote needs parts to receive its row groups")
        self.check_size()
        stats: dict[str, TableStats] = {}
        try:
            for kind, tid in self.plan.steps:
                if kind == "generate":
                    stats[tid] = self.generate_table(tid, sink, parts, on_table_start, on_progress)
                else:
                    self.finish_table(tid, sink, stats[tid])
        finally:
            self.finishing.close()
        return [stats[tid] for tid in self.plan.order]

    def generate_table(
        self,
        tid: str,
        sink: ChunkSink,
        parts: Parts | None,
        on_table_start: Callable[[str, int], None] | None,
        on_progress: Callable[[str, int], None] | None,
    ) -> TableStats:
        """Generate a table block by block: to the sink, or to its spill when it has deferred columns;
        on the remote, row group by row group, to `parts`."""
        tp = self.plan.table(tid)
        st = TableStats(tid)
        t0 = time.perf_counter()
        layout = self.layout(tp)
        groups = layout.row_groups(self.options.row_group_rows)
        self.row_groups[tid] = [sum(b.n for b in layout.blocks[s:e]) for s, e in groups]
        if on_table_start:
            on_table_start(tid, layout.total)
        kept: dict[str, list[np.ndarray]] = {c: [] for c in tp.keep if c not in tp.deferred}
        lives: list[Life] | None = [] if keeps_life(self.schema, tp.node) else None
        row_maps: dict[str, list[np.ndarray]] = {t: [] for t in tp.keep_rows}
        output = Output(self, tid, sink, st)
        if self.remote is not None and parts is not None and self.runs_anywhere(tp):
            for results, part in self.remote.results(self, tp, layout, parts.writer(tid)):
                for result in results:
                    self.keep(tid, result, kept, lives, row_maps)
                output.add_part(parts, part)
                if on_progress:
                    on_progress(tid, sum(r.n for r in results))
        else:
            for block in self.blocks(tp, layout):
                self.fill(block)
                result = self.result(block, kept, lives is not None, row_maps, cast=not tp.deferred)
                self.keep(tid, result, kept, lives, row_maps)
                if tp.deferred:
                    self.finishing.spill(block, tp.deferred)
                else:
                    output.add(block, result.table)
                if on_progress:
                    on_progress(tid, block.n)
        self.store.rows[tid] = layout.total
        self.store.columns[tid] = {c: (np.concatenate(p) if p else np.zeros(0)) for c, p in kept.items()}
        if lives is not None:
            self.store.lives[tid] = Life.concat(lives)
        for t, maps in row_maps.items():
            self.store.row_maps[(tid, t)] = np.concatenate(maps) if maps else np.zeros(0, dtype=np.int64)
        if layout.counts is not None:
            self.store.offsets[tid] = np.concatenate([[0], np.cumsum(layout.counts)]).astype(np.int64)
        if tp.deferred:
            self.layouts[tid] = layout
        else:
            output.close()
        self.weigh_references(tp.node)
        st.rows = layout.total
        st.seconds = time.perf_counter() - t0
        return st

    def runs_anywhere(self, tp: TablePlan) -> bool:
        """Whether a table's blocks need nothing but the store of earlier tables, so any process can
        generate them: not when it has deferred columns, rows born from a walk or an attribution (their
        blocks share per-parent-block work), or rows that feed a rollup of its parent."""
        node = tp.node
        return not tp.deferred and self.born(node) is None and node.id not in self.finishing.fed_by

    def result(
        self,
        block: Block,
        kept: Iterable[str],
        life: bool,
        row_maps: Iterable[str],
        *,
        cast: bool = True,
    ) -> BlockResult:
        """A filled block's result (`cast`: with its rows as written; a spilled block has none yet)."""
        table = self.to_table(block) if cast else arrow_schema(block.table.node).empty_table()
        return BlockResult(
            block.n,
            table,
            {c: block.values[c] for c in kept},
            block_life(block) if life else None,
            {t: block.source_rows(t) for t in row_maps},
            dict(block.clipped),
        )

    def keep(
        self,
        tid: str,
        result: BlockResult,
        kept: dict[str, list[np.ndarray]],
        lives: list[Life] | None,
        row_maps: dict[str, list[np.ndarray]],
    ) -> None:
        """Collect what later tables read from a block's result, in block order."""
        for (column, where), count in result.clipped.items():
            key = (tid, column, where)
            self.clipped[key] = self.clipped.get(key, 0) + count
        for c in kept:
            kept[c].append(result.kept[c])
        if lives is not None and result.life is not None:
            lives.append(result.life)
        for t in row_maps:
            row_maps[t].append(result.row_maps[t])

    def finish_table(self, tid: str, sink: ChunkSink, st: TableStats) -> None:
        """Compute a table's deferred columns, block by block from its spill, and write it."""
        tp = self.plan.table(tid)
        t0 = time.perf_counter()
        layout = self.layouts.pop(tid)
        spilled = self.finishing.open(tid, arrow_schema(tp.node))
        kept: dict[str, list[np.ndarray]] = {c: [] for c in tp.keep if c in tp.deferred}
        output = Output(self, tid, sink, st)
        for block in self.blocks(tp, layout):
            part = spilled.slice(block.row_start, block.n)
            self.finishing.restore(block, part)
            self.fill(block, finishing=True)
            for c in kept:
                kept[c].append(block.values[c])
            output.add(block, self.finishing.assemble(block, part))
        output.close()
        self.finishing.done(tid)
        for c, parts in kept.items():
            self.store.columns[tid][c] = np.concatenate(parts) if parts else np.zeros(0)
        st.seconds += time.perf_counter() - t0


@dataclass
class Output:
    """A table's written blocks on their way to the sink, in chunks of whole blocks; each written block
    also feeds the rollups of the table's parent."""

    engine: Engine
    tid: str
    sink: ChunkSink
    stats: TableStats
    pending: list[pa.Table] = field(default_factory=list)
    rows: int = 0

    def add(self, block: Block, table: pa.Table) -> None:
        """Add a block generated here, as written; it feeds its parent's rollups."""
        self.engine.finishing.feed(block, table)
        self.append(table, block.n)

    def add_part(self, parts: Parts, part: Any) -> None:
        """Add a row group another process generated and wrote (its receipt goes to `parts`)."""
        parts.add(self.tid, part)
        self.stats.chunks += 1

    def append(self, table: pa.Table, n: int) -> None:
        """Add a block's written rows, flushing a chunk when it is full."""
        self.pending.append(table)
        self.rows += n
        if self.rows >= self.engine.options.chunk_rows:
            self.flush()

    def flush(self) -> None:
        self.sink(self.tid, pa.concat_tables(self.pending))
        self.stats.chunks += 1
        self.pending, self.rows = [], 0

    def close(self) -> None:
        if self.pending or self.stats.chunks == 0:
            node = self.engine.plan.table(self.tid).node
            if not self.pending:
                self.pending = [arrow_schema(node).empty_table()]
            self.flush()


def generate_in_memory(schema: Schema, options: Options | None = None) -> dict[str, pa.Table]:
    """Every table as one Arrow table (for previews, preflight and tests; not for big data)."""
    chunks: dict[str, list[pa.Table]] = {}
    engine = Engine(schema, options or Options())
    engine.run(lambda tid, chunk: chunks.setdefault(tid, []).append(chunk))
    return {n.id: pa.concat_tables(chunks[n.id]) for n in schema.nodes}


__all__ = ["Engine", "Options", "TableStats", "generate_in_memory"]
