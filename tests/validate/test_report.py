"""The report's JSON Schema: shipped as docs/validation_report.schema.json, valid draft 2020-12, and
what `Report.to_dict()` produces (every report the other tests make is validated against it too)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from datagen.validate import REPORT_SCHEMA
from datagen.validate.report import Report
from datagen.validate.results import Result
from datagen.validate.structural import REGENERATE

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
