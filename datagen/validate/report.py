"""The validation report: every result, the score, the verdict and a profile of each table — one
object that the console, `validation_report.json`, the one-shot `datagen nl` and the TUI all show.

`REPORT_SCHEMA` is the JSON Schema (draft 2020-12) of `Report.to_dict()`; it is shipped as
docs/validation_report.schema.json and every report the tests produce is validated against it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datagen import __version__
from datagen.validate.results import BUCKETS, Result, jsonable
from datagen.validate.score import DEFAULT_THRESHOLD, WEIGHTS, Tally, quality_score, tally

REPORT_VERSION = 1


@dataclass
class Report:
    dataset: str
    schema_hash: str
    data_dir: str
    results: list[Result]
    tables: dict[str, dict[str, Any]]
    threshold: float = DEFAULT_THRESHOLD
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return quality_score(self.results)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.failed]

    @property
    def hard_failures(self) -> list[Result]:
        return [r for r in self.failures if r.hard]

    @property
    def ok(self) -> bool:
        """Every hard check passed and the score reaches the threshold."""
        return not self.hard_failures and self.score >= self.threshold

    @property
    def passed(self) -> bool:
        return self.ok

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        buckets = tally(self.results)
        per_table: dict[str, Tally] = {t: Tally() for t in self.tables}
        for r in self.results:
            per_table.setdefault(r.table, Tally()).add(r)
        total = Tally()
        for r in self.results:
            total.add(r)
        return {
            "report_version": REPORT_VERSION,
            "datagen_version": __version__,
            "dataset": self.dataset,
            "schema_hash": self.schema_hash,
            "data_dir": self.data_dir,
            "summary": {
                "quality_score": self.score,
                "threshold": self.threshold,
                "verdict": "pass" if self.ok else "fail",
                "exit_code": self.exit_code,
                "passed": total.passed,
                "failed": total.failed,
                "skipped": total.skipped,
                "hard_failed": len(self.hard_failures),
                "buckets": {b: {"weight": WEIGHTS[b], **buckets[b].to_dict()} for b in BUCKETS},
                "tables": {
                    t: {**tl.to_dict(), "score": quality_score(r for r in self.results if r.table == t)}
                    for t, tl in per_table.items()
                },
                "rows": self.rows,
                "seconds": round(self.seconds, 3),
                "rows_per_second": round(self.rows / self.seconds) if self.seconds > 0 else None,
            },
            "checks": [r.to_dict() for r in self.results],
            "failures": [{k: v for k, v in r.to_dict().items() if k in FAILURE_KEYS} for r in self.failures],
            "tables": jsonable(self.tables),
        }


FAILURE_KEYS = ("check", "table", "column", "bucket", "hard", "message", "examples", "fix")

_NUM_OR_NULL = {"type": ["number", "null"]}
_COUNTS = {
    "checks": {"type": "integer", "minimum": 0},
    "passed": {"type": "integer", "minimum": 0},
    "failed": {"type": "integer", "minimum": 0},
    "skipped": {"type": "integer", "minimum": 0},
    "score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
}
_TALLY = {"type": "object", "required": list(_COUNTS), "properties": _COUNTS, "additionalProperties": False}
_RESULT_PROPS: dict[str, Any] = {
    "check": {
        "type": "string",
        "description": "what was checked: primary_key, foreign_key, range, seasonality, …",
    },
    "bucket": {"enum": list(BUCKETS)},
    "table": {"type": "string"},
    "column": {"type": ["string", "null"]},
    "status": {"enum": ["pass", "fail", "skip"]},
    "hard": {"type": "boolean", "description": "a failed hard check fails the run whatever the score"},
    "message": {"type": "string"},
    "examples": {
        "type": "array",
        "maxItems": 5,
        "items": {"type": "object"},
        "description": "violating rows (by key) or, for statistics, the worst strata",
    },
    "details": {"type": "object", "description": "observed and expected values, per check kind"},
    "fix": {"type": ["string", "null"], "description": "what to change when the check fails"},
}
REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://datagen.dev/schemas/validation_report.schema.json",
    "title": "Datagen validation report",
    "type": "object",
    "required": [
        "report_version",
        "datagen_version",
        "dataset",
        "schema_hash",
        "data_dir",
        "summary",
        "checks",
        "failures",
        "tables",
    ],
    "additionalProperties": False,
    "properties": {
        "report_version": {"const": REPORT_VERSION},
        "datagen_version": {"type": "string"},
        "dataset": {"type": "string"},
        "schema_hash": {"type": "string"},
        "data_dir": {"type": "string"},
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "quality_score",
                "threshold",
                "verdict",
                "exit_code",
                "passed",
                "failed",
                "skipped",
                "hard_failed",
                "buckets",
                "tables",
                "rows",
                "seconds",
                "rows_per_second",
            ],
            "properties": {
                "quality_score": {"type": "number", "minimum": 0, "maximum": 100},
                "threshold": {"type": "number"},
                "verdict": {"enum": ["pass", "fail"]},
                "exit_code": {"enum": [0, 1]},
                "passed": {"type": "integer", "minimum": 0},
                "failed": {"type": "integer", "minimum": 0},
                "skipped": {"type": "integer", "minimum": 0},
                "hard_failed": {"type": "integer", "minimum": 0},
                "buckets": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(BUCKETS),
                    "properties": {
                        b: {
                            "type": "object",
                            "required": ["weight", *_COUNTS],
                            "properties": {"weight": {"type": "number"}, **_COUNTS},
                            "additionalProperties": False,
                        }
                        for b in BUCKETS
                    },
                },
                "tables": {"type": "object", "additionalProperties": _TALLY},
                "rows": {"type": "integer", "minimum": 0},
                "seconds": {"type": "number", "minimum": 0},
                "rows_per_second": _NUM_OR_NULL,
            },
        },
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": list(_RESULT_PROPS),
                "properties": _RESULT_PROPS,
                "additionalProperties": False,
            },
        },
        "failures": {
            "type": "array",
            "items": {
                "type": "object",
                "required": list(FAILURE_KEYS),
                "properties": {k: _RESULT_PROPS[k] for k in FAILURE_KEYS},
                "additionalProperties": False,
            },
        },
        "tables": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["rows", "files", "columns"],
                "additionalProperties": False,
                "properties": {
                    "rows": {"type": "integer", "minimum": 0},
                    "files": {"type": "array", "items": {"type": "string"}},
                    "columns": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["type", "stored_type", "nulls", "null_share", "distinct"],
                            "properties": {
                                "type": {"enum": ["int", "float", "string", "bool", "datetime", "date"]},
                                "stored_type": {"type": "string"},
                                "nulls": {"type": "integer", "minimum": 0},
                                "null_share": {"type": "number", "minimum": 0, "maximum": 1},
                                "distinct": {"type": "integer", "minimum": 0, "description": "approximate"},
                                "min": {},
                                "max": {},
                                "mean": _NUM_OR_NULL,
                                "std": _NUM_OR_NULL,
                                "min_length": {"type": ["integer", "null"]},
                                "max_length": {"type": ["integer", "null"]},
                                "true_share": _NUM_OR_NULL,
                            },
                            "additionalProperties": False,
                        },
                    },
                },
            },
        },
    },
}
