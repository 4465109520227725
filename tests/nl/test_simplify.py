"""The simplifier: drops the failing advanced part (never a table, column or generator) and names it."""

from __future__ import annotations

import pytest

from datagen.nl.simplify import parse_path, simplify
from datagen.nl.trial import try_schema
from tests.nl.scenarios import turn


def test_paths_parse_into_keys_and_indices() -> None:
    assert parse_path("nodes[2].columns[0].modifiers[1].args") == [
        "nodes",
        2,
        "columns",
        0,
        "modifiers",
        1,
        "args",
    ]
    assert parse_path("constraints.foreign_keys[0].to") == ["constraints", "foreign_keys", 0, "to"]


def test_a_failing_behaviour_block_is_dropped() -> None:
    doc = turn("saas_usage", lambda s: s["nodes"][0]["vintage_behavior"].update(created_at_column="nope"))[
        "schema"
    ]
    result = simplify(doc)
    assert result.ok and result.dropped == ["vintage_behavior of table 'users'"]
    assert "vintage_behavior" not in result.document["nodes"][0]
    assert "vintage_behavior" in doc["nodes"][0]  # the input is untouched


def test_only_the_failing_modifier_of_a_column_goes() -> None:
    def edit(s: dict) -> None:
        readings = s["nodes"][1]["columns"][3]
        readings["modifiers"][1]["args"]["time_reference"] = "no_such_column"

    result = simplify(turn("sensors", edit)["schema"])
    assert result.ok and result.dropped == ["a modifier of readings.temperature_c"]
    kept = [m["transform"] for m in result.document["nodes"][1]["columns"][3]["modifiers"]]
    assert kept == ["seasonality", "outliers"]


def test_a_failing_constraint_entry_goes_alone() -> None:
    doc = turn(
        "school", lambda s: s["constraints"]["foreign_keys"].append({"from": "enrollments.x", "to": "y.z"})
    )
    result = simplify(doc["schema"])
    assert result.ok and result.dropped == ["constraints.foreign_keys[1]"]
    assert result.document["constraints"]["foreign_keys"] == [
        {"from": "enrollments.course_id", "to": "courses.course_id"}
    ]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_generation_problem_drops_the_tables_modifiers_first() -> None:
    def edit(s: dict) -> None:
        amount = s["nodes"][1]["columns"][3]
        amount["modifiers"] = [  # growth the checker cannot follow: the sample's values overflow to inf
            {"transform": "trend", "args": {"type": "linear", "growth_rate": 1e308}},
            {"transform": "multiply", "args": {"factor": 10}},
        ]
        amount["generator"]["distribution"]["clamp"] = None

    doc = turn("bookshop", edit)["schema"]
    assert try_schema(doc).stage == "preflight"
    result = simplify(doc)
    assert result.ok and result.dropped == ["the modifiers of orders.amount"]


def test_core_problems_are_not_simplified_away() -> None:
    doc = turn("bookshop", lambda s: s["nodes"][1].update(parents=["clients"]))["schema"]
    result = simplify(doc)
    assert not result.ok and result.dropped == []
    assert any("unknown parent table 'clients'" in str(p) for p in result.evaluation.problems)
