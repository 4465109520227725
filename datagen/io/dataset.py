"""Generate a whole dataset to disk: one Parquet file (or folder of parts) per table, written chunk
by chunk inside an atomic output folder, plus `.metadata.json` (DSL.md §9)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagen import __version__
from datagen.dsl import CheckResult, schema_hash
from datagen.engine.cast import arrow_schema
from datagen.engine.generate import Engine, Options, TableStats
from datagen.engine.rng import BLOCK_ROWS
from datagen.errors import GenerationError
from datagen.io.output import METADATA_FILE, AtomicOutputDir, TableWriter, WrittenTable, write_json_atomic

BYTES_PER_VALUE = 4  # rough compressed Parquet size, for the free-space check
# Fixed row groups make the files byte-identical whatever --chunk-rows is (DSL.md §1).
ROW_GROUP_ROWS = 4 * BLOCK_ROWS


@dataclass
class DatasetResult:
    out_dir: Path
    stats: list[TableStats]
    written: dict[str, WrittenTable]
    metadata: dict[str, Any]


def check_disk(engine: Engine, target: Path) -> None:
    """Refuse before any work when the estimate clearly does not fit on the disk."""
    need = sum(
        rows * len(engine.plan.table(t).node.columns) * BYTES_PER_VALUE
        for t, rows in engine.estimate_rows().items()
    )
    probe = target if target.exists() else next((p for p in target.parents if p.exists()), Path("."))
    free = shutil.disk_usage(probe).free
    if need > free:
        raise GenerationError(
            f"the dataset needs about {need / 1e9:.1f} GB but {probe} has {free / 1e9:.1f} GB free",
            hint="free some space, choose another -o, or lower --scale",
        )


def write_dataset(
    checked: CheckResult,
    out_dir: Path,
    options: Options,
    *,
    on_table_start: Callable[[str, int], None] | None = None,
    on_progress: Callable[[str, int], None] | None = None,
) -> DatasetResult:
    schema = checked.raise_for_errors()
    engine = Engine(schema, options)
    engine.check_size()
    check_disk(engine, out_dir)
    written: dict[str, WrittenTable] = {}
    with AtomicOutputDir(out_dir, marker=METADATA_FILE) as out:
        current: dict[str, TableWriter] = {}

        def sink(tid: str, chunk) -> None:
            if tid not in current:
                for old_id, old in list(current.items()):
                    written[old_id] = old.close()
                    del current[old_id]
                node = engine.plan.table(tid).node
                current[tid] = TableWriter(out.path, tid, arrow_schema(node), row_group_rows=ROW_GROUP_ROWS)
            current[tid].write(chunk)

        stats = engine.run(sink, on_table_start=on_table_start, on_progress=on_progress)
        for tid, w in current.items():
            written[tid] = w.close()
        metadata = build_metadata(checked, engine, stats, written)
        write_json_atomic(out.path / METADATA_FILE, metadata)
    return DatasetResult(out_dir, stats, written, metadata)


def build_metadata(
    checked: CheckResult, engine: Engine, stats: list[TableStats], written: dict[str, WrittenTable]
) -> dict[str, Any]:
    schema = engine.schema
    o = engine.options
    by_id = {s.id: s for s in stats}
    return {
        "dataset": schema.metadata.name,
        "description": schema.metadata.description,
        "schema_hash": schema_hash(schema),
        "seed": o.seed,
        "scale": o.scale,
        "block_rows": o.block_rows,
        "engine_version": __version__,
        "tables": {
            n.id: {
                "rows": by_id[n.id].rows,
                "columns": [{"name": c.name, "type": c.type} for c in n.columns],
                "primary_key": n.pk,
                "files": written[n.id].files if n.id in written else [],
                "seconds": round(by_id[n.id].seconds, 4),
            }
            for n in schema.nodes
        },
        "normalised": [i.to_dict() for i in checked.notes],
        "warnings": [i.to_dict() for i in checked.warnings],
        "inequalities": engine.plan.notes,
    }
