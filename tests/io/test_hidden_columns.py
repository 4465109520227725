"""Hidden helper columns (`"output": false`, docs/schema-language.md §10.4) appear in no output of any
bundled example: not in the Parquet files, `.metadata.json`, the CSV files or `dataset.json`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from datagen.dsl import check
from datagen.engine.generate import Options
from datagen.io.dataset import export_dataset, write_dataset
from datagen.io.output import table_files
from datagen.resources import examples_dir

EXAMPLES = sorted(examples_dir().glob("*.json"))
WITH_HELPERS = ("ecommerce", "healthcare", "iot", "marketing")


def test_the_examples_use_hidden_helpers() -> None:
    hidden = {
        p.stem
        for p in EXAMPLES
        if any(
            not c.output for n in check(json.loads(p.read_text())).raise_for_errors().nodes for c in n.columns
        )
    }
    assert hidden == set(WITH_HELPERS)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_hidden_columns_are_in_no_output(example: Path, tmp_path: Path) -> None:
    checked = check(json.loads(example.read_text(encoding="utf-8")))
    data, export = tmp_path / "data", tmp_path / "export"
    write_dataset(checked, data, Options(seed=1, scale=0.05))
    export_dataset(checked, data, export)
    meta = json.loads((data / ".metadata.json").read_text(encoding="utf-8"))
    listed = {t["id"]: t for t in json.loads((export / "dataset.json").read_text(encoding="utf-8"))["tables"]}
    for node in checked.raise_for_errors().nodes:
        written = node.output_column_names
        for file in table_files(data, node.id):
            assert pq.read_schema(file).names == written, file
        assert [c["name"] for c in meta["tables"][node.id]["columns"]] == written
        with (export / f"{node.id}.csv").open(encoding="utf-8", newline="") as f:
            assert next(csv.reader(f)) == written
        assert [c["name"] for c in listed[node.id]["columns"]] == written
