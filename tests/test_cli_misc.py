"""CLI commands that are not about checking a schema: version, examples, the bundled JSON Schema file,
preflight, generate's --scale and summary, --debug, and export end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from datagen import __version__
from datagen.cli import app
from datagen.dsl.jsonschema import dsl_json_schema
from datagen.errors import InputError
from datagen.resources import examples_dir

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"datagen {__version__}"


def test_examples_lists_every_example_with_its_description() -> None:
    result = runner.invoke(app, ["examples"], terminal_width=400)
    assert result.exit_code == 0
    for path in sorted(examples_dir().glob("*.json")):
        description = json.loads(path.read_text())["metadata"]["description"]
        line = next(ln for ln in result.stdout.splitlines() if ln.startswith(path.stem + " "))
        assert description[:40] in line


def test_bundled_json_schema_file_is_current() -> None:
    shipped = json.loads((ROOT / "schema" / "datagen.schema.json").read_text())
    assert shipped == dsl_json_schema(), "run: datagen jsonschema > schema/datagen.schema.json"


def test_sample_preflight_previews_every_table_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["generate", str(examples_dir() / "ecommerce.json"), "--sample", "20"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    for table in ("customers", "products", "orders", "order_items"):
        assert table in result.stdout
    assert "preflight ok" in result.stdout
    assert not (tmp_path / "data").exists()


def test_scale_multiplies_parentless_rows_and_the_summary_reports_each_table(tmp_path: Path) -> None:
    """--scale 0.5 halves each parent-less table's rows, children follow; the summary shows rows, rows/s."""
    schema = examples_dir() / "legacy_v1.json"
    doc = json.loads(schema.read_text(encoding="utf-8"))
    full, half = tmp_path / "full", tmp_path / "half"
    assert runner.invoke(app, ["generate", str(schema), "-o", str(full)]).exit_code == 0
    result = runner.invoke(
        app, ["generate", str(schema), "-o", str(half), "--scale", "0.5"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    rows = {p: json.loads((p / ".metadata.json").read_text())["tables"] for p in (full, half)}
    for node in doc["nodes"]:
        n_full, n_half = rows[full][node["id"]]["rows"], rows[half][node["id"]]["rows"]
        if "rows" in node and not node.get("parents"):
            assert n_half == round(node["rows"] * 0.5) and n_full == node["rows"], node["id"]
        else:
            assert n_half < n_full, node["id"]  # children follow their scaled parents
        assert f"{n_half:,}" in result.stdout
    assert "rows/s" in result.stdout and "total" in result.stdout


def test_debug_lets_the_error_through_with_its_traceback(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    quiet = runner.invoke(app, ["check", missing])
    assert quiet.exit_code == 2 and isinstance(quiet.exception, SystemExit)
    loud = runner.invoke(app, ["--debug", "check", missing])
    assert isinstance(loud.exception, InputError)


def test_generate_then_export_writes_csv_manifests_and_dataset(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "csv"
    schema = str(examples_dir() / "legacy_v1.json")
    assert runner.invoke(app, ["generate", schema, "-o", str(data), "--seed", "7"]).exit_code == 0
    meta = json.loads((data / ".metadata.json").read_text())
    assert meta["seed"] == 7 and set(meta["tables"]) == {"agents", "requesters", "tickets", "replies"}
    result = runner.invoke(
        app, ["export", schema, "--data-dir", str(data), "-o", str(out), "--bucket", "in.c-help"]
    )
    assert result.exit_code == 0, result.output
    with (out / "tickets.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == meta["tables"]["tickets"]["rows"]
    manifest = json.loads((out / "tickets.csv.manifest").read_text())
    assert manifest["destination"] == "in.c-help.tickets"
    assert manifest["primary_key"] == ["ticket_id"]
    dataset = json.loads((out / "dataset.json").read_text())
    assert dataset["seed"] == 7


def test_export_rejects_an_unknown_format(tmp_path: Path) -> None:
    schema = str(examples_dir() / "legacy_v1.json")
    result = runner.invoke(
        app, ["export", schema, "--data-dir", str(tmp_path), "-o", str(tmp_path / "o"), "--format", "xlsx"]
    )
    assert result.exit_code == 2
    assert "unknown export format 'xlsx'" in result.output


def test_sample_preflight_reports_a_problem_and_exits_1(tmp_path: Path) -> None:
    schema = {
        "version": "1.0",
        "metadata": {"name": "broken_ratio"},
        "timeframe": {"start": "2024-01-01T00:00:00Z", "end": "2024-12-31T00:00:00Z"},
        "nodes": [
            {
                "id": "t",
                "kind": "entity",
                "pk": "id",
                "rows": 100,
                "columns": [
                    {"name": "id", "type": "int", "generator": {"sequence": {}}},
                    {
                        "name": "zero",
                        "type": "float",
                        "generator": {
                            "distribution": {
                                "type": "uniform",
                                "params": {"low": 0, "high": 1},
                                "clamp": [0, 0],
                            }
                        },
                    },
                    {"name": "ratio", "type": "float", "generator": {"expression": {"code": "1 / zero"}}},
                ],
            },
        ],
        "constraints": {},
    }
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(schema))
    result = runner.invoke(app, ["generate", str(path), "--sample", "10"], terminal_width=200)
    assert result.exit_code == 1
    assert "t.ratio: 10 of 10 values are infinite" in result.output
    assert "preflight ok" not in result.output
