"""Every mistake in the corpus is reported at its path, in words that say what is wrong and how to fix it;
mistakes are reported together, not first-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.dsl import check, check_file
from datagen.dsl.limits import MAX_SCHEMA_BYTES
from datagen.errors import InputError
from tests.dsl.bad_schemas import CASES, CUSTOMERS, ORDERS, BadCase
from tests.dsl.edits import append, base_schema, edited, put


def test_the_base_schema_is_valid() -> None:
    """Otherwise every case below would pass for the wrong reason."""
    result = check(base_schema())
    assert result.ok, result.errors
    assert result.warnings == []


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_schema_is_reported_at_its_path(case: BadCase) -> None:
    result = check(edited(case.edit))
    found = [i for i in result.issues if i.severity == case.severity]
    at_path = [i for i in found if i.path == case.path]
    assert at_path, f"nothing at {case.path}; got: " + "; ".join(map(str, found or result.issues))
    lowered = [i.message.lower() for i in at_path]
    for word in case.keywords:
        assert any(word.lower() in m for m in lowered), f"{word!r} not in {[i.message for i in at_path]}"
    if case.severity == "error":
        assert not result.ok
    else:
        assert result.ok, result.errors
    if case.count is not None:
        assert len(found) == case.count, "\n".join(map(str, found))


# --- all at once ----------------------------------------------------------------------------------------

SHAPE_MISTAKES = [
    put("version", "3"),
    put("timeframe.freq", "now and then"),
    put(f"{CUSTOMERS}.rows", -1),
    put(f"{CUSTOMERS}.columns[1].generator.choice.weights", [1]),
    put(f"{ORDERS}.columns[3].generator.distribution.params.sd", 1),
]
REFERENCE_MISTAKES = [
    put(f"{CUSTOMERS}.pk", "id"),
    put(f"{ORDERS}.columns[1].generator.lookup.from", "customer.customer_id"),
    put(f"{ORDERS}.columns[4].generator.expression.code", "amont * 0.21"),
    put("constraints.ranges", [{"attr": "orders.amout", "min": 0}]),
    put("dag", [["orders"], ["customers"]]),
]


def test_five_shape_mistakes_give_five_errors() -> None:
    result = check(edited(*SHAPE_MISTAKES))
    paths = {i.path for i in result.errors}
    assert len(result.errors) == 5, "\n".join(map(str, result.errors))
    assert paths == {
        "version",
        "timeframe.freq",
        "nodes[0].rows",
        "nodes[0].columns[1].generator.choice",
        "nodes[1].columns[3].generator.distribution.params",
    }


def test_five_reference_mistakes_give_five_errors() -> None:
    result = check(edited(*REFERENCE_MISTAKES))
    assert len(result.errors) == 5, "\n".join(map(str, result.errors))
    assert {i.path for i in result.errors} == {
        "nodes[0].pk",
        "nodes[1].columns[1].generator.lookup.from",
        "nodes[1].columns[4].generator.expression.code",
        "constraints.ranges[0].attr",
        "dag",
    }


def test_shape_errors_say_that_reference_checks_are_pending() -> None:
    """References are checked on a well-formed schema only; the user is told, so a second round of errors
    after fixing the first is no surprise."""
    result = check(edited(SHAPE_MISTAKES[0], REFERENCE_MISTAKES[0]))
    assert [i.path for i in result.errors] == ["version"]
    assert any(i.code == "checks_pending" for i in result.notes)
    assert not any(i.code == "checks_pending" for i in check(edited(REFERENCE_MISTAKES[0])).notes)


def test_one_mistake_with_consequences_reports_the_cause_first_among_them() -> None:
    """A duplicate table id must not make references to the first table look like self-references."""
    result = check(edited(append("nodes", {**base_schema()["nodes"][0], "rows": 3})))
    assert [i.path for i in result.errors] == ["nodes[2].id"]


# --- input that is not a schema object ------------------------------------------------------------------


@pytest.mark.parametrize("document", [[1, 2], "schema", None, 3])
def test_a_document_that_is_not_an_object(document: object) -> None:
    result = check(document)
    assert not result.ok
    assert [(i.path, i.code) for i in result.errors] == [("(schema)", "not_object")]
    assert "JSON object" in result.errors[0].message


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{\n  "version": "1.0",\n  "metadata": {"name": "x"}\n  "nodes": []\n}\n')
    with pytest.raises(InputError) as info:
        check_file(path)
    assert f"{path}:4:3" in info.value.message
    assert "Expecting ',' delimiter" in info.value.message
    assert '"nodes": []' in info.value.message  # the offending line is shown
    assert "comma" in (info.value.hint or "")


def test_truncated_json_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"version": "1.0",\n')
    with pytest.raises(InputError, match=r"cut\.json:2:1: not valid JSON"):
        check_file(path)


@pytest.mark.parametrize("make", ["missing", "folder", "binary"])
def test_unreadable_files_are_input_errors(tmp_path: Path, make: str) -> None:
    path = tmp_path / "s.json"
    if make == "folder":
        path.mkdir()
    elif make == "binary":
        path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InputError):
        check_file(path)


def test_check_file_reads_a_valid_schema(tmp_path: Path) -> None:
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(base_schema()))
    assert check_file(path).ok


# --- input that would crash before a model sees it (issue 10) -------------------------------------------


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(base_schema()).encode())
    assert check_file(path).ok


def test_an_integer_with_5000_digits_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "digits.json"
    text = json.dumps(base_schema(), indent=1).replace('"rows": 1000', '"rows": ' + "9" * 5000)
    path.write_text(text)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "9" * 50 in x)
    with pytest.raises(InputError, match=rf"digits\.json:{line}:\d+: a number with 5000 digits"):
        check_file(path)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(tmp_path: Path, literal: str) -> None:
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(base_schema()).replace('"owner": "me"', f'"owner": {literal}'))
    with pytest.raises(InputError, match=f"{literal.lstrip('-')} is not a JSON number"):
        check_file(path)


def test_json_nested_100k_deep_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError, match="nested too deeply"):
        check_file(path)


def test_metadata_nested_900_deep_is_reported_at_its_key() -> None:
    doc = base_schema()
    doc["metadata"]["deep"] = json.loads("[" * 900 + "]" * 900)  # too deep for copy.deepcopy in put()
    result = check(doc)
    assert [(i.path, i.code) for i in result.errors] == [("metadata.deep", "unreadable_value")]
    assert "nested more than 64 levels" in result.errors[0].message


@pytest.mark.parametrize(
    ("where", "text"),
    [("metadata.name", "sh\ud800op"), (f"{CUSTOMERS}.columns[1].generator.choice.choices[0]", "U\udc00S")],
)
def test_a_lone_surrogate_in_text_is_reported_at_its_path(where: str, text: str) -> None:
    result = check(edited(put(where, text)))
    assert [i.path for i in result.errors] == [where]
    assert "lone surrogate" in result.errors[0].message


def test_a_lone_surrogate_in_a_key_is_reported() -> None:
    result = check(edited(put("metadata.k\udfffey", 1)))
    assert [i.path for i in result.errors] == ["metadata"]


def test_an_endless_file_is_read_only_up_to_the_limit() -> None:
    """/dev/zero never ends: reading stops at the size limit and says so."""
    with pytest.raises(InputError, match=r"larger than 4 MB.*reading stopped after 4 MB"):
        check_file("/dev/zero")


def test_a_file_just_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({**base_schema(), "padding": " " * MAX_SCHEMA_BYTES}))
    with pytest.raises(InputError, match="larger than 4 MB"):
        check_file(path)
