"""The plan's inequality bounds (engine/plan.py): which declared inequalities the engine makes true by
drawing a datetime_series inside bounds, in which direction, and which it leaves to the validator."""

from __future__ import annotations

from typing import Any

from datagen.dsl.models import Inequality, Node
from datagen.engine.plan import (
    Bound,
    ExtraDeps,
    can_bound,
    enforce_inequality,
    is_series,
    make_plan,
    reads_transitively,
    related,
)
from tests.engine.conftest import checked, col, entity, expr, fact, schema, times


def nodes_of(doc: dict[str, Any]) -> dict[str, Node]:
    return {n.id: n for n in checked(doc).nodes}


def shop(*order_columns: dict[str, Any], customer_columns: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    customers = entity("c", [times("joined"), *customer_columns], rows=10)
    orders = fact("o", ["c"], list(order_columns), fanout={"distribution": "poisson", "lambda": 2})
    return schema(customers, orders)


def inequality(left: str, op: str, right: str) -> Inequality:
    return Inequality.model_validate({"left": left, "op": op, "right": right})


def enforce(nodes: dict[str, Node], *qs: Inequality) -> tuple[list[str], dict[str, Any], ExtraDeps]:
    bounds: dict[str, Any] = {}
    extra: ExtraDeps = {}
    notes = [enforce_inequality(nodes, q, bounds, extra) for q in qs]
    return notes, bounds, extra


def test_a_child_time_after_its_parents_is_drawn_after_it() -> None:
    nodes = nodes_of(shop(times("at")))
    notes, bounds, extra = enforce(nodes, inequality("o.at", ">", "c.joined"))
    assert bounds == {"o": {"at": [Bound("lo", "c", "joined", strict=True)]}}
    assert extra == {}  # another table: nothing to order inside the row
    assert notes == ["o.at > c.joined: enforced (o.at drawn after c.joined)"]


def test_a_side_that_is_no_series_or_would_close_a_cycle_is_not_drawn() -> None:
    """`c.joined <= o.late`, o.late an expression: the larger side is no series, and the parent's time
    cannot be bounded by a child row. `o.at <= o.late`: drawing o.at below o.late would need o.late
    first, but o.late is computed from o.at."""
    nodes = nodes_of(shop(times("at"), expr("late", "at", type_="datetime")))
    notes, bounds, _ = enforce(nodes, inequality("c.joined", "<=", "o.late"))
    assert bounds == {} and notes == [
        "c.joined <= o.late: not enforced by construction; the validator checks it"
    ]
    notes, bounds, _ = enforce(nodes, inequality("o.at", "<=", "o.late"))
    assert bounds == {} and "not enforced" in notes[0]  # o.late reads o.at: drawing o.at below it is a cycle


def test_same_row_bounds_order_the_columns() -> None:
    nodes = nodes_of(shop(times("start"), times("end")))
    notes, bounds, extra = enforce(nodes, inequality("o.end", ">=", "o.start"))
    assert bounds == {"o": {"end": [Bound("lo", "o", "start", strict=False)]}}
    assert extra == {"o": {"end": {"start"}}}
    assert notes == ["o.end >= o.start: enforced (o.end drawn after o.start)"]


def test_equalities_unparsable_and_unrelated_pairs_are_left_to_the_validator() -> None:
    doc = shop(times("at"))
    doc["nodes"].append(entity("other", [times("seen")], rows=5))
    nodes = nodes_of(doc)
    notes, bounds, _ = enforce(
        nodes, inequality("o.at", "==", "c.joined"), inequality("o.at", ">", "other.seen")
    )
    assert bounds == {} and all("not enforced by construction" in n for n in notes)


def test_the_helpers() -> None:
    nodes = nodes_of(
        shop(times("at"), expr("late", "at", type_="datetime"), col("n", "int", {"sequence": {}}))
    )
    assert is_series(nodes, ("o", "at")) and not is_series(nodes, ("o", "late"))
    assert related(nodes, "o", "c") and related(nodes, "o", "o") and not related(nodes, "c", "o")
    assert reads_transitively(nodes, {}, ("o", "late"), "at")
    assert not reads_transitively(nodes, {}, ("o", "at"), "late")
    assert reads_transitively(nodes, {"o": {"n": {"late"}}}, ("o", "n"), "at")  # through an added order
    assert can_bound(nodes, {}, ("o", "at"), ("c", "joined"))
    assert not can_bound(nodes, {}, ("o", "at"), ("o", "late"))  # `late` is computed from `at`
    assert not can_bound(nodes, {}, ("o", "at"), ("o", "at"))


def test_the_plan_bounds_a_vintage_childs_time_by_its_parents_creation() -> None:
    doc = shop(times("at"))
    doc["nodes"][0]["vintage_behavior"] = {
        "created_at_column": "joined",
        "age_based_multipliers": {"decay": {"curve": [1.0, 0.5]}},
    }
    plan = make_plan(checked(doc))
    assert plan.table("o").bounds == {"at": [Bound("lo", "c", "joined", strict=False)]}
    assert "joined" in plan.table("c").keep
