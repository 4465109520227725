"""The value check on emails built from a name: it passes on the engine's data and fails when the
addresses no longer belong to their rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from tests.faker_helpers import fk
from tests.validate.helpers import col, document, failure, read, rewrite, seq, set_column, validated, write


def _people() -> dict:
    people = {
        "id": "people",
        "kind": "entity",
        "pk": "id",
        "rows": 1500,
        "columns": [
            seq(),
            col("country", "string", {"choice": {"choices": ["DE", "FR", "PL", "CN"]}}),
            fk("full_name", "name", locale_from="country"),
            fk("email", "email", source="full_name", locale_from="country", unique=True),
        ],
    }
    return document(people)


def _result(report, column: str = "email") -> dict:
    found = [r for r in report.to_dict()["checks"] if r["check"] == "email_from_name"]
    assert len(found) == 1 and found[0]["column"] == column
    return found[0]


def test_emails_from_names_pass_and_names_without_latin_letters_are_counted_apart(tmp_path: Path) -> None:
    doc = _people()
    write(doc, tmp_path / "data")
    result = _result(validated(doc, tmp_path / "data"))
    assert result["status"] == "pass" and result["bucket"] == "value" and not result["hard"]
    assert result["details"]["share"] == 1.0
    chinese = int(
        np.sum(read(tmp_path / "data", "people").column("country").to_numpy(zero_copy_only=False) == "CN")
    )
    assert result["details"]["not_compared"] == chinese > 0


def test_emails_shuffled_away_from_their_names_fail(tmp_path: Path) -> None:
    doc = _people()
    write(doc, tmp_path / "data")
    rng = np.random.default_rng(3)
    rewrite(
        tmp_path / "data",
        "people",
        lambda t: set_column(t, "email", rng.permutation(t.column("email").to_numpy(zero_copy_only=False))),
    )
    report = validated(doc, tmp_path / "data")
    failure(report, "email_from_name", "people", "email")
    found = _result(report)
    assert found["status"] == "fail" and found["details"]["share"] < 0.2
    assert found["examples"] and {"email", "full_name"} <= set(found["examples"][0])


def test_a_schema_without_from_has_no_such_check(tmp_path: Path) -> None:
    doc = _people()
    doc["nodes"][0]["columns"][3] = fk("email", "email", locale_from="country")
    write(doc, tmp_path / "data")
    report = validated(doc, tmp_path / "data")
    assert not [r for r in report.to_dict()["checks"] if r["check"] == "email_from_name"]
    assert isinstance(read(tmp_path / "data", "people"), pa.Table)
