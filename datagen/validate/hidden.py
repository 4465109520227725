"""Hidden helper columns (`"output": false`, docs/schema-language.md §10.4) lent to the checks that
read them.

A hidden helper is generated and read but never written, yet the validator recomputes what reads one:
a running sum of a hidden step, a scoped pick on a hidden key, the children of a hidden segment, an
effect's hidden strength. So each table holding such a helper is regenerated once per validation with
the engine, at the data's own seed, scale and block size, pruned to the tables it is generated from,
chunk by chunk into Parquet beside DuckDB's spill. The data's rows and the regenerated ones are then
paired in order (the n-th row of its files with the n-th regenerated row, each pair checked to hold the
same position and the same written values) into one copy: the data's own columns with the hidden
helpers beside them. A table whose every pair agrees lends its helpers: its view becomes that copy, so
every check reads them as columns of the data while the written values still come from the files. A
table that does not match (its files were edited, or it was generated with another seed, scale or
schema) fails the `hidden_helpers` check with the columns and rows that differ, and each check that
needed its helpers is skipped with that reason: nothing is judged on values nobody can vouch for.

The regenerated helpers are the inputs of an expectation (the steps a running sum adds up), not what is
under test: the written values that depend on them are still checked against them."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.dsl.generators import ExpressionGen, FakerGen
from datagen.dsl.models import Schema
from datagen.dsl.references import node_reads, split_ref, walk_columns
from datagen.engine.generate import Engine, Options
from datagen.errors import DatagenError
from datagen.validate.context import Context, q, sql_text
from datagen.validate.reference import sub_schema
from datagen.validate.results import Result

CHECK = "hidden_helpers"
ROW = "__row"  # a row's position in its table
DIFFERS = "__differs"  # whether a data row and the regenerated row beside it differ
VIRTUAL = ("file_index", "file_row_number")  # DuckDB's columns that number the data's rows


def hidden_inputs(schema: Schema) -> dict[str, set[str]]:
    """Per table, the hidden helpers something the validator recomputes reads: every one read from
    another row (a lookup's source or keys, a rollup's child column, a running start, an effect's
    window or field, a segment, a creation time), read on its own row by a derived column or a
    modifier, filled by a walk, scaled by a parent's behaviour, or carrying modifiers of its own. One
    read only by an expression or a faker of its own row is not: nothing recomputes those."""
    read: set[tuple[str, str]] = set()
    for node in schema.nodes:
        read |= {(r.table, r.column) for r in node_reads(schema, node)}
        read |= {(node.id, c) for c in walk_columns(node)}
        for col in node.columns:
            gen = col.generator
            read |= {(r.table, r.column) for r in gen.deferred_reads(node, schema)}
            if not isinstance(gen, ExpressionGen | FakerGen):
                read |= {(node.id, c) for c in gen.local_columns(col.name)}
            for mod in col.modifiers:
                read |= {(node.id, c) for c in mod.local_columns(node, col)}
            if col.modifiers:
                read.add((node.id, col.name))
        if node.segment_behavior is not None:
            read |= {p for r in node.segment_behavior.applies_to_columns if (p := split_ref(r))}
        if node.vintage_behavior is not None:
            read |= {p for r in node.vintage_behavior.value_columns if (p := split_ref(r))}
    out: dict[str, set[str]] = {}
    for node in schema.nodes:
        for col in node.columns:
            if not col.output and (node.id, col.name) in read:
                out.setdefault(node.id, set()).add(col.name)
    return out


def lend_hidden(ctx: Context) -> list[Result]:
    """Regenerate the tables whose hidden helpers the checks read, and join the helpers of each one that
    matches the data to its view (`ctx.lent`); the others get the reason in `ctx.unlent`. One
    `hidden_helpers` result per regenerated table."""
    wanted = hidden_inputs(ctx.schema)
    if not wanted:
        return []
    options = _options(ctx)
    at = f"the data's seed {options.seed} and scale {options.scale:g}"
    folder = Path(tempfile.mkdtemp(prefix="hidden-", dir=ctx.spill))
    try:
        _regenerate(ctx, set(wanted), options, folder)
    except DatagenError as exc:
        return [_unlent(ctx, t, f"could not be regenerated at {at}: {exc.message}") for t in sorted(wanted)]
    results = []
    for table in sorted(wanted):
        hidden = [c.name for c in ctx.node(table).columns if not c.output]
        regenerated = folder / f"{table}.parquet"
        try:
            results.append(_lend(ctx, table, hidden, regenerated, at))
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            results.append(_unlent(ctx, table, f"could not be compared with its regeneration: {reason}"))
        regenerated.unlink(missing_ok=True)  # what is lent was copied beside it
    return results


def _options(ctx: Context) -> Options:
    """How the data was generated, as `.metadata.json` records it (the defaults without one)."""
    meta = ctx.metadata
    scale, block = meta.get("scale"), meta.get("block_rows")
    options = Options(seed=ctx.seed, scale=float(scale) if isinstance(scale, int | float) else 1.0)
    return dataclasses.replace(options, block_rows=block) if isinstance(block, int) and block > 0 else options


def _regenerate(ctx: Context, tables: set[str], options: Options, folder: Path) -> None:
    """Generate `tables` (and what they are generated from) with every column written, each into
    `folder/<table>.parquet` with its rows numbered, a chunk at a time."""
    sub = sub_schema(ctx.schema, *tables)
    for node in sub.nodes:
        if node.id in tables:
            for col in node.columns:
                col.output = True
    writers: dict[str, pq.ParquetWriter] = {}
    counts: dict[str, int] = {}

    def sink(tid: str, chunk: pa.Table) -> None:
        if tid not in tables:
            return
        start = counts.get(tid, 0)
        chunk = chunk.append_column(ROW, pa.array(np.arange(start, start + chunk.num_rows, dtype=np.int64)))
        if tid not in writers:
            writers[tid] = pq.ParquetWriter(folder / f"{tid}.parquet", chunk.schema)
        writers[tid].write_table(chunk)
        counts[tid] = start + chunk.num_rows

    try:
        Engine(sub, options).run(sink)
    finally:
        for writer in writers.values():
            writer.close()


def _lend(ctx: Context, table: str, hidden: list[str], path: Path, at: str) -> Result:
    """Pair the data's rows with the regenerated ones at `path` in order, into a Parquet copy in the
    spill that holds the data's own columns, the hidden helpers and whether the pair differs (in
    position or in a written column). When no pair does, that copy becomes the table's view."""
    node = ctx.node(table)
    what = f"'{table}' regenerated at {at}"
    clash = [c for c in VIRTUAL if c in node.column_names]
    if clash:
        return _unlent(ctx, table, f"its column {clash[0]} hides how its files number their rows")
    data, regen = _numbered(ctx, table), f"read_parquet({sql_text(str(path))})"
    written = [c for c in node.output_column_names if ctx.has(table, c)]
    differs = {c: f"d.{q(c)} IS DISTINCT FROM g.{q(c)}" for c in written}
    in_files = "".join(f", {q(c)}" for c in hidden if ctx.has(table, c))  # extra columns, reported apart
    copy = path.with_name(f"{table}.lent.parquet")
    lent = sql_text(str(copy))
    ctx.con.execute(
        f"COPY (SELECT d.* EXCLUDE ({ROW}{in_files}), {', '.join(f'g.{q(c)}' for c in hidden)}, "
        f"{' OR '.join([f'd.{ROW} IS DISTINCT FROM g.{ROW}', *differs.values()])} AS {DIFFERS} "
        f"FROM ({data}) d POSITIONAL JOIN {regen} g) TO {lent} (FORMAT parquet)"
    )
    (bad,) = ctx.one(f"SELECT count(*) FILTER (WHERE {DIFFERS}) FROM read_parquet({lent})")
    n = ctx.rows[table]
    if not bad:
        ctx.con.execute(
            f"CREATE OR REPLACE VIEW {q(table)} AS SELECT * EXCLUDE ({DIFFERS}) FROM read_parquet({lent})"
        )
        ctx.lent[table] = set(hidden)
        return Result(
            CHECK,
            "structural",
            table,
            None,
            "pass",
            f"{what} equals the data row for row ({n:,} rows): its hidden helpers ({', '.join(hidden)}) "
            "are read from it",
            hard=True,
            details={"hidden": hidden, "rows": n},
        )
    copy.unlink()
    # what differs, by row number (only now: a join is slower than the pairing in order)
    pairs = f"FROM ({data}) d FULL JOIN {regen} g ON d.{ROW} = g.{ROW}"
    unmatched = f"d.{ROW} IS NULL OR g.{ROW} IS NULL"
    counts = ctx.one(
        f"SELECT {', '.join(f'count(*) FILTER (WHERE {c})' for c in [unmatched, *differs.values()])} {pairs}"
    )
    differing = {c: int(k) for c, k in zip(written, counts[1:], strict=True) if k}
    parts = [f"{c} differs in {k:,} of {n:,} rows" for c, k in differing.items()]
    if counts[0]:
        parts.insert(0, f"{n:,} rows in the files, {pq.ParquetFile(path).metadata.num_rows:,} regenerated")
    why = "; ".join(parts) or "its rows could not be paired in order"
    result = _unlent(ctx, table, f"{what} does not match the files ({why})")
    shown = list(differing)[:3]
    if shown:
        values = ", ".join(f"d.{q(c)} AS {q(c)}, g.{q(c)} AS {q(c + ' regenerated')}" for c in shown)
        where = " OR ".join(differs[c] for c in shown)
        result.examples = ctx.examples(f"SELECT d.{ROW} AS row, {values} {pairs} WHERE {where} ORDER BY row")
    return result


def _numbered(ctx: Context, table: str) -> str:
    """SQL: the table's files with each row's position in the table (`__row`), from DuckDB's file index
    and row number inside the file."""
    files = ", ".join(sql_text(str(f)) for f in ctx.files[table])
    starts = np.concatenate([[0], np.cumsum(ctx.file_rows[table])[:-1]]).astype(np.int64)
    first = f"CAST([{', '.join(map(str, starts))}] AS BIGINT[])[CAST(file_index AS BIGINT) + 1]"
    return f"SELECT *, {first} + file_row_number AS {ROW} FROM read_parquet([{files}])"


def _unlent(ctx: Context, table: str, reason: str) -> Result:
    """A table whose hidden helpers cannot be vouched for: a hard failure, and the reason every check
    reading them gives when it is skipped."""
    ctx.unlent[table] = f"{reason}; see the {CHECK} check of '{table}'"
    hidden = [c.name for c in ctx.node(table).columns if not c.output]
    return Result(
        CHECK,
        "structural",
        table,
        None,
        "fail",
        f"the checks reading its hidden helpers ({', '.join(hidden)}) cannot be trusted: {reason}",
        hard=True,
        details={"hidden": hidden},
        fix="validate the data as datagen generate wrote it, with the schema, seed and scale it was "
        "generated from: regenerate it with datagen generate SCHEMA -o DATA_DIR",
    )
