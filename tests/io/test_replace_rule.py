"""The replace rule through the commands: `generate`, `export` and `validate` keep every file datagen
did not write, refuse one that stands in their way, and read only finished outputs of this datagen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from datagen.cli import app
from datagen.io.manifest import MANIFEST_FILE
from tests.engine.conftest import dist, entity, fact, schema

runner = CliRunner()


def small() -> dict:
    people = entity("person", [dist("age", "normal", mean=40, std=10)], rows=200)
    visits = fact("visit", ["person"], [dist("amount", "gamma", shape=2, scale=20)])
    visits["fanout"] = {"distribution": "poisson", "lambda": 2}
    return schema(people, visits)


def cli(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args], terminal_width=200)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(small()), encoding="utf-8")
    return path


def test_generate_into_a_folder_with_a_notebook_keeps_it_on_every_run(
    tmp_path: Path, schema_file: Path
) -> None:
    out = tmp_path / "analysis"
    out.mkdir()
    (out / "explore.ipynb").write_text('{"cells": []}')
    (out / "notes.md").write_text("what I found")
    for seed in ("1", "2"):
        result = cli("generate", schema_file, "-o", out, "--seed", seed, "--validate")
        assert result.exit_code == 0, result.output
        assert (out / "explore.ipynb").read_text() == '{"cells": []}'
        assert (out / "notes.md").read_text() == "what I found"
        assert json.loads((out / ".metadata.json").read_text())["seed"] == int(seed)
    files = json.loads((out / MANIFEST_FILE).read_text())["files"]
    assert files == [".metadata.json", "person.parquet", "validation_report.json", "visit.parquet"]


def test_generate_into_the_working_folder_keeps_the_schema_and_everything_else(
    tmp_path: Path, schema_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("my project")
    before = tree(tmp_path)
    for _ in range(2):
        result = cli("generate", "shop.json", "-o", ".")
        assert result.exit_code == 0, result.output
    after = tree(tmp_path)
    assert {k: after[k] for k in before} == before  # the schema and README untouched
    assert sorted(set(after) - set(before)) == [
        MANIFEST_FILE,
        ".metadata.json",
        "person.parquet",
        "visit.parquet",
    ]
    assert cli("validate", "shop.json", "--data-dir", ".").exit_code == 0


def test_export_into_a_folder_with_user_files_keeps_them(tmp_path: Path, schema_file: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "export"
    assert cli("generate", schema_file, "-o", data).exit_code == 0
    out.mkdir()
    (out / "load.sql").write_text("COPY person FROM 'person.csv'")
    for _ in range(2):
        result = cli("export", schema_file, "--data-dir", data, "-o", out)
        assert result.exit_code == 0, result.output
    assert (out / "load.sql").read_text() == "COPY person FROM 'person.csv'"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            MANIFEST_FILE,
            "dataset.json",
            "load.sql",
            "person.csv",
            "person.csv.manifest",
            "visit.csv",
            "visit.csv.manifest",
        ]
    )


def test_export_into_the_data_folder_is_refused_and_the_data_kept(tmp_path: Path, schema_file: Path) -> None:
    data = tmp_path / "data"
    assert cli("generate", schema_file, "-o", data).exit_code == 0
    before = tree(data)
    result = cli("export", schema_file, "--data-dir", data, "-o", data)
    assert result.exit_code == 2 and "holds a datagen generated dataset" in result.stderr
    assert tree(data) == before


@pytest.mark.parametrize("marker", [".metadata.json", "dataset.json"])
def test_a_folder_with_only_a_foreign_marker_file_is_not_ours(
    tmp_path: Path, schema_file: Path, marker: str
) -> None:
    data = tmp_path / "data"
    assert cli("generate", schema_file, "-o", data).exit_code == 0
    target = tmp_path / "mine"
    target.mkdir()
    (target / marker).write_text('{"mine": true}')
    (target / "photo.jpg").write_bytes(b"\xff\xd8")
    before = tree(target)
    if marker == ".metadata.json":
        result = cli("generate", schema_file, "-o", target)
    else:
        result = cli("export", schema_file, "--data-dir", data, "-o", target)
    assert result.exit_code == 2 and marker in result.stderr and "refusing to replace" in result.stderr
    assert tree(target) == before


def test_an_older_datagens_output_is_refused_by_every_command_with_what_to_do(
    tmp_path: Path, schema_file: Path
) -> None:
    old = tmp_path / "old"
    assert cli("generate", schema_file, "-o", old).exit_code == 0
    (old / MANIFEST_FILE).unlink()  # what an older datagen left: data and .metadata.json, no manifest
    (old / "notes.md").write_text("mine")
    before = tree(old)
    generate = cli("generate", schema_file, "-o", old)
    assert generate.exit_code == 2
    message = " ".join(generate.stderr.split())
    assert ".metadata.json, person.parquet, visit.parquet" in message and "older datagen" in message
    for command in (["validate"], ["export", "-o", tmp_path / "csv"]):
        result = cli(command[0], schema_file, "--data-dir", old, *command[1:])
        assert result.exit_code == 2 and "no .datagen-manifest.json" in result.stderr, result.output
        assert "Traceback" not in result.output
    assert tree(old) == before
    assert not (tmp_path / "csv").exists()


def test_a_users_validation_report_is_never_overwritten(tmp_path: Path, schema_file: Path) -> None:
    data = tmp_path / "data"
    assert cli("generate", schema_file, "-o", data).exit_code == 0
    (data / "validation_report.json").write_text("my own report")
    result = cli("validate", schema_file, "--data-dir", data)
    assert result.exit_code == 2 and "validation_report.json was not written by datagen" in result.stderr
    assert (data / "validation_report.json").read_text() == "my own report"
    elsewhere = tmp_path / "report.json"
    assert cli("validate", schema_file, "--data-dir", data, "-o", elsewhere).exit_code == 0
    assert json.loads(elsewhere.read_text())["summary"]["verdict"] == "pass"


def test_the_default_folder_skips_one_the_user_keeps_other_things_in(
    tmp_path: Path, schema_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "shop").mkdir(parents=True)
    (tmp_path / "data" / "shop" / "raw.csv").write_text("the user's raw data")
    for _ in range(2):  # the second run finds its own output in shop-2 and replaces it
        result = cli("generate", "shop.json")
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["shop", "shop-2"]
    assert [p.name for p in (tmp_path / "data" / "shop").iterdir()] == ["raw.csv"]
    assert (tmp_path / "data" / "shop-2" / "person.parquet").is_file()


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path, schema_file: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    result = cli("generate", schema_file, "-o", target)
    assert result.exit_code == 2 and "exists and is not a folder" in result.stderr
    assert target.read_text() == "keep me"
