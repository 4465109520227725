"""Deterministic fixes: each rewrites one common slip into what it unambiguously means, says so, and
leaves valid schemas alone."""

from __future__ import annotations

import copy
import json

import pytest

from datagen.dsl import check
from datagen.nl.fixes import apply_fixes
from datagen.resources import examples_dir, prompts_dir
from tests.nl.scenarios import REPLIES, turn


def bookshop() -> dict:
    return turn("bookshop")["schema"]


def column(doc: dict, table: str, name: str) -> dict:
    node = next(n for n in doc["nodes"] if n["id"] == table)
    return next(c for c in node["columns"] if c["name"] == name)


@pytest.mark.parametrize(
    "path", sorted(examples_dir().glob("*.json")) + sorted(REPLIES.glob("*.json")), ids=lambda p: p.stem
)
def test_valid_schemas_are_left_exactly_as_they_are(path) -> None:
    doc = json.loads(path.read_text())
    doc = doc.get("schema", doc)
    fixed, notes = apply_fixes(doc)
    assert notes == [] and fixed == doc


def test_the_input_is_not_modified() -> None:
    doc = bookshop()
    doc["version"] = 1.0
    before = copy.deepcopy(doc)
    apply_fixes(doc)
    assert doc == before


def test_generator_written_with_a_type_key() -> None:
    doc = bookshop()
    column(doc, "orders", "order_id")["generator"] = {"type": "sequence", "start": 1}
    column(doc, "customers", "segment")["generator"] = {
        "type": "choice",
        "args": {"choices": ["vip", "regular"], "weights": [0.1, 0.9]},
    }
    assert not check(doc).ok
    fixed, notes = apply_fixes(doc)
    assert column(fixed, "orders", "order_id")["generator"] == {"sequence": {"start": 1}}
    assert column(fixed, "customers", "segment")["generator"] == {
        "choice": {"choices": ["vip", "regular"], "weights": [0.1, 0.9]}
    }
    assert check(fixed).ok
    assert any(n.startswith("nodes[1].columns[0].generator: generator written as") for n in notes)


def test_distribution_parameters_outside_params_and_other_names() -> None:
    doc = bookshop()
    column(doc, "orders", "amount")["generator"] = {
        "distribution": {"type": "normal", "mu": 40, "sd": 12, "clamp": [4, 400]}
    }
    fixed, notes = apply_fixes(doc)
    assert column(fixed, "orders", "amount")["generator"]["distribution"] == {
        "type": "normal",
        "params": {"mean": 40, "std": 12},
        "clamp": [4, 400],
    }
    assert check(fixed).ok
    assert "'sd' read as 'std' (the normal parameter's name)" in " ".join(notes)


def test_an_ambiguous_parameter_is_left_for_the_checker() -> None:
    doc = bookshop()
    params = {"mean": 3.3, "sigma": 0.5, "std": 0.5}  # lognormal: is 'std' the log-space sigma? unknown
    column(doc, "orders", "amount")["generator"]["distribution"]["params"] = params
    fixed, notes = apply_fixes(doc)
    assert notes == [] and not check(fixed).ok


def test_modifier_with_loose_arguments_and_type_for_transform() -> None:
    doc = bookshop()
    column(doc, "orders", "amount")["modifiers"] = [
        {"type": "multiply", "factor": 1.1},
        {"transform": "clamp", "min": 4, "max": 500},
    ]
    fixed, notes = apply_fixes(doc)
    assert column(fixed, "orders", "amount")["modifiers"] == [
        {"transform": "multiply", "args": {"factor": 1.1}},
        {"transform": "clamp", "args": {"min": 4, "max": 500}},
    ]
    assert check(fixed).ok and len(notes) == 3


def test_null_rate_implies_nullable() -> None:
    doc = bookshop()
    column(doc, "orders", "amount")["null_rate"] = 0.05
    assert not check(doc).ok
    fixed, notes = apply_fixes(doc)
    assert column(fixed, "orders", "amount")["nullable"] is True and check(fixed).ok
    assert notes == ['nodes[1].columns[3]: null_rate 0.05 implies nullable; set "nullable": true']


def test_weights_as_a_mapping_and_as_percentages() -> None:
    doc = bookshop()
    column(doc, "customers", "segment")["generator"] = {"choice": {"weights": {"vip": 10, "regular": 90}}}
    fixed, notes = apply_fixes(doc)
    assert column(fixed, "customers", "segment")["generator"]["choice"] == {
        "choices": ["vip", "regular"],
        "weights": [0.1, 0.9],
    }
    assert check(fixed).ok
    assert "weights summed to 100 (percentages); scaled to sum to 1" in notes[-1]
    relative = bookshop()
    column(relative, "customers", "segment")["generator"]["choice"]["weights"] = [1, 3]
    assert apply_fixes(relative) == (relative, [])  # relative weights are valid as they are


def test_a_fact_names_its_parent_through_its_lookups() -> None:
    doc = bookshop()
    del doc["nodes"][1]["parents"]
    fixed, notes = apply_fixes(doc)
    assert fixed["nodes"][1]["parents"] == ["customers"] and check(fixed).ok
    assert "parents set to ['customers']" in notes[0]


def test_an_entity_with_parents_and_no_entity_block_is_a_fact() -> None:
    doc = bookshop()
    doc["nodes"][1]["kind"] = "entity"
    fixed, notes = apply_fixes(doc)
    assert fixed["nodes"][1]["kind"] == "fact" and check(fixed).ok
    assert notes == [
        "nodes[1].kind: \"kind\" is \"entity\" but 'orders' has parents ['customers']: a table born from "
        'parent rows is a fact; kind set to "fact"'
    ]


def pets(**changes) -> dict:
    """The evaluation's case: 3,000 pets written as an entity (it has a segment) with a parent."""
    doc = turn("vet_clinic")["schema"]
    doc["nodes"][1].update({"parents": ["owners"], **changes})
    return doc


def test_an_entity_with_parents_and_a_segment_stays_an_entity_holding_a_foreign_key() -> None:
    fixed, [note] = apply_fixes(pets())
    pets_ = fixed["nodes"][1]
    assert pets_["kind"] == "entity" and "parents" not in pets_ and pets_["rows"] == 3000
    assert pets_["segment_behavior"] == turn("vet_clinic")["schema"]["nodes"][1]["segment_behavior"]
    assert check(fixed).ok
    assert note.startswith("nodes[1].parents: kept 'pets' an entity (only entities take segment_behavior)")
    assert "owner_id now picks a random existing row of owners" in note
    assert "that is how an entity holds a foreign key" in note


def test_an_entity_kept_from_parents_gets_the_rows_its_fanout_meant() -> None:
    doc = pets(fanout={"distribution": "poisson", "lambda": 1.5})
    del doc["nodes"][1]["rows"]
    fixed, [note] = apply_fixes(doc)
    assert fixed["nodes"][1]["rows"] == 3000 and "fanout" not in fixed["nodes"][1] and check(fixed).ok
    assert "rows set to 3000 (its fanout 1.5 × 2000 owners)" in note


def test_an_entity_with_parents_and_blocks_of_both_kinds_is_left_for_the_checker() -> None:
    stages = {"stages": [{"stage_name": "a", "transition_rate": 1.0}]}
    doc = pets(stage_config=stages)
    fixed, notes = apply_fixes(doc)
    assert notes == [] and fixed == doc and not check(fixed).ok


def test_a_segment_on_a_fact_is_explained_with_how_an_entity_holds_a_foreign_key() -> None:
    doc = pets(kind="fact", fanout={"lambda": 1.5})
    del doc["nodes"][1]["rows"]
    errors = [str(i) for i in check(apply_fixes(doc)[0]).errors]
    assert errors == [
        "nodes[1].segment_behavior: 'segment_behavior' is only allowed on entities; 'pets' is a fact; to "
        "keep it, make 'pets' an entity with its own rows and no parents, holding its link to 'owners' as a "
        'column {"lookup": {"from": "owners.<key>"}} (each row gets a random existing owners row: that is '
        "how an entity holds a foreign key)"
    ]


def test_rows_on_a_fact_with_parents_becomes_the_fanout_that_gives_them() -> None:
    doc = bookshop()
    del doc["nodes"][1]["fanout"]
    doc["nodes"][1]["rows"] = 6000  # 1,500 customers
    fixed, [note] = apply_fixes(doc)
    assert fixed["nodes"][1]["fanout"] == {"distribution": "poisson", "lambda": 4.0}
    assert "rows" not in fixed["nodes"][1] and check(fixed).ok and not check(fixed).warnings
    assert note.startswith("nodes[1].rows: rows 6000 on a fact with parents is not used")
    assert "so it still has about 6000 rows" in note


def test_rows_beside_a_fanout_are_removed_saying_what_the_fanout_gives() -> None:
    doc = bookshop()
    doc["nodes"][1]["rows"] = 9000
    fixed, [note] = apply_fixes(doc)
    assert fixed["nodes"][1]["fanout"] == doc["nodes"][1]["fanout"] and "rows" not in fixed["nodes"][1]
    assert "gives about 6,000 rows — change the fanout if you meant 9000" in note


def test_rows_of_a_grandchild_are_read_through_its_parents_fanout() -> None:
    doc = turn("vet_clinic")["schema"]
    doc["nodes"].append(
        {
            "id": "invoices",
            "kind": "fact",
            "pk": "invoice_id",
            "parents": ["visits"],
            "rows": 3000,  # visits: 2 per pet × 3,000 pets = 6,000
            "columns": [
                {"name": "invoice_id", "type": "int", "generator": {"sequence": {}}},
                {"name": "visit_id", "type": "int", "generator": {"lookup": {"from": "visits.visit_id"}}},
            ],
        }
    )
    fixed, [note] = apply_fixes(doc)
    assert fixed["nodes"][3]["fanout"] == {"distribution": "poisson", "lambda": 0.5} and check(fixed).ok
    assert "(3000 / 6000 visits rows)" in note


def test_version_as_a_number_and_missing_constraints() -> None:
    doc = bookshop()
    doc["version"] = 1.0
    del doc["constraints"]
    fixed, notes = apply_fixes(doc)
    assert fixed["version"] == "1.0" and fixed["constraints"] == {} and check(fixed).ok
    assert len(notes) == 2


def test_fanout_mean_is_read_as_lambda() -> None:
    doc = bookshop()
    doc["nodes"][1]["fanout"] = {"distribution": "poisson", "mean": 4}
    fixed, _ = apply_fixes(doc)
    assert fixed["nodes"][1]["fanout"] == {"distribution": "poisson", "lambda": 4} and check(fixed).ok


def test_state_probabilities_are_scaled_with_a_note() -> None:
    doc = json.loads((prompts_dir() / "fewshot" / "subscription_shop.json").read_text())
    doc = doc["turn"]["schema"]
    states = doc["nodes"][2]["state_transition_model"]["states"]
    states["basic"]["next_states"] = {"premium": 70, "cancelled": 30}
    fixed, notes = apply_fixes(doc)
    assert fixed["nodes"][2]["state_transition_model"]["states"]["basic"]["next_states"] == {
        "premium": 0.7,
        "cancelled": 0.3,
    }
    assert "probabilities summed to 100" in notes[0]
