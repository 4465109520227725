"""The features' descriptors (datagen.dsl): what each model says it reads, its defaults resolved, its
algebraic role — the facts every layer reads instead of keeping its own list."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from datagen.dsl import check
from datagen.dsl.base import Read, Role
from datagen.dsl.behaviours import AgeMultiplier, StageConfig, StateTransitionModel
from datagen.dsl.features import BEHAVIOURS, FEATURES, MODIFIERS, influence_names
from datagen.dsl.generators import Distribution
from datagen.dsl.models import Node, Schema
from datagen.dsl.modifiers import OutliersArgs, TrendArgs
from datagen.dsl.references import column_local_refs, node_reads, table_dependencies, walk_columns
from tests.dsl.edits import base_schema


def checked(doc: dict[str, Any]) -> Schema:
    result = check(doc)
    assert result.ok, result.errors
    assert result.schema is not None
    return result.schema


def orders_with(*modifiers: dict[str, Any], column: str = "amount") -> tuple[Schema, Node]:
    doc = base_schema()
    orders = doc["nodes"][1]
    next(c for c in orders["columns"] if c["name"] == column)["modifiers"] = list(modifiers)
    schema = checked(doc)
    node = schema.node("orders")
    assert node is not None
    return schema, node


def test_every_feature_has_its_own_keyword() -> None:
    assert [m.keyword for m in MODIFIERS][:3] == ["multiply", "add", "clamp"]
    assert [b.keyword for b in BEHAVIOURS] == [
        "segment_behavior",
        "vintage_behavior",
        "stage_config",
        "state_transition_model",
        "lifetime",
        "activity",
        "active_in",
        "attribution",
    ]
    assert len({f.keyword for f in FEATURES}) == len(FEATURES)


def test_a_modifier_reads_its_named_time_column_else_the_tables_first() -> None:
    _, orders = orders_with(
        {"transform": "trend", "args": {"growth_rate": 0.1}},
        {
            "transform": "seasonality",
            "args": {"dimension": "dow", "weights": [1] * 7, "time_column": "ordered_at"},
        },
    )
    amount = orders.column("amount")
    assert amount is not None
    trend, season = amount.modifiers
    assert trend.time_column(orders, amount) == "ordered_at" and trend.named_time_column() is None
    assert season.named_time_column() == "ordered_at"
    assert column_local_refs(orders, amount) == {"ordered_at"}


def test_a_seasonality_on_its_own_datetime_series_shapes_sampling_instead_of_reading_time() -> None:
    _, orders = orders_with(
        {"transform": "seasonality", "args": {"dimension": "hour", "weights": [1] * 24}}, column="ordered_at"
    )
    col = orders.column("ordered_at")
    assert col is not None
    (season,) = col.modifiers
    assert season.role(col) is Role.PLACES_IN_TIME and season.time_column(orders, col) is None
    assert [p.dimension for p in col.generator.patterns(col)] == [
        "dow",
        "hour",
    ]  # its own, then the modifier's


@pytest.mark.parametrize(
    ("modifier", "role"),
    [
        ({"transform": "multiply", "args": {"factor": 2}}, Role.SCALES),
        ({"transform": "add", "args": {"value": 2}}, Role.ADDS),
        ({"transform": "jitter", "args": {"std": 0.1, "mode": "mul"}}, Role.SCALES),
        ({"transform": "jitter", "args": {"std": 0.1}}, Role.ADDS),
        ({"transform": "clamp", "args": {"max": 9}}, Role.CLIPS),
        ({"transform": "outliers", "args": {"rate": 0.1}}, Role.SPIKES),
    ],
)
def test_each_modifier_states_its_algebraic_role(modifier: dict[str, Any], role: Role) -> None:
    _, orders = orders_with(modifier)
    amount = orders.column("amount")
    assert amount is not None and amount.modifiers[0].role(amount) is role


def test_an_outlier_burst_reads_the_tables_time() -> None:
    _, orders = orders_with({"transform": "outliers", "args": {"rate": 0.01, "mode": "burst"}})
    amount = orders.column("amount")
    assert amount is not None and column_local_refs(orders, amount) == {"ordered_at"}


def test_defaults_are_resolved_by_the_model() -> None:
    assert OutliersArgs(rate=0.1).magnitude == Distribution(type="uniform", params={"low": 2.0, "high": 9.0})
    assert TrendArgs(type="logarithmic", growth_rate=0.3).log_params == (0.3, 1.0)
    assert TrendArgs.model_validate({"type": "logarithmic", "params": {"a": 2}}).log_params == (2.0, 1.0)


def test_a_walk_names_its_columns_with_defaults_resolved() -> None:
    doc = base_schema()
    walk = {
        "stages": [{"stage_name": "visit", "transition_rate": 1}],
        "columns": {"stage_name": "step", "stage_index": None},
    }
    doc["nodes"][1]["stage_config"] = walk
    doc["nodes"][1]["columns"].append(
        {"name": "step", "type": "string", "generator": {"choice": {"choices": ["x"]}}}
    )
    doc["nodes"][1].pop("fanout")
    orders = checked(doc).node("orders")
    assert orders is not None and isinstance(orders.walk, StageConfig)
    cols = orders.walk.walk_columns(orders)
    assert (cols.label, cols.extra, cols.time, cols.explicit) == ("step", None, "ordered_at", True)
    assert walk_columns(orders) == {"step", "ordered_at"}
    states = StateTransitionModel.model_validate({"initial_state": "a", "states": {"a": {"terminal": True}}})
    cols = states.walk_columns(orders)
    assert (cols.label, cols.extra, cols.explicit) == ("state", None, False)  # no previous_state column


def test_reads_of_other_rows_order_the_tables_and_say_what_is_kept() -> None:
    doc = base_schema()
    lift = {"distribution": {"type": "uniform", "params": {"low": 1, "high": 2}}}
    doc["nodes"].append(
        {"id": "promos", "kind": "entity", "pk": "promo_id", "rows": 5, "columns": [
            {"name": "promo_id", "type": "int", "generator": {"sequence": {}}},
            {"name": "starts", "type": "datetime", "generator": {"datetime_series": {}}},
            {"name": "ends", "type": "datetime", "generator": {"datetime_series": {}}},
            {"name": "lift", "type": "float", "generator": lift},
        ]}
    )  # fmt: skip
    effect = {
        "effect_table": "promos",
        "window": {"start_col": "starts", "end_col": "ends"},
        "map": {"field": "lift"},
    }
    next(c for c in doc["nodes"][1]["columns"] if c["name"] == "amount")["modifiers"] = [
        {"transform": "effect", "args": effect}
    ]
    schema = checked(doc)
    orders = schema.node("orders")
    assert orders is not None
    reads = node_reads(schema, orders)
    assert Read("customers", "customer_id") in reads  # the lookup's source
    assert {r.column for r in reads if r.table == "promos"} == {"starts", "ends", "lift"}
    assert all(r.whole_table for r in reads if r.table == "promos")  # every window may cover a row
    assert table_dependencies(schema)["orders"] == {"customers", "promos"}
    customers = schema.node("customers")
    assert customers is not None
    assert Read("customers", "segment") in node_reads(schema, customers)  # read by the children


def test_composite_effect_influence_names_come_from_the_features() -> None:
    assert influence_names() == ("hour", "dow", "month", "outliers", "trend", "segment")


def test_an_age_curve_holds_its_last_value_and_is_floored_at_zero() -> None:
    steps = AgeMultiplier(curve=[1.0, 0.5])
    assert steps.value_at(np.array([-1.0, 0.0, 0.99, 1.0, 7.0])).tolist() == [1.0, 1.0, 1.0, 0.5, 0.5]
    falling = AgeMultiplier.model_validate({"curve": {"curve_type": "linear", "params": {"a": 1, "b": -0.5}}})
    assert falling.value_at(np.array([0.0, 1.0, 3.0])).tolist() == [1.0, 0.5, 0.0]
