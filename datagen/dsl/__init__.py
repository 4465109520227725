"""The schema language: models, checks and the JSON Schema export.

`check()` is the one entry point: text or a parsed document in, a `CheckResult` out (never raises on a
bad schema; the issues say what is wrong). `load_schema()` is the strict form that raises SchemaError."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from datagen.dsl.issues import Issue, IssueList
from datagen.dsl.legacy import is_legacy_note, normalise_legacy
from datagen.dsl.load import document_problems, pydantic_issues, read_json
from datagen.dsl.models import Schema
from datagen.errors import SchemaError

__all__ = ["CheckResult", "Issue", "Schema", "check", "check_file", "load_schema", "schema_hash"]


@dataclass
class CheckResult:
    schema: Schema | None
    issues: list[Issue] = field(default_factory=list)
    document: Any = None  # the JSON after legacy normalisation

    @property
    def ok(self) -> bool:
        return self.schema is not None and not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def notes(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "note"]

    @property
    def legacy_notes(self) -> list[Issue]:
        """What reading an older shape changed (docs/schema-language.md §11), one note per change."""
        return [i for i in self.notes if is_legacy_note(i.code)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "notes": [i.to_dict() for i in self.notes],
        }

    def raise_for_errors(self) -> Schema:
        if not self.ok:
            raise SchemaError(self.issues)
        assert self.schema is not None
        return self.schema


def check(document: Any) -> CheckResult:
    """Validate a parsed JSON document: shape (pydantic), then cross-references (checks/)."""
    from datagen.dsl.checks import Checker

    issues = IssueList()
    if not isinstance(document, dict):
        issues.error(
            "(schema)", f"a schema is a JSON object; found {type(document).__name__}", code="not_object"
        )
        return CheckResult(None, issues.items, document)
    for path, message in document_problems(document):
        issues.error(path, message, code="unreadable_value")
    if issues.errors:
        return CheckResult(None, issues.items, document)
    data = normalise_legacy(document, issues)
    try:
        # by_name=False: the Python names behind aliases (`from_`, `lambda_`) are not DSL keys.
        schema = Schema.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        pydantic_issues(exc, issues)
        issues.note(
            "(schema)",
            "references between tables and columns (and cycles) are checked once the errors above are fixed",
            code="checks_pending",
        )
        return CheckResult(None, issues.items, data)
    Checker(schema, issues).run()
    return CheckResult(schema, issues.items, data)


def check_file(path: str | Path) -> CheckResult:
    """Read and check a schema file; unreadable or non-JSON files raise InputError."""
    return check(read_json(Path(path)))


def load_schema(path: str | Path) -> Schema:
    return check_file(path).raise_for_errors()


def schema_hash(schema: Schema) -> str:
    """Stable hash of the schema's meaning (documentation keys included; key order irrelevant)."""
    text = json.dumps(schema.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
