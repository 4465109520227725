"""Bad input at run time, through the CLI: an unwritable output folder, a full disk, a schema needing
10^12 rows, a failure or Ctrl-C halfway. Each gives one readable message and a non-zero exit code, and
never leaves a half-written dataset (nor a temporary folder) behind."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from datagen import cli
from datagen.dsl import check
from datagen.dsl.generators import DistributionGen
from datagen.engine import registry
from datagen.io import dataset
from tests.engine.conftest import col, dist, entity, expr, fact, one_table, schema, times

runner = CliRunner()


def small() -> dict:
    people = entity("person", [dist("age", "normal", mean=40, std=10)], rows=300)
    visits = fact("visit", ["person"], [dist("amount", "gamma", shape=2, scale=20)])
    visits["fanout"] = {"distribution": "poisson", "lambda": 3}
    return schema(people, visits)


def write_schema(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def generate(tmp_path: Path, doc: dict, out: Path, *extra: str) -> Result:
    return runner.invoke(cli.app, ["generate", str(write_schema(tmp_path, doc)), "-o", str(out), *extra])


def assert_clean_failure(result: Result, out: Path, *words: str, code: int | None = None) -> None:
    """Non-zero exit, one message naming the problem, no traceback, and nothing left in the folder
    the output would have gone to (neither the dataset nor a temporary folder)."""
    assert result.exit_code != 0 and (code is None or result.exit_code == code), result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("error:") + result.stderr.count("interrupted") == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    assert not out.exists()
    if out.parent.is_dir():
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_an_output_folder_that_cannot_be_created_is_refused_before_work(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "data"
    result = generate(tmp_path, small(), out)
    assert_clean_failure(result, out, "cannot write the output folder", "fix:", code=2)
    assert blocker.read_text() == "not a folder"


def test_a_users_file_where_the_output_goes_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    (out / "person.parquet").write_text("the user's own table")
    result = generate(tmp_path, small(), out)
    assert result.exit_code == 2 and "refusing to replace them" in result.stderr
    assert "person.parquet" in result.stderr and "thesis.txt" not in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["person.parquet", "thesis.txt"]
    assert (out / "person.parquet").read_text() == "the user's own table"


def test_a_full_disk_midway_stops_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = pq.ParquetWriter.write_table

    def fill_up(self, table, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:  # the first chunk lands, the second finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fill_up)
    out = tmp_path / "data"
    result = generate(tmp_path, small(), out, "--chunk-rows", "1")
    assert calls["n"] == 2
    assert_clean_failure(result, out, "disk full", code=1)


def test_not_enough_free_space_is_refused_before_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset.shutil, "disk_usage", lambda path: type("U", (), {"free": 1000})())
    monkeypatch.setattr(dataset.Engine, "run", lambda *a, **k: pytest.fail("generation started"))
    out = tmp_path / "data"
    assert_clean_failure(generate(tmp_path, small(), out), out, "GB free", "fix:", code=1)


@pytest.mark.parametrize("how", ["scale", "fanout"])
def test_a_schema_needing_a_trillion_rows_is_refused_before_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    doc = small()
    extra: list[str] = []
    if how == "scale":
        doc["nodes"][0]["rows"] = 10**9
        extra = ["--scale", "1000"]
    else:
        doc["nodes"][0]["rows"] = 10**6
        doc["nodes"][1]["fanout"] = {"distribution": "poisson", "lambda": 10**6}
    monkeypatch.setattr(dataset.Engine, "run", lambda *a, **k: pytest.fail("generation started"))
    out = tmp_path / "data"
    table = "person" if how == "scale" else "visit"
    result = generate(tmp_path, doc, out, *extra)
    assert_clean_failure(result, out, f"'{table}' would have about 1e+12 rows", code=1)


def test_rows_past_the_per_table_limit_are_a_schema_error(tmp_path: Path) -> None:
    doc = small()
    doc["nodes"][0]["rows"] = 10**12
    result = generate(tmp_path, doc, tmp_path / "data")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "nodes[0].rows" in result.stderr and "10,000,000,000" in result.stderr


def test_the_installed_command_prints_the_size_error_without_a_traceback(tmp_path: Path) -> None:
    doc = small()
    doc["nodes"][0]["rows"] = 10**6
    doc["nodes"][1]["fanout"] = {"distribution": "poisson", "lambda": 10**6}
    out = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "datagen", "generate", str(write_schema(tmp_path, doc)), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "would have about 1e+12 rows" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_failure_halfway_leaves_no_dataset_and_keeps_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "data"
    assert generate(tmp_path, small(), out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(block, col, gen):  # the second table's distribution column hits a bug
        if block.node_id == "visit":
            raise ValueError("something unexpected")
        return real(block, col, gen)

    real = registry.GENERATORS[DistributionGen]
    monkeypatch.setitem(registry.GENERATORS, DistributionGen, broken)
    result = generate(tmp_path, small(), out, "--seed", "9")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "visit.amount" in result.stderr and "something unexpected" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old output is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".data")] == []


def test_ctrl_c_midway_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(block, col, gen):
        if block.node_id == "visit":
            raise KeyboardInterrupt
        return real(block, col, gen)

    real = registry.GENERATORS[DistributionGen]
    monkeypatch.setitem(registry.GENERATORS, DistributionGen, interrupted)
    out = tmp_path / "data"
    result = generate(tmp_path, small(), out)
    assert_clean_failure(result, out, "nothing was left half-written", code=130)


def test_a_vintage_value_curve_on_a_child_without_time_is_a_clear_error(tmp_path: Path) -> None:
    """The child's age is measured at its own time; without a time column there is none."""
    doc = small()
    doc["nodes"][0]["columns"].append(
        {"name": "joined_at", "type": "datetime", "generator": {"datetime_series": {}}}
    )
    doc["nodes"][0]["vintage_behavior"] = {
        "created_at_column": "joined_at",
        "age_based_multipliers": {"growth": {"curve": [1.0, 1.5], "applies_to": ["visit.amount"]}},
    }
    out = tmp_path / "data"
    result = generate(tmp_path, doc, out)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "visit" in result.stderr and "datetime column" in result.stderr
    assert not out.exists()


# --- values a column cannot hold: refused by the final cast, never written wrapped or as inf ------------


def amounts(column: dict) -> dict:
    """`amount` (gamma, 1..~200) feeds `column`, whose value only the data can tell."""
    return one_table([dist("amount", "gamma", shape=2, scale=20), column], rows=500)


@pytest.mark.parametrize(
    ("column", "words"),
    [
        (expr("big", "amount * 1e18", "int"), "are outside the 64-bit integer range"),
        (expr("ratio", "amount / (amount - amount)", "float"), "are infinite"),
        (expr("ratio", "amount / (amount - amount)", "float", nullable=True), "are infinite"),
        (expr("ln", "log(amount - 1000)", "float"), "are null or NaN"),
        (expr("later", "start + days(amount * 1000)", "datetime"), "outside the supported date range"),
    ],
    ids=["int_overflow", "inf_in_float", "inf_in_nullable_float", "nan_in_float", "datetime_past_2261"],
)
def test_a_value_the_column_cannot_hold_is_refused_naming_the_column(
    tmp_path: Path, column: dict, words: str
) -> None:
    doc = amounts(column)
    if "start" in column["generator"]["expression"]["code"]:
        doc["nodes"][0]["columns"].insert(1, times("start"))
    assert check(doc).ok, check(doc).errors
    out = tmp_path / "data"
    result = generate(tmp_path, doc, out)
    assert_clean_failure(result, out, f"t.{column['name']}:", words, "fix:", code=1)


def test_nan_in_a_nullable_float_is_written_as_null(tmp_path: Path) -> None:
    """NaN is how the engine carries a missing number; where nulls are allowed it is one."""
    doc = amounts(expr("ln", "log(amount - 30)", "float", nullable=True))
    out = tmp_path / "data"
    assert generate(tmp_path, doc, out).exit_code == 0
    ln = pq.read_table(out / "t.parquet").column("ln")
    amount = pq.read_table(out / "t.parquet").column("amount").to_numpy()
    assert ln.null_count == int((amount <= 30).sum()) > 0
    assert not np.isnan(ln.drop_null().to_numpy()).any()


def test_a_sequence_that_outgrows_64_bits_at_a_larger_scale_is_refused(tmp_path: Path) -> None:
    """At scale 1 the keys fit (check passes); three times the rows would wrap, so generate refuses."""
    doc = one_table([], rows=1000)
    doc["nodes"][0]["columns"][0]["generator"]["sequence"]["start"] = 2**63 - 2000
    assert check(doc).ok
    out = tmp_path / "data"
    result = generate(tmp_path, doc, out, "--scale", "3")
    assert_clean_failure(result, out, "t.id", "outside the 64-bit integer range", code=1)


@pytest.mark.parametrize("scale", ["inf", "nan", "0", "-1", "1e300"])
def test_a_scale_that_is_not_a_positive_finite_number_exits_2(tmp_path: Path, scale: str) -> None:
    out = tmp_path / "data"
    result = generate(tmp_path, small(), out, f"--scale={scale}")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not out.exists()


def test_an_overflowing_vintage_curve_is_refused_by_the_table_size(tmp_path: Path) -> None:
    """A fanout multiplier that overflows is capped per parent, never drawn as garbage or a crash."""
    doc = small()
    doc["nodes"][0]["columns"].append(times("joined_at"))
    doc["nodes"][0]["vintage_behavior"] = {
        "created_at_column": "joined_at",
        "age_based_multipliers": {"activity": {"curve": [1e308, 1e308], "applies_to": "fanout"}},
    }
    out = tmp_path / "data"
    result = generate(tmp_path, doc, out)
    assert_clean_failure(result, out, "'visit' would have", "over the limit of 1e+10", code=1)
    assert "RuntimeWarning" not in result.stderr


def test_a_stage_gap_past_the_timeframe_means_the_stage_is_never_reached(tmp_path: Path) -> None:
    doc = small()
    visit = doc["nodes"][1]
    del visit["fanout"]
    visit["columns"] += [
        col("stage_name", "string", {"choice": {"choices": ["x"]}}),
        col("stage_index", "int", {"sequence": {}}),
        times("at"),
    ]
    visit["stage_config"] = {
        "stages": [{"stage_name": "a", "transition_rate": 1}, {"stage_name": "b", "transition_rate": 1}],
        "gap": {"distribution": "constant", "mean_hours": 1e300},
    }
    out = tmp_path / "data"
    assert generate(tmp_path, doc, out).exit_code == 0
    stages = pq.read_table(out / "visit.parquet").column("stage_name").to_pylist()
    assert stages == ["a"] * 300  # one row per person: the second stage lies beyond the timeframe


def test_a_huge_time_jitter_pushes_times_to_the_timeframe_edges_not_to_wrapped_values(tmp_path: Path) -> None:
    jittered = {**times("at"), "modifiers": [{"transform": "time_jitter", "args": {"std_minutes": 1e300}}]}
    doc = one_table([jittered])
    out = tmp_path / "data"
    assert generate(tmp_path, doc, out).exit_code == 0
    at = pq.read_table(out / "t.parquet").column("at").cast("timestamp[us]").to_numpy()
    # the timeframe's end is exclusive: the latest instant is one microsecond before it
    edges = {np.datetime64("2024-01-01T00:00:00", "us"), np.datetime64("2024-12-31T23:59:59.999999", "us")}
    assert set(at.tolist()) <= {e.astype(object) for e in edges} and len(set(at.tolist())) == 2


def test_a_null_copied_into_a_non_nullable_text_column_is_refused(tmp_path: Path) -> None:
    doc = small()
    doc["nodes"][0]["columns"].append(
        col("nick", "string", {"choice": {"choices": ["a", "b"]}}, nullable=True, null_rate=0.5)
    )
    doc["nodes"][1]["columns"].append(col("nick", "string", {"lookup": {"from": "person.nick"}}))
    out = tmp_path / "data"
    result = generate(tmp_path, doc, out)
    assert_clean_failure(result, out, "visit.nick:", "values are null", "not nullable", code=1)
