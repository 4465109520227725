"""The JSON Schema export is for editors, so it must never reject what `datagen check` accepts in the
current form: every example, every drawn valid schema and every v1-shaped schema once upgraded passes
it. (The older shapes the checker reads, docs/schema-language.md §11, are not advertised there.)"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from jsonschema import Draft202012Validator

from datagen.dsl import check
from datagen.dsl.jsonschema import DIALECT, dsl_json_schema
from datagen.resources import examples_dir
from tests.dsl.edits import base_schema, edited, put
from tests.strategies import shard, valid_schemas

EXAMPLES = sorted(examples_dir().glob("*.json"))


@cache
def validator() -> Draft202012Validator:
    schema = dsl_json_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(document: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator().iter_errors(document)]


def test_the_export_is_a_valid_draft_2020_12_schema() -> None:
    schema = dsl_json_schema()
    assert schema["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert set(schema["required"]) == {"version", "metadata", "timeframe", "nodes", "constraints"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_passes_the_json_schema(path: Path) -> None:
    assert schema_errors(json.loads(path.read_text(encoding="utf-8"))) == []


def test_the_base_fixture_passes_the_json_schema() -> None:
    assert schema_errors(base_schema()) == []


@pytest.mark.parametrize("index", range(3))
def test_drawn_schemas_pass_the_checker_and_the_json_schema(index: int) -> None:
    """150 drawn schemas in all, in three shards that spread over the test workers."""

    @shard(index, 50)
    @given(valid_schemas())
    def passes(document: dict) -> None:
        result = check(document)
        assert result.ok, "\n".join(map(str, result.errors))
        assert result.warnings == [], "\n".join(map(str, result.warnings))
        assert schema_errors(document) == []

    passes()


def test_legacy_spellings_the_checker_normalises_pass_the_json_schema() -> None:
    doc = edited(
        put("nodes[1].fanout", {"distribution": "poisson", "lam": 2}),
        put("nodes[0].columns[4].generator.datetime_series.freq", "T"),
        put("metadata.tags", ["v1"]),
        put("comment", "v1"),
    )
    assert check(doc).ok
    assert schema_errors(doc) == []


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parent / "legacy").glob("*.json")), ids=lambda p: p.stem
)
def test_every_upgraded_v1_schema_passes_the_json_schema(path: Path) -> None:
    result = check(json.loads(path.read_text(encoding="utf-8")))
    assert result.ok
    assert schema_errors(result.document) == []


def test_the_json_schema_rejects_what_the_checker_rejects_for_shape() -> None:
    """Not stricter, but not empty either: unknown keys and wrong generator names are caught in the editor."""
    doc = base_schema()
    doc["nodes"][0]["columns"][0]["nulable"] = True
    assert schema_errors(doc)
    doc = base_schema()
    doc["nodes"][0]["columns"][0]["generator"] = {"sequense": {}}
    assert schema_errors(doc)
