"""Every bundled example generates, and its data holds what it declares: keys unique, foreign keys
resolve, ranges / patterns / enums / inequalities hold, its simple targets are met. One example also goes
through `datagen generate` to disk, to check the types that land in Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from datagen import cli
from datagen.dsl import check
from datagen.engine.generate import Options, generate_in_memory
from datagen.io.output import table_files
from datagen.resources import examples_dir
from tests.engine.invariants import problems

EXAMPLES = sorted(examples_dir().glob("*.json"))
PARQUET_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.stem)
def example(request: pytest.FixtureRequest):
    result = check(json.loads(request.param.read_text(encoding="utf-8")))
    schema = result.raise_for_errors()
    return schema, generate_in_memory(schema, Options(seed=42))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 8


def test_every_example_generates_every_table(example) -> None:
    schema, tables = example
    assert set(tables) == set(schema.node_ids)
    for node in schema.nodes:
        assert tables[node.id].num_rows > 0, f"{node.id} is empty"
        assert tables[node.id].column_names == node.output_column_names


def test_every_example_holds_what_it_declares(example) -> None:
    """Keys unique and non-null, every FK (declared or implied by a lookup) resolves, and the declared
    ranges, patterns, enums and inequalities hold."""
    schema, tables = example
    assert schema.constraints.foreign_keys, "the check step adds the FKs that lookups imply"
    assert problems(schema, tables) == []


def test_every_example_meets_its_weekend_and_mean_targets(example) -> None:
    schema, tables = example
    targets = schema.targets
    for t in targets.weekend_share if targets else []:
        ts = pd.DatetimeIndex(tables[t.table].column(t.timestamp).drop_null().to_pandas())
        share = (ts.day_of_week >= 5).mean()
        assert t.min <= share <= t.max, f"{t.table}.{t.timestamp}: weekend share {share:.3f}"
    for t in targets.mean_in_range if targets else []:
        mean = pc.mean(tables[t.table].column(t.column)).as_py()
        assert t.min <= mean <= t.max, f"{t.table}.{t.column}: mean {mean:.4g}"


def test_generate_command_writes_declared_types_to_parquet(tmp_path: Path) -> None:
    path = examples_dir() / "ecommerce.json"
    out = tmp_path / "shop"
    result = CliRunner().invoke(cli.app, ["generate", str(path), "-o", str(out), "--scale", "0.1"])
    assert result.exit_code == 0, result.output
    schema = check(json.loads(path.read_text(encoding="utf-8"))).raise_for_errors()
    meta = json.loads((out / ".metadata.json").read_text(encoding="utf-8"))
    for node in schema.nodes:
        files = table_files(out, node.id)
        assert files, f"{node.id} was not written"
        arrow = pq.read_schema(files[0])
        assert arrow.names == node.output_column_names  # hidden helpers are not written
        for column in node.output_columns:
            assert arrow.field(column.name).type == PARQUET_TYPES[column.type], f"{node.id}.{column.name}"
        assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == meta["tables"][node.id]["rows"]
