"""Finishing tables with deferred columns (rollups, running values and what reads them;
docs/architecture.md "Deferred columns").

A table with deferred columns is generated block by block as usual, without them, and its blocks are
*spilled*: written, as cast, to an Arrow IPC file in a private temporary folder instead of the output.
When everything its deferred columns read is complete, the table is *finished*: each block is read
back (memory-mapped, one block at a time), its deferred columns are computed in the plan's order with
the same block keys — so any randomness they use is the block's own — and the whole block goes to the
output. Output stays streaming and atomic, memory stays bounded by a block, and the bytes do not
depend on the chunk size. A table's rows also feed the rollups of its parent as they are written."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from datagen.dsl.generators import RollupGen
from datagen.dsl.models import Column, Schema
from datagen.dsl.references import column_local_refs
from datagen.engine.block import Block, Store
from datagen.engine.cast import arrow_schema, to_arrow
from datagen.engine.rollups import Rollup


def as_values(col: Column, array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A written column back as the engine holds values: numbers (float with NaN where an int column
    has nulls), datetime64[us] times, objects for text (None for null) and for bools with nulls."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        if pa.types.is_timestamp(array.type) and array.type.tz is not None:
            array = array.cast(pa.timestamp(array.type.unit))
        return np.asarray(array.to_numpy(zero_copy_only=False)).astype("datetime64[us]")
    values = array.to_numpy(zero_copy_only=False)
    if col.type in ("string",) or values.dtype.kind == "O":
        return np.asarray(values, dtype=object)
    return np.asarray(values)


@dataclass
class Spill:
    """One table's generated blocks, as cast, in an Arrow IPC file (one record batch per block)."""

    path: Path
    schema: pa.Schema
    writer: pa.ipc.RecordBatchFileWriter | None = None
    table: pa.Table | None = None
    _map: pa.MemoryMappedFile | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.writer = pa.ipc.new_file(str(self.path), self.schema)
        self.writer.write_batch(batch)

    def open(self) -> pa.Table:
        """The spilled rows as one memory-mapped table (read without copying)."""
        if self.writer is None:
            return self.schema.empty_table()
        self.writer.close()
        self._map = pa.memory_map(str(self.path))
        self.table = pa.ipc.open_file(self._map).read_all()
        return self.table

    def close(self) -> None:
        self.table = None
        if self._map is not None:
            self._map.close()
        self.path.unlink(missing_ok=True)


@dataclass
class Finishing:
    """The deferred-column state of one run: spills of tables waiting to be finished, and which rollups
    each table's rows feed."""

    schema: Schema
    store: Store
    folder: Path | None = None
    spills: dict[str, Spill] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fed_by: dict[str, list[tuple[str, Column, RollupGen]]] = {}
        for node in self.schema.nodes:
            for col in node.columns:
                gen = col.generator
                if isinstance(gen, RollupGen) and gen.source is not None:
                    self.fed_by.setdefault(gen.source[0], []).append((node.id, col, gen))

    # --- spilling ------------------------------------------------------------------------------------
    def spill(self, block: Block, deferred: list[str]) -> None:
        """Keep a generated block of a table with deferred columns, as cast, without them."""
        node = block.table.node
        cols = [c for c in node.columns if c.name not in deferred]
        arrays = [to_arrow(c, block.values[c.name], node.id) for c in cols]
        batch = pa.RecordBatch.from_arrays(arrays, names=[c.name for c in cols])
        if node.id not in self.spills:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="datagen-finish-"))
            self.spills[node.id] = Spill(self.folder / f"{len(self.spills)}.arrow", batch.schema)
        self.spills[node.id].write(batch)

    def open(self, table: str, schema: pa.Schema) -> pa.Table:
        """The spilled rows of `table`, for finishing it (an empty table if it had no block)."""
        spill = self.spills.get(table)
        opened = spill.open() if spill is not None else schema.empty_table()
        self.store.spilled[table] = opened
        return opened

    def restore(self, block: Block, part: pa.Table) -> None:
        """Put back into `block.values` the spilled columns its deferred columns read (as the engine
        holds values); the others go to the output as they were spilled."""
        node = block.table.node
        for name in self._read_by_deferred(block):
            col = node.column(name)
            assert col is not None
            block.values[name] = as_values(col, part.column(name))

    @staticmethod
    def _read_by_deferred(block: Block) -> list[str]:
        node = block.table.node
        deferred = set(block.table.deferred)
        names: set[str] = {node.pk} if node.pk and node.pk not in deferred else set()
        for name in deferred:
            col = node.column(name)
            assert col is not None
            names |= column_local_refs(node, col) - deferred
        return sorted(names)

    @staticmethod
    def assemble(block: Block, part: pa.Table) -> pa.Table:
        """The finished block as written: its spilled columns as they are, its deferred ones cast."""
        node = block.table.node
        schema = arrow_schema(node)
        arrays = []
        for name in schema.names:
            col = node.column(name)
            assert col is not None
            if name in part.column_names:
                arrays.append(part.column(name))
            else:
                arrays.append(pa.chunked_array([to_arrow(col, block.values[name], node.id)]))
        return pa.Table.from_arrays(arrays, schema=schema)

    def done(self, table: str) -> None:
        self.store.spilled.pop(table, None)
        spill = self.spills.pop(table, None)
        if spill is not None:
            spill.close()

    def close(self) -> None:
        """Remove every spill (also after a failed or interrupted run)."""
        for table in list(self.spills):
            self.done(table)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    # --- rollups -------------------------------------------------------------------------------------
    def feed(self, block: Block, written: pa.Table) -> None:
        """Fold a written block of a child table into its parent's rollups."""
        node = block.table.node
        if node.id not in self.fed_by or block.parent_rows is None:
            return
        for parent, col, gen in self.fed_by[node.id]:
            state = self.store.rollups.get((parent, col.name))
            if state is None:
                state = Rollup(gen, self.store.rows[parent], node)
                self.store.rollups[(parent, col.name)] = state
            names = gen.child_columns(node)
            columns = {n: self._written(block, written, n) for n in names}
            state.feed(block.parent_rows, columns)

    @staticmethod
    def _written(block: Block, written: pa.Table, name: str) -> np.ndarray:
        node = block.table.node
        col = node.column(name)
        assert col is not None
        if name in written.column_names:
            return as_values(col, written.column(name))
        return as_values(col, to_arrow(col, block.values[name], node.id))  # a column not written out
