"""Schemas written for v1 and the PRD (docs/schema-language.md §11), from tests/dsl/legacy/: each one
checks, upgrades to the current form (idempotently, byte for byte), generates and validates with no
hard failure; the PRD's own segment example generates and its segments are recovered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datagen.cli import app
from datagen.dsl import check
from tests.validate.helpers import validated, write

CORPUS = sorted((Path(__file__).parent / "legacy").glob("*.json"))
runner = CliRunner()


def upgrade(source: Path, target: Path) -> str:
    result = runner.invoke(app, ["upgrade", str(source), "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_legacy_schema_checks_upgrades_generates_and_validates(path: Path, tmp_path: Path) -> None:
    legacy = json.loads(path.read_text(encoding="utf-8"))
    result = check(legacy)
    assert result.ok, [str(e) for e in result.errors]
    assert result.legacy_notes, "every schema of the corpus uses at least one older shape"
    once = upgrade(path, tmp_path / "once.json")
    twice = upgrade(tmp_path / "once.json", tmp_path / "twice.json")
    assert twice == once  # upgrading an upgraded schema changes nothing
    upgraded = json.loads(once)
    again = check(upgraded)
    assert again.ok and again.legacy_notes == []
    write(upgraded, tmp_path / "data")
    report = validated(upgraded, tmp_path / "data")
    assert report.hard_failures == [], [f"{r.check} {r.where}: {r.message}" for r in report.hard_failures]
    assert report.exit_code == 0, [f"{r.check} {r.where}: {r.message}" for r in report.failures]


def test_every_legacy_rule_is_exercised_by_the_corpus() -> None:
    codes = {n.code for p in CORPUS for n in check(json.loads(p.read_text(encoding="utf-8"))).legacy_notes}
    assert codes == {
        "legacy_constraints", "legacy_targets", "legacy_freq", "legacy_key", "legacy_vocab", "legacy_sigma",
        "legacy_faker", "legacy_lookup", "legacy_modifier_dropped", "legacy_parent_time", "legacy_effect_key",
        "legacy_segments", "legacy_segment_column", "legacy_base_probability", "legacy_vintage_column",
        "legacy_influence", "legacy_metric",
    }  # fmt: skip


def test_the_prd_segment_example_generates_and_its_segments_are_recovered(tmp_path: Path) -> None:
    doc = json.loads((Path(__file__).parent / "legacy" / "prd_segments.json").read_text(encoding="utf-8"))
    assert doc["nodes"][0]["segment_behavior"]["vip"] == {"fanout_multiplier": 3.5, "value_multiplier": 5.0}
    assert "constraints" not in doc
    write(doc, tmp_path / "data")
    report = validated(doc, tmp_path / "data")
    segments = [r for r in report.results if r.check == "segment_fanout"]
    assert segments and all(r.status == "pass" for r in segments), [r.message for r in segments]
    assert report.exit_code == 0
