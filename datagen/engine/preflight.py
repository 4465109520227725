"""A small, fast run that exercises every column and reports what would go wrong at full size.

The LLM layer runs it on every proposed schema; `datagen generate --sample N` runs it by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from datagen.dsl.models import Schema
from datagen.engine.generate import Options, generate_in_memory
from datagen.errors import GenerationError


@dataclass
class Preflight:
    tables: dict[str, pa.Table] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def preflight(schema: Schema, rows: int = 50, seed: int = 42) -> Preflight:
    """Generate with at most `rows` rows per parent-less table; collect problems instead of raising."""
    result = Preflight()
    try:
        result.tables = generate_in_memory(schema, Options(seed=seed, sample=rows))
    except GenerationError as exc:
        result.problems.append(exc.message)
        return result
    for node in schema.nodes:
        table = result.tables[node.id]
        parent_rows = result.tables[node.parents[0]].num_rows if node.parents else None
        if table.num_rows == 0 and (parent_rows or (not node.parents and node.row_count > 0)):
            result.problems.append(f"{node.id}: produced no rows (check its fanout or the behaviour block)")
        for col in node.columns:  # nulls where none may be, and inf, are refused by the final cast
            nulls = table.column(col.name).null_count
            if table.num_rows and nulls == table.num_rows and col.null_rate < 1:
                result.problems.append(f"{node.id}.{col.name}: every value is null")
    return result
