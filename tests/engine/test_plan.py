"""The plan (engine/plan.py): the bounds each column is drawn inside come from the language's one
definition (datagen.dsl.enforcement), same-row bounds order the columns, the sources of bounds are
kept, and a bound reached through tables in between keeps their related rows."""

from __future__ import annotations

from typing import Any

from datagen.dsl.enforcement import Bound
from datagen.dsl.related_rows import Hop, Path
from datagen.engine.plan import make_plan
from tests.engine.conftest import checked, entity, fact, schema, times


def shop(*order_columns: dict[str, Any], customer_columns: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    customers = entity("c", [times("joined"), *customer_columns], rows=10)
    orders = fact("o", ["c"], list(order_columns), fanout={"distribution": "poisson", "lambda": 2})
    return schema(customers, orders)


def test_the_plan_bounds_a_vintage_childs_time_by_its_parents_creation() -> None:
    doc = shop(times("at"))
    doc["nodes"][0]["vintage_behavior"] = {
        "created_at_column": "joined",
        "age_based_multipliers": {"decay": {"curve": [1.0, 0.5]}},
    }
    plan = make_plan(checked(doc))
    hop = Path((Hop("o", "c", "primary parent", "c_id"),))
    assert plan.table("o").bounds == {"at": [Bound("lo", ("c", "joined"), hop, False, "creation")]}
    assert "joined" in plan.table("c").keep


def test_same_row_bounds_order_the_columns_whatever_their_declared_order() -> None:
    doc = shop(times("end"), times("start"))
    doc["constraints"] = {"inequalities": [{"left": "o.end", "op": ">", "right": "o.start"}]}
    plan = make_plan(checked(doc))
    order = plan.table("o").column_order
    assert order.index("start") < order.index("end")
    assert plan.notes == ["o.end > o.start: drawn after o.start"]


def test_a_bound_two_tables_away_keeps_the_related_rows_of_the_table_in_between() -> None:
    """A payment inside its claim's policy: the engine reaches the policy through the claim, so the
    claims table keeps each claim's policy row, and policies keep the bound's column."""
    policies = entity("p", [times("start"), times("end")], rows=20)
    claims = fact("cl", ["p"], [times("at")], fanout={"distribution": "poisson", "lambda": 2})
    payments = fact("pay", ["cl"], [times("paid")], fanout={"count": 1})
    doc = schema(
        policies,
        claims,
        payments,
        constraints={"inequalities": [{"left": "pay.paid", "op": "<", "right": "p.end"}]},
    )
    plan = make_plan(checked(doc))
    assert plan.table("cl").keep_rows == {"p"} and "end" in plan.table("p").keep
    (bound,) = [b for b in plan.table("pay").bounds["paid"] if b.origin == "inequality"]
    assert [h.to for h in bound.path.hops] == ["cl", "p"] and bound.strict
