"""How every relation is made true (datagen.dsl.enforcement) — the one definition the check step
refuses by and the engine's plan draws by: which side is built, how, against which related row, and
what is refused with the reason and what to write instead."""

from __future__ import annotations

from typing import Any

import pytest

from datagen.dsl import check
from datagen.dsl.enforcement import Made, Refused, enforcement
from datagen.dsl.related_rows import Ambiguous, Path, path_to
from tests.engine.conftest import col, dist, entity, expr, fact, lookup, schema, times

POISSON = {"distribution": "poisson", "lambda": 2}


def shop(*order_columns: dict[str, Any], customer_columns: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    customers = entity("c", [times("joined"), dist("limit", "uniform", low=10, high=20), *customer_columns])
    return schema(customers, fact("o", ["c"], list(order_columns), fanout=POISSON))


def outcome(doc: dict[str, Any], left: str, op: str, right: str) -> Made | Refused:
    doc["constraints"] = {"inequalities": [{"left": left, "op": op, "right": right}]}
    result = check(doc)
    assert result.schema is not None, result.errors
    (found,) = enforcement(result.schema).inequalities
    return found


def refused(doc: dict[str, Any], left: str, op: str, right: str) -> str:
    found = outcome(doc, left, op, right)
    assert isinstance(found, Refused), found
    errors = check(doc).errors  # the check step reports exactly this refusal
    assert [e.message for e in errors] == [found.message] and errors[0].path == "constraints.inequalities[0]"
    return found.message


def made(doc: dict[str, Any], left: str, op: str, right: str) -> Made:
    found = outcome(doc, left, op, right)
    assert isinstance(found, Made), found
    assert check(doc).ok
    return found


def test_a_child_time_is_drawn_after_its_parents_strictly_when_asked() -> None:
    m = made(shop(times("at")), "o.at", ">", "c.joined")
    assert m.construction == "drawn" and m.target == ("o", "at")
    assert m.bound is not None and m.bound.side == "lo" and m.bound.strict
    assert [h.to for h in m.bound.path.hops] == ["c"]
    assert m.note == "o.at > c.joined: drawn after c.joined"


def test_the_smaller_side_is_drawn_below_when_the_larger_cannot_be() -> None:
    """`c.joined <= o.late`, o.late an expression: the parent row cannot be drawn by its child, so the
    child's expression is capped at the bound."""
    m = made(shop(times("at"), expr("late", "at", type_="datetime")), "c.joined", "<=", "o.late")
    assert m.construction == "capped" and m.target == ("o", "late") and m.bound is not None
    assert m.bound.side == "lo"


def test_a_side_computed_from_the_other_is_capped_rather_than_drawn_in_a_cycle() -> None:
    """`o.at <= o.late`: drawing o.at below o.late would need o.late first, but o.late is computed
    from o.at — so o.late is capped at o.at instead."""
    m = made(shop(times("at"), expr("late", "at", type_="datetime")), "o.at", "<=", "o.late")
    assert m.target == ("o", "late") and m.construction == "capped"


def test_numbers_drawn_from_a_distribution_are_drawn_inside_modified_ones_capped() -> None:
    m = made(shop(dist("amount", "lognormal", mean=2, sigma=1)), "o.amount", "<=", "c.limit")
    assert m.construction == "drawn" and m.note == "o.amount <= c.limit: drawn no higher than c.limit"
    scaled = dist("amount", "lognormal", mean=2, sigma=1)
    scaled["modifiers"] = [{"transform": "multiply", "args": {"factor": 2}}]
    assert made(shop(scaled), "o.amount", "<=", "c.limit").construction == "capped"


def test_a_generator_that_cannot_meet_a_bound_is_refused_with_what_to_write() -> None:
    doc = shop(col("amount", "float", {"choice": {"choices": [1.0, 2.0]}}))
    message = refused(doc, "o.amount", "<=", "c.limit")
    assert "comes from a choice generator" in message and "make it a datetime_series" in message


def test_equality_holds_only_for_a_copy_and_says_how_to_write_one() -> None:
    m = made(shop(lookup("joined_copy", "c.joined", type_="datetime")), "o.joined_copy", "==", "c.joined")
    assert m.construction == "copy"
    message = refused(shop(times("at")), "o.at", "==", "c.joined")
    assert '{"lookup": {"from": "c.joined"}}' in message
    assert "copies" in refused(shop(lookup("j", "c.joined", type_="datetime")), "o.j", ">", "c.joined")


def test_unrelated_tables_are_refused_with_the_parent_to_add() -> None:
    doc = shop(times("at"))
    doc["nodes"].append(entity("other", [times("seen")], rows=5))
    message = refused(doc, "o.at", ">", "other.seen")
    assert "a row of 'o' has no row of 'other'" in message and "add 'other' to the parents of 'o'" in message


def test_a_further_parent_and_a_looked_up_table_are_related_rows() -> None:
    """The issue's case: `trips.started_at >= riders.signup_at` with riders a further parent."""
    riders = entity("riders", [times("signup")], rows=10)
    scooters = entity("scooters", [times("commissioned")], rows=10)
    cities = entity("cities", [], rows=3)
    trips = fact("trips", ["cities", "riders"], [lookup("scooter", "scooters.id"), times("started")])
    doc = schema(riders, scooters, cities, trips)
    m = made(doc, "trips.started", ">=", "riders.signup")
    assert m.bound is not None and m.bound.path.hops[0].how == "parent"
    m = made(doc, "trips.started", ">=", "scooters.commissioned")
    assert m.bound is not None and m.bound.path.hops[0].how == "lookup"
    assert m.bound.path.hops[0].key == "scooter"


def test_a_grandparent_is_reached_through_the_parent() -> None:
    listings = entity("l", [times("listed")], rows=10)
    viewings = fact("v", ["l"], [times("seen")], fanout=POISSON)
    offers = fact("of", ["v"], [times("made")], fanout=POISSON)
    m = made(schema(listings, viewings, offers), "of.made", ">", "l.listed")
    assert m.bound is not None and [h.to for h in m.bound.path.hops] == ["v", "l"]
    assert "through of → v → l" in m.note


def test_two_paths_of_the_same_length_are_ambiguous() -> None:
    top = entity("top", [times("at")], rows=5)
    a = fact("a", ["top"], [], fanout=POISSON)
    b = fact("b", ["top"], [], fanout=POISSON)
    both = fact("both", ["a", "b"], [times("at")], fanout=POISSON)
    doc = schema(top, a, b, both)
    result = check(doc)
    assert result.schema is not None
    assert isinstance(path_to(result.schema, "both", "top"), Ambiguous)
    message = refused(doc, "both.at", ">", "top.at")
    assert "along two paths (both → a → top and both → b → top)" in message


def test_a_walks_time_holds_greater_equal_its_parents_start_and_nothing_else() -> None:
    doc = shop(times("at"), col("stage_name", "string", {"choice": {"choices": ["a"]}}))
    doc["nodes"][1]["stage_config"] = {"stages": [{"stage_name": "a", "transition_rate": 1}]}
    del doc["nodes"][1]["fanout"]
    assert made(doc, "o.at", ">=", "c.joined").construction == "walk"
    assert "only ever >= that column" in refused(doc, "o.at", ">", "c.joined")


def test_a_regular_series_holds_greater_equal_its_parents_start() -> None:
    doc = shop(times("at", slot=True))
    doc["nodes"][1]["fanout"] = {"every": "D"}
    assert made(doc, "o.at", ">=", "c.joined").construction == "regular"
    doc["nodes"][0]["columns"].append(times("other"))
    assert "period of a regular series" in refused(doc, "o.at", ">=", "c.other")


@pytest.mark.parametrize("side", ["start", "end"])
def test_a_window_read_from_a_related_row_is_a_pair_of_bounds(side: str) -> None:
    doc = shop(
        times("at", within={"start": "c.joined", "end": "c.until"}), customer_columns=(times("until"),)
    )
    result = check(doc)
    assert result.ok, result.errors
    assert result.schema is not None
    found = enforcement(result.schema).windows[("o", "at")]
    source = "joined" if side == "start" else "until"
    (bound,) = [o.bound for o in found if isinstance(o, Made) and o.bound and o.bound.source[1] == source]
    assert bound is not None
    assert (bound.side, bound.strict) == (("lo", False) if side == "start" else ("hi", True))  # [start, end)


def test_a_window_from_an_unrelated_table_is_refused_at_the_within() -> None:
    doc = shop(times("at", within={"start": "other.seen", "end": "2024-12-01"}))
    doc["nodes"].append(entity("other", [times("seen")], rows=5))
    errors = check(doc).errors
    assert len(errors) == 1 and errors[0].path.endswith("generator.datetime_series.within")
    assert "a row of 'o' has no row of 'other'" in errors[0].message


def test_a_chain_draws_a_child_after_its_parent_and_inside_its_ancestors_window() -> None:
    """A claim inside its policy's window; a payment after its claim inherits the policy's end."""
    policies = entity("p", [times("start"), times("end")], rows=10)
    claims = fact("cl", ["p"], [times("at", within={"start": "p.start", "end": "p.end"})], fanout=POISSON)
    payments = fact("pay", ["cl"], [times("paid")], fanout=POISSON)
    result = check(schema(policies, claims, payments))
    assert result.schema is not None
    made_ = enforcement(result.schema)
    (chain,) = made_.chains
    assert (chain.table, chain.column, chain.parent, chain.parent_column) == ("pay", "paid", "cl", "at")
    bounds = made_.column_bounds("pay", "paid")
    assert {(b.origin, b.side, b.source) for b in bounds} == {
        ("chain", "lo", ("cl", "at")),
        ("ancestor window", "hi", ("p", "end")),
    }
    inherited = next(b for b in bounds if b.origin == "ancestor window")
    assert isinstance(inherited.path, Path) and [h.to for h in inherited.path.hops] == ["cl", "p"]
