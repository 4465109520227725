"""`datagen check` and `datagen jsonschema` as a user meets them: exit codes, every error at once, the
--json shape, and readable messages (never a traceback) for files that are not schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from datagen.cli import app
from tests.dsl.bad_schemas import CASES, CUSTOMERS, ORDERS
from tests.dsl.edits import base_schema, edited, put

runner = CliRunner()
FIVE_MISTAKES = edited(
    put(f"{CUSTOMERS}.pk", "id"),
    put(f"{ORDERS}.columns[1].generator.lookup.from", "customer.customer_id"),
    put(f"{ORDERS}.columns[4].generator.expression.code", "amont * 0.21"),
    put("constraints.ranges", [{"attr": "orders.amout", "min": 0}]),
    put("dag", [["orders"], ["customers"]]),
)
FIVE_PATHS = [
    "nodes[0].pk",
    "nodes[1].columns[1].generator.lookup.from",
    "nodes[1].columns[4].generator.expression.code",
    "constraints.ranges[0].attr",
    "dag",
]


def flat(text: str) -> str:
    """Rich wraps long summary lines at the terminal width; compare with whitespace collapsed."""
    return " ".join(text.split())


def write(tmp_path: Path, document: object, name: str = "schema.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    return path


def test_valid_schema_exits_0_and_prints_its_notes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(write(tmp_path, base_schema()))])
    assert result.exit_code == 0, result.output
    assert "note timeframe.freq: legacy frequency alias 'H' normalised to 'h'" in result.stdout
    assert "added implied foreign key orders.customer_id -> customers.customer_id" in result.stdout
    assert "2 table(s), 0 warning(s), 5 note(s)" in flat(result.stdout)
    assert result.stderr == ""


def test_warnings_do_not_fail_the_check(tmp_path: Path) -> None:
    doc = edited(put("targets.weekend_share.min", 0.5), put("targets.weekend_share.max", 0.6))
    result = runner.invoke(app, ["check", str(write(tmp_path, doc))])
    assert result.exit_code == 0, result.output
    assert "warning targets.weekend_share[0]: the dow weights" in result.stdout
    assert "1 warning(s)" in flat(result.stdout)


def test_invalid_schema_exits_2_with_every_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a short path, so the summary line is not wrapped inside it
    write(tmp_path, FIVE_MISTAKES, "s.json")
    result = runner.invoke(app, ["check", "s.json"])
    assert result.exit_code == 2
    for p in FIVE_PATHS:
        assert f"error {p}: " in result.stderr
    assert "s.json: 5 error(s)" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_json_output_of_a_valid_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--json", str(write(tmp_path, base_schema()))])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) == {"valid", "errors", "warnings", "notes"}
    assert out["valid"] is True and out["errors"] == [] and out["warnings"] == []
    assert len(out["notes"]) == 5
    for issue in out["notes"]:
        assert set(issue) == {"severity", "path", "code", "message"}
        assert issue["severity"] == "note"
    assert {"code": "legacy_freq", "path": "timeframe.freq"}.items() <= out["notes"][0].items()


def test_json_output_of_an_invalid_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--json", str(write(tmp_path, FIVE_MISTAKES))])
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert out["valid"] is False
    assert sorted(e["path"] for e in out["errors"]) == sorted(FIVE_PATHS)
    assert {e["code"] for e in out["errors"]} >= {"unknown_column", "unknown_table", "expression", "dag"}
    assert all(e["severity"] == "error" and e["message"] for e in out["errors"])


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "version": "1.0",\n  "metadata": {"name": "x"}\n  "nodes": []\n}\n')
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4:3: not valid JSON: Expecting ',' delimiter" in result.stderr
    assert "fix:" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "schema file not found" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"version": "1.0",\n', "2:1: not valid JSON"), ("", "1:1: not valid JSON"), ("[1, 2]", "JSON object")],
)
def test_broken_files_through_the_real_entry_point(tmp_path: Path, content: str, message: str) -> None:
    """The installed entry point, so an uncaught exception would show as 'internal error' here."""
    path = write(tmp_path, content)
    proc = subprocess.run(
        [sys.executable, "-m", "datagen", "check", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_jsonschema_prints_a_draft_2020_12_schema() -> None:
    result = runner.invoke(app, ["jsonschema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert Draft202012Validator(schema).is_valid(base_schema())


def test_check_json_reports_an_unreadable_file_as_json(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"version": "1.0",\n  "nodes": [}')
    result = CliRunner().invoke(app, ["check", str(bad), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["errors"][0]["code"] == "unreadable"
    assert f"{bad}:2:" in report["errors"][0]["message"]


# Each crashed `check` or `generate` with an internal error before (issue 10); the corpus holds them.
HOSTILE_SCHEMAS = [
    "table_id_with_a_trailing_newline",
    "table_id_of_ten_thousand_characters",
    "timeframe_from_year_1_to_9999",
    "freq_zero",
    "freq_negative",
    "freq_nanoseconds",
    "freq_too_large_to_parse",
    "null_among_the_choices_of_a_non_nullable_column",
    "text_among_the_choices_of_an_int_column",
    "modulo_by_zero",
    "text_expression_in_a_float_column",
    "fact_that_is_its_own_parent",
    "choices_ref_to_its_own_table",
    "normal_std_near_the_float_limit",
    "lognormal_sigma_1e5",
    "poisson_lambda_1e30",
    "lognormal_median_past_the_int_range",
    "add_pushes_an_int_column_past_64_bits",
    "sequence_that_runs_past_64_bits",
    "constant_duration_past_the_date_range",
    "regex_with_lookahead",
]


@pytest.mark.parametrize("name", HOSTILE_SCHEMAS)
def test_schemas_generate_cannot_run_exit_2_in_check_and_generate(tmp_path: Path, name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    path = write(tmp_path, edited(case.edit))
    out = tmp_path / "out"
    for command in (["check", str(path)], ["generate", str(path), "-o", str(out)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command[0], result.output, result.exception)
        assert case.path in flat(result.stderr) and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps(base_schema()).replace('"rows": 1000', '"rows": ' + "9" * 5000), "5000 digits"),
        (json.dumps(base_schema()).replace('"rows": 1000', '"rows": 1' + "0" * 400), "401 digits"),
        ('{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        (json.dumps(base_schema()).replace('"shop"', '"sh\\ud800op"'), "lone surrogate"),
    ],
    ids=["5000_digits", "rows_10_400", "nested_100k", "lone_surrogate"],
)
def test_files_that_crashed_the_reader_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, content)
    for command in (["check", str(path)], ["generate", str(path), "-o", str(tmp_path / "out")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command[0], result.output, result.exception)
        assert message in flat(result.stderr) and "Traceback" not in result.output


def test_check_of_dev_zero_stops_reading_and_exits_2() -> None:
    result = runner.invoke(app, ["check", "/dev/zero"])
    assert result.exit_code == 2
    assert "reading stopped after 4 MB" in flat(result.stderr)


def test_a_schema_with_a_byte_order_mark_checks_and_generates(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(base_schema()).encode())
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0
    assert runner.invoke(app, ["generate", str(path), "-o", str(tmp_path / "out")]).exit_code == 0
