"""The data under validation: one DuckDB connection with a view per table over its Parquet files.

Every check is a SQL query over these views that returns counts and at most a few example rows, so a
50M-row table is scanned, never loaded into Python; DuckDB's memory limit bounds the rest (it spills
to disk). Timestamps are read in UTC (the session time zone), which is how the engine wrote them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from datagen.dsl.models import Column, Node, Schema
from datagen.dsl.references import split_ref
from datagen.dsl.related_rows import another_row
from datagen.engine.cast import declared_type_of
from datagen.errors import DatagenError, ValidationError
from datagen.io.output import METADATA_FILE, table_files
from datagen.validate.results import MAX_EXAMPLES, Bucket, Result, jsonable

NUMERIC = ("int", "float")
TEMPORAL = ("datetime", "date")


@dataclass(frozen=True)
class Settings:
    """`z`: how many standard errors a statistic may stray before a behavioural check fails (4 keeps
    false alarms rare over dozens of strata); `reference_rows`: size of engine-made reference samples."""

    z: float = 4.0
    reference_rows: int = 50_000
    memory_limit: str = "2GB"
    threads: int | None = None


def stored_kind(t: pa.DataType) -> str:
    """The declared type an Arrow type stores naturally (`other` when none does)."""
    return declared_type_of(t) or "other"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_text(value: str) -> str:
    """A SQL string literal (for regexes, which DuckDB wants as constants)."""
    return "'" + value.replace("'", "''") + "'"


def missing_tables_error(data_dir: Path, missing: list[str]) -> ValidationError:
    names = ", ".join(f"{t}.parquet (or {t}/part-*.parquet)" for t in missing)
    return ValidationError(
        f"{data_dir} has no data for table(s) {', '.join(missing)}: expected {names}",
        hint="generate the data first: datagen generate SCHEMA -o " + str(data_dir),
    )


class Context:
    """What every check reads: the schema, the views, row counts, the stored Arrow schemas, the data's
    seed (for engine-made references that must not share its randomness) and a per-table profile."""

    def __init__(self, schema: Schema, data_dir: Path, settings: Settings | None = None) -> None:
        self.schema = schema
        self.data_dir = Path(data_dir)
        self.settings = settings or Settings()
        if not self.data_dir.is_dir():
            raise ValidationError(
                f"data folder {self.data_dir} does not exist",
                hint="generate the data first: datagen generate SCHEMA -o " + str(self.data_dir),
            )
        self.nodes = {n.id: n for n in schema.nodes}
        self.files = {n.id: table_files(self.data_dir, n.id) for n in schema.nodes}
        missing = [t for t, f in self.files.items() if not f]
        if missing:
            raise missing_tables_error(self.data_dir, missing)
        self.metadata = self._read_metadata()
        seed = self.metadata.get("seed")
        self.seed = seed if isinstance(seed, int) else 42
        self.stored: dict[str, list[pa.Schema]] = {}
        self.rows: dict[str, int] = {}
        self.file_rows: dict[str, list[int]] = {}  # rows of each file, in row order
        for tid, files in self.files.items():
            try:
                metas = [pq.ParquetFile(f) for f in files]
            except (OSError, pa.ArrowException) as exc:
                raise ValidationError(
                    f"cannot read the Parquet files of table '{tid}': {exc}",
                    hint="regenerate the data with datagen generate",
                ) from exc
            self.stored[tid] = [m.schema_arrow for m in metas]
            self.file_rows[tid] = [m.metadata.num_rows for m in metas]
            self.rows[tid] = sum(self.file_rows[tid])
        self._tmp = tempfile.TemporaryDirectory(prefix="datagen-validate-")
        self.spill = Path(self._tmp.name)  # DuckDB's spill, and tables the checks regenerate
        self.con = duckdb.connect(config={"memory_limit": self.settings.memory_limit})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET temp_directory = {sql_text(self._tmp.name)}")
        self.con.execute("SET preserve_insertion_order = false")
        # Parquet min/max statistics leave NaN out (as the format says), and DuckDB trusts them to prune
        # row groups and fold `isnan` away (duckdb#25521): a NaN would hide from every check. Checks
        # read every row anyway, so nothing is lost by not pushing filters into the scan.
        self.con.execute("SET disabled_optimizers = 'statistics_propagation,filter_pushdown'")
        if self.settings.threads:
            self.con.execute(f"SET threads = {int(self.settings.threads)}")
        for tid, files in self.files.items():
            paths = ", ".join(sql_text(str(f)) for f in files)
            self.con.execute(f"CREATE VIEW {q(tid)} AS SELECT * FROM read_parquet([{paths}])")
        self._profiles: dict[str, dict[str, dict[str, Any]]] = {}
        self.registered: dict[tuple, str] = {}  # helper tables registered on the connection
        # hidden helpers joined to a table's view (validate/hidden.py), and why a table's could not be
        self.lent: dict[str, set[str]] = {}
        self.unlent: dict[str, str] = {}
        self.cache: dict[tuple, Any] = {}  # reference samples, the enforcement: computed once per run

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def _read_metadata(self) -> dict[str, Any]:
        try:
            meta = json.loads((self.data_dir / METADATA_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    # --- schema helpers ------------------------------------------------------------------------------
    def node(self, table: str) -> Node:
        return self.nodes[table]

    def present(self, table: str) -> set[str]:
        """Columns every file of the table holds (a check on a missing column is skipped; the column
        check reports the absence)."""
        sets = [set(s.names) for s in self.stored[table]]
        return set.intersection(*sets) if sets else set()

    def has(self, table: str, column: str | None) -> bool:
        return column is not None and table in self.stored and column in self.present(table)

    def readable(self, table: str, column: str | None) -> bool:
        """Whether a check can read the column from the table's view: written, or a hidden helper
        lent to it (validate/hidden.py)."""
        return self.has(table, column) or column in self.lent.get(table, ())

    def require(self, table: str, columns: Iterable[str | None]) -> None:
        """Raise DatagenError (the check is skipped, saying why) when a hidden helper among `columns`
        cannot be read; written columns the files lack are the column check's to report."""
        node = self.nodes[table]
        for name in columns:
            col = node.column(name) if name else None
            if col is None or col.output or self.readable(table, name):
                continue
            why = self.unlent.get(table, "it is not in the data")
            raise DatagenError(f"'{table}.{name}' is a hidden helper (\"output\": false) and {why}")

    def column(self, ref: str) -> tuple[Node, Column] | None:
        parts = split_ref(ref)
        if parts is None or parts[0] not in self.nodes:
            return None
        node = self.nodes[parts[0]]
        col = node.column(parts[1])
        return (node, col) if col is not None else None

    def key(self, table: str) -> str | None:
        """The table's primary key if the data has it (examples name rows by it)."""
        pk = self.nodes[table].pk
        return pk if self.has(table, pk) else None

    def link(self, child: str, parent: str) -> tuple[str, str] | None:
        """How a child row finds its parent row: a foreign key from child to parent (declared or implied
        by a lookup into the parent's key), preferring one that targets the parent's primary key; never
        one holding a random other row of the parent table (a callee)."""
        pk = self.nodes[parent].pk
        found = []
        for fk in self.schema.constraints.foreign_keys:
            a, b = split_ref(fk.from_), split_ref(fk.to)
            if (
                a
                and b
                and a[0] == child
                and b[0] == parent
                and self.readable(child, a[1])
                and self.has(parent, b[1])
                and not another_row(self.nodes[child], a[1])
            ):
                found.append((a[1], b[1]))
        found.sort(key=lambda pair: pair[1] != pk)
        return found[0] if found else None

    # --- queries -------------------------------------------------------------------------------------
    def attempt(
        self,
        check: str,
        bucket: Bucket,
        table: str,
        column: str | None,
        fn: Callable[..., Result],
        *args: Any,
        hard: bool = False,
    ) -> Result:
        """Run one check; a query the data cannot answer (a column stored with another type, …) is a
        failed check that says why, and a reference the engine cannot make is a skipped one."""
        try:
            return fn(*args)
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            return Result(check, bucket, table, column, "fail", f"could not be checked: {reason}", hard=hard)
        except DatagenError as exc:
            return Result(check, bucket, table, column, "skip", f"not checked: {exc.message}", hard=hard)

    def fetch(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def one(self, sql: str, params: list[Any] | None = None) -> tuple:
        """The first row of a query. Every result is read to its end (`fetchall`): one left open keeps
        the connection busy, and the next query through another API (`con.sql`, `register`) fails."""
        rows = self.fetch(sql, params)
        assert rows
        return rows[0]

    def duplicates(self, table: str, column: str) -> tuple[int, int, list[dict[str, Any]]]:
        """Repeated non-null values of a column: (how many values, how many rows share them, examples)."""
        t, x = q(table), q(column)
        groups = f"FROM {t} WHERE {x} IS NOT NULL GROUP BY {x} HAVING count(*) > 1"
        values, rows = self.one(f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n {groups})")
        examples = (
            self.examples(f"SELECT {x} AS {x}, count(*) AS rows {groups} ORDER BY {x}") if values else []
        )
        return int(values), int(rows), examples

    def examples(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Up to five rows of a query as JSON-ready dicts."""
        cur = self.con.execute(f"SELECT * FROM ({sql}) LIMIT {MAX_EXAMPLES}", params or [])
        names = [d[0] for d in cur.description]
        return [jsonable(dict(zip(names, row, strict=True))) for row in cur.fetchall()]

    def profile(self, table: str) -> dict[str, dict[str, Any]]:
        """Per column: nulls (NaN included), min/max/mean/std where they mean something, approximate
        distinct values — one scan of the table, shared by the null checks and the report."""
        if table in self._profiles:
            return self._profiles[table]
        node = self.nodes[table]
        present = self.present(table)
        parts: list[str] = []
        cols = [c for c in node.columns if c.name in present]
        kinds = {c.name: stored_kind(self.stored[table][0].field(c.name).type) for c in cols}
        for i, c in enumerate(cols):
            x, kind = q(c.name), kinds[c.name]
            # NaN counts as null (the engine never writes one; other writers may)
            v = f"nullif(CAST({x} AS DOUBLE), 'NaN'::DOUBLE)" if kind == "float" else x
            parts += [f"approx_count_distinct({x}) AS d{i}", f"count({v}) AS c{i}"]
            if kind in NUMERIC:
                parts += [
                    f"min({v}) AS lo{i}",
                    f"max({v}) AS hi{i}",
                    f"avg({v}) AS m{i}",
                    f"stddev_samp({v}) AS s{i}",
                ]
            elif kind in TEMPORAL:
                parts += [f"min({x}) AS lo{i}", f"max({x}) AS hi{i}"]
            elif kind == "bool":
                parts += [f"avg(CAST({x} AS INTEGER)) AS m{i}"]
            else:
                length = f"length(CAST({x} AS VARCHAR))"
                parts += [f"min({length}) AS lo{i}", f"max({length}) AS hi{i}"]
        out: dict[str, dict[str, Any]] = {}
        if cols:
            cur = self.con.execute(f"SELECT {', '.join(parts)} FROM {q(table)}")
            names = [d[0] for d in cur.description]
            row = dict(zip(names, cur.fetchall()[0], strict=True))  # read to the end: see `one`
            n = self.rows[table]
            for i, c in enumerate(cols):
                nulls = n - int(row[f"c{i}"])
                stats: dict[str, Any] = {
                    "type": c.type,
                    "stored_type": str(self.stored[table][0].field(c.name).type),
                    "nulls": nulls,
                    "null_share": nulls / n if n else 0.0,
                    "distinct": int(row[f"d{i}"] or 0),
                }
                kind = kinds[c.name]
                if kind in NUMERIC or kind in TEMPORAL:
                    stats["min"], stats["max"] = row[f"lo{i}"], row[f"hi{i}"]
                elif kind == "string":
                    stats["min_length"], stats["max_length"] = row[f"lo{i}"], row[f"hi{i}"]
                if kind in NUMERIC:
                    stats["mean"], stats["std"] = row[f"m{i}"], row[f"s{i}"]
                elif kind == "bool":
                    stats["true_share"] = row[f"m{i}"]
                out[c.name] = jsonable(stats)
        self._profiles[table] = out
        return out
