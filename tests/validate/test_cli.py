"""`datagen validate` and `datagen generate --validate`: the report file, the summary, exit codes
0 (hard checks pass, score at or over --threshold), 1 (otherwise) and 2 (bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from datagen.cli import app
from datagen.validate import REPORT_SCHEMA
from tests.validate.helpers import copy_data, rewrite, rows_where, set_column, shop, write

runner = CliRunner()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    schema = root / "shop.json"
    schema.write_text(json.dumps(shop()), encoding="utf-8")
    write(shop(), root / "data")
    return schema, root / "data"


@pytest.fixture
def data(generated: tuple[Path, Path], tmp_path: Path) -> Path:
    return copy_data(generated[1], tmp_path / "data")


def validate(*args: str):
    return runner.invoke(app, ["validate", *args])


def test_clean_data_exits_0_and_writes_the_report(generated: tuple[Path, Path], data: Path) -> None:
    result = validate(str(generated[0]), "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.stdout and "quality score 100.0" in result.stdout
    report = json.loads((data / "validation_report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["summary"]["exit_code"] == 0


def test_report_path_and_json_output(generated: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = validate(str(generated[0]), "--data-dir", str(generated[1]), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(printed, REPORT_SCHEMA)


def test_hard_failure_exits_1_and_says_what_to_change(generated: tuple[Path, Path], data: Path) -> None:
    rewrite(data, "orders", lambda t: pa.concat_tables([t, t.slice(0, 1)]))
    result = validate(str(generated[0]), "--data-dir", str(data))
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "primary_key" in result.stdout and "what to change" in result.stdout
    report = json.loads((data / "validation_report.json").read_text(encoding="utf-8"))
    assert [(f["check"], f["table"], f["column"]) for f in report["failures"]] == [
        ("primary_key", "orders", "order_id")
    ]


def test_threshold_decides_on_soft_failures(generated: tuple[Path, Path], data: Path) -> None:
    def more_nulls(t: pa.Table) -> pa.Table:
        d = t.column("discount").to_numpy(zero_copy_only=False).copy()
        d[rows_where(len(d), 0.5)] = np.nan
        return set_column(t, "discount", pa.array(d, from_pandas=True))

    rewrite(data, "orders", more_nulls)
    assert validate(str(generated[0]), "--data-dir", str(data)).exit_code == 0
    assert validate(str(generated[0]), "--data-dir", str(data), "--threshold", "99").exit_code == 1


def test_invalid_schema_exits_2(tmp_path: Path, generated: tuple[Path, Path]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**shop(), "version": "9"}), encoding="utf-8")
    assert validate(str(bad), "--data-dir", str(generated[1])).exit_code == 2


def test_missing_data_dir_exits_2(generated: tuple[Path, Path], tmp_path: Path) -> None:
    result = validate(str(generated[0]), "--data-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "does not exist" in result.output and "datagen generate" in result.output


def test_missing_table_exits_2_naming_the_file(generated: tuple[Path, Path], data: Path) -> None:
    (data / "orders.parquet").unlink()
    result = validate(str(generated[0]), "--data-dir", str(data))
    assert result.exit_code == 2
    assert "orders.parquet" in result.output and "datagen generate" in result.output


def test_generate_with_validate(generated: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "fresh"
    result = runner.invoke(app, ["generate", str(generated[0]), "-o", str(out), "--validate"])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.stdout
    report = json.loads((out / "validation_report.json").read_text(encoding="utf-8"))
    assert report["summary"]["verdict"] == "pass"
