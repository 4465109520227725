"""The report's JSON Schema: shipped as docs/validation_report.schema.json, valid draft 2020-12, and
what `Report.to_dict()` produces (every report the other tests make is validated against it too); the
`tables` section's profile of the data."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pyarrow.compute as pc
import pytest

from datagen.validate import REPORT_SCHEMA
from datagen.validate.report import Report
from datagen.validate.results import Result
from datagen.validate.structural import REGENERATE
from tests.validate.helpers import read, shop, validated, write

DOC = Path(__file__).resolve().parents[2] / "docs" / "validation_report.schema.json"


def test_shipped_schema_is_the_one_in_code() -> None:
    assert json.loads(DOC.read_text(encoding="utf-8")) == REPORT_SCHEMA


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)


def test_report_with_awkward_values_is_valid_json() -> None:
    """NaN statistics become null and timestamps text, so the report is strict JSON."""
    failed = Result(
        "range",
        "value",
        "t",
        "x",
        "fail",
        "1 of 2 rows outside",
        hard=True,
        examples=[{"id": i, "x": float("nan")} for i in range(7)],
        details={"observed": float("inf")},
        fix=REGENERATE,
    )
    tables = {"t": {"rows": 2, "files": ["t.parquet"], "columns": {}}}
    doc = Report("d", "h", "dir", [failed], tables).to_dict()
    json.dumps(doc, allow_nan=False)
    jsonschema.validate(doc, REPORT_SCHEMA)
    assert len(doc["failures"][0]["examples"]) == 5
    assert doc["failures"][0]["examples"][0]["x"] is None
    assert set(doc["failures"][0]) >= {"check", "table", "column", "message", "examples"}


def test_schema_rejects_a_report_missing_its_summary() -> None:
    doc = Report("d", "h", "dir", [], {}).to_dict()
    del doc["summary"]["quality_score"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, REPORT_SCHEMA)


def test_tables_section_profiles_every_column(tmp_path: Path) -> None:
    """`tables` gives each table's rows and, per column, the null share and basic stats of the data."""
    write(shop(), tmp_path / "data")
    tables = validated(shop(), tmp_path / "data").to_dict()["tables"]
    orders = read(tmp_path / "data", "orders")
    assert tables["orders"]["rows"] == orders.num_rows and tables["channels"]["rows"] == 3
    assert set(tables["orders"]["columns"]) == set(orders.column_names)
    discount = tables["orders"]["columns"]["discount"]
    assert discount["nulls"] == orders["discount"].null_count > 0
    assert discount["null_share"] == pytest.approx(orders["discount"].null_count / orders.num_rows)
    amount = tables["orders"]["columns"]["amount"]
    assert amount["mean"] == pytest.approx(pc.mean(orders["amount"]).as_py())
    assert (amount["min"], amount["max"]) == (
        pc.min(orders["amount"]).as_py(),
        pc.max(orders["amount"]).as_py(),
    )
    code = tables["customers"]["columns"]["code"]  # "C-####-??"
    assert (code["min_length"], code["max_length"], code["nulls"]) == (9, 9, 0)
