"""A small, fast run that exercises every column and reports what would go wrong at full size.

The LLM layer runs it on every proposed schema; `datagen generate --sample N` runs it by hand.
`problems` stop a schema (an error the full run would hit, an empty table, an all-null column);
`warnings` say what a schema may not have meant (a clamp that piles values up at its bounds)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from datagen.dsl.models import Schema
from datagen.engine.generate import Engine, Options
from datagen.errors import GenerationError

# A clamp that moves more than this share of a column onto its bounds is warned about (at least
# MIN_CLIPPED values, so one unlucky row of a small sample is not).
CLIPPED_SHARE = 0.01
MIN_CLIPPED = 2


@dataclass
class Preflight:
    tables: dict[str, pa.Table] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def preflight(schema: Schema, rows: int = 50, seed: int = 42) -> Preflight:
    """Generate with at most `rows` rows per parent-less table; collect problems instead of raising."""
    result = Preflight()
    engine = Engine(schema, Options(seed=seed, sample=rows))
    chunks: dict[str, list[pa.Table]] = {}
    try:
        engine.run(lambda tid, chunk: chunks.setdefault(tid, []).append(chunk))
    except GenerationError as exc:
        result.problems.append(exc.message)
        return result
    result.tables = {n.id: pa.concat_tables(chunks[n.id]) for n in schema.nodes}
    for node in schema.nodes:
        table = result.tables[node.id]
        parent_rows = result.tables[node.parents[0]].num_rows if node.parents else None
        if table.num_rows == 0 and (parent_rows or (not node.parents and node.row_count > 0)):
            result.problems.append(f"{node.id}: produced no rows (check its fanout or the behaviour block)")
        for col in node.output_columns:  # nulls where none may be, and inf, are refused by the final cast
            nulls = table.column(col.name).null_count
            if table.num_rows and nulls == table.num_rows and col.null_rate < 1:
                result.problems.append(f"{node.id}.{col.name}: every value is null")
    result.warnings += clip_warnings(engine.clipped, {t: x.num_rows for t, x in result.tables.items()})
    return result


def clip_warnings(clipped: dict[tuple[str, str, str], int], rows: dict[str, int]) -> list[str]:
    """One line per clamp that put more than CLIPPED_SHARE of a column's values on its bounds."""
    out = []
    for (table, column, where), count in clipped.items():
        n = rows.get(table, 0)
        if not n or count < MIN_CLIPPED or count / n <= CLIPPED_SHARE:
            continue
        share = f"{count / n:.1%} of the sample's values ({count:,} of {n:,})"
        if where == "clamp":
            out.append(
                f"{table}.{column}: {share} could not be drawn inside the distribution's clamp (it holds "
                "next to none of the distribution at these rows' multipliers) and were clipped to its "
                "bounds, where they pile up; widen the clamp or change the parameters"
            )
        else:
            out.append(
                f"{table}.{column}: the clamp ({where}) clipped {share} to its bounds, where they pile "
                "up; widen it, or bound the values where they are drawn (a distribution's clamp draws "
                "again inside its bounds instead of clipping)"
            )
    return out
