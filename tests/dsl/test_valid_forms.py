"""Every valid form docs/schema-language.md §2–8 describes loads, and what the check step normalises or adds
is reported as a note (never silently)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.dsl import CheckResult, check
from datagen.dsl.freq import LEGACY_ALIASES
from datagen.dsl.related_rows import key_column
from tests.dsl.bad_schemas import AMOUNT, CUSTOMERS, EFFECT, ORDERS, PROMOS, STAGES, STATES
from tests.dsl.edits import Edit, append, base_schema, chain, drop, edited, get_at, put

NEW_CUSTOMER_COLUMN = f"{CUSTOMERS}.columns"
NEW_ORDER_COLUMN = f"{ORDERS}.columns"


def col(name: str, type_: str, generator: dict, **extra: object) -> dict:
    return {"name": name, "type": type_, "generator": generator, **extra}


def dist(type_: str, **params: float) -> dict:
    return {"distribution": {"type": type_, "params": params}}


def ok(result: CheckResult) -> CheckResult:
    assert result.ok, "\n".join(map(str, result.errors))
    assert result.warnings == [], "\n".join(map(str, result.warnings))
    return result


VALID_FORMS: dict[str, Edit] = {
    # §2 top level
    "dollar_schema_key": put("$schema", "https://datagen.dev/schema/dsl-v1.json"),
    "version_1_1": put("version", "1.1"),
    "metadata_free_form": put(
        "metadata", {"name": "x", "description": "d", "tags": ["a"], "owner": {"t": 1}}
    ),
    "timeframe_without_freq": drop("timeframe.freq"),
    "timeframe_dates_and_offsets": put(
        "timeframe", {"start": "2024-01-01", "end": "2024-06-30T12:00:00+02:00"}
    ),
    "no_targets": drop("targets"),
    "explicit_dag": put("dag", [["customers"], ["orders"]]),
    "comment_everywhere": chain(
        put("comment", "top"),
        put("timeframe.comment", "tf"),
        put("constraints.comment", "c"),
        put(f"{CUSTOMERS}.comment", "node"),
        put(f"{CUSTOMERS}.columns[0].comment", "column"),
        put(f"{CUSTOMERS}.columns[0].generator.comment", "generator"),
        put(f"{CUSTOMERS}.columns[0].generator.sequence.comment", "arguments"),
        put(f"{AMOUNT}.modifiers[0].comment", "modifier"),
        put(f"{ORDERS}.fanout.comment", "fanout"),
        put(f"{CUSTOMERS}.segment_behavior.comment", "behaviour"),
        put("targets.weekend_share.comment", "target"),
    ),
    "descriptions": chain(put(f"{CUSTOMERS}.description", "who buys"), put(f"{AMOUNT}.description", "total")),
    # §3 nodes
    "rows_zero": put(f"{CUSTOMERS}.rows", 0),
    "rows_default": drop(f"{CUSTOMERS}.rows"),
    "no_pk": chain(drop(f"{CUSTOMERS}.pk")),
    "fact_without_fanout": drop(f"{ORDERS}.fanout"),
    "fact_without_parents": chain(
        put(f"{ORDERS}.parents", None),
        drop(f"{ORDERS}.fanout"),
        put(f"{ORDERS}.rows", 50),
        put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", []),
        drop(f"{CUSTOMERS}.segment_behavior.behaviors.vip.value_multiplier"),  # it would scale nothing
        drop("constraints.inequalities"),
    ),
    "extra_parent": chain(
        append("nodes", PROMOS),
        append(f"{ORDERS}.parents", "promos"),
        append(NEW_ORDER_COLUMN, col("promo_id", "int", {"lookup": {"from": "promos.promo_id"}})),
    ),
    "vocab_zipped_and_derived": append(
        "nodes",
        {
            "id": "tiers",
            "kind": "vocab",
            "pk": "code",
            "columns": [
                col("code", "string", {"enum_list": {"values": ["b", "s", "g"]}}),
                col("rank", "int", {"enum_list": {"values": [1, 2, 3]}}),
                col(
                    "label",
                    "string",
                    {"expression": {"code": "code"}},
                    modifiers=[
                        {"transform": "map_values", "args": {"mapping": {"b": "Bronze"}, "default": "Other"}}
                    ],
                ),
                col("double_rank", "int", {"expression": {"code": "rank * 2"}}),
            ],
        },
    ),
    # §4 columns
    "nullable_with_null_rate": chain(
        put(f"{CUSTOMERS}.columns[3].nullable", True), put(f"{CUSTOMERS}.columns[3].null_rate", 0.25)
    ),
    "column_constraints": put(
        f"{CUSTOMERS}.columns[1].constraints", {"pattern": "[A-Z]{2}", "enum": ["US", "DE", "CZ"]}
    ),
    "column_enum_ref": put(f"{CUSTOMERS}.columns[3].constraints", {"enum_ref": "customers.segment"}),
    "date_column": append(
        NEW_CUSTOMER_COLUMN,
        col(
            "birthday",
            "date",
            {"datetime_series": {"within": {"start": "1950-01-01", "end": "2005-12-31"}, "freq": "D"}},
        ),
    ),
    "bool_column": append(NEW_CUSTOMER_COLUMN, col("opt_in", "bool", {"choice": {"choices": [True, False]}})),
    "expression_calendar_fields": append(
        f"{ORDERS}.columns",
        col(
            "monday_morning",
            "bool",
            {
                "expression": {
                    "code": "dow(ordered_at) == 0 and hour(ordered_at) < 12 and month(ordered_at) > 0"
                }
            },
        ),
    ),
    "mean_target_on_a_bool_share": chain(
        append(
            NEW_CUSTOMER_COLUMN,
            col("opt_in", "bool", {"choice": {"choices": [True, False], "weights": [1, 3]}}),
        ),
        put("targets.mean_in_range", {"table": "customers", "column": "opt_in", "min": 0.2, "max": 0.3}),
    ),
    # §4.1 generators
    "sequence_defaults": put(f"{CUSTOMERS}.columns[0].generator", {"sequence": {}}),
    "sequence_descending": put(
        f"{CUSTOMERS}.columns[0].generator", {"sequence": {"start": 1000, "step": -2}}
    ),
    "sequence_string_key": chain(
        put(f"{CUSTOMERS}.columns[0].type", "string"), put(f"{ORDERS}.columns[1].type", "string")
    ),
    "choice_without_weights": drop(f"{CUSTOMERS}.columns[1].generator.choice.weights"),
    "choice_mixed_scalars": append(
        NEW_CUSTOMER_COLUMN,
        col("code", "string", {"choice": {"choices": ["a", 1, 2.5, True, None]}}, nullable=True),
    ),
    "weights_kind_uniform": put(
        f"{CUSTOMERS}.columns[1].generator.choice", {"choices": ["a", "b"], "weights_kind": "uniform"}
    ),
    "weights_kind_zipf": put(
        f"{CUSTOMERS}.columns[1].generator.choice", {"choices": ["a", "b", "c"], "weights_kind": "zipf@1.2"}
    ),
    "weights_kind_head_tail": put(
        f"{CUSTOMERS}.columns[1].generator.choice",
        {"choices": list("abcdefghij"), "weights_kind": "head_tail@{0.6,1.1}"},
    ),
    "weights_kind_head_tail_spaced": put(
        f"{CUSTOMERS}.columns[1].generator.choice",
        {"choices": list("abcde"), "weights_kind": "head_tail@{0.5, 2}"},
    ),
    "choices_ref": append(
        NEW_ORDER_COLUMN,
        col(
            "ship_to", "string", {"choice": {"choices_ref": "customers.country", "weights_kind": "zipf@1.1"}}
        ),
    ),
    "weights_unnormalised": put(f"{CUSTOMERS}.columns[1].generator.choice.weights", [50, 0, 2.5]),
    "normal": put(f"{AMOUNT}.generator", dist("normal", mean=50, std=10)),
    "lognormal_with_open_clamp": put(
        f"{AMOUNT}.generator",
        {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 0.5}, "clamp": [1, None]}},
    ),
    "uniform": put(f"{AMOUNT}.generator", dist("uniform", low=1, high=9)),
    "poisson_int": chain(
        put(f"{AMOUNT}.type", "int"), put(f"{AMOUNT}.generator", dist("poisson", **{"lambda": 4}))
    ),
    "beta": put(f"{AMOUNT}.generator", dist("beta", a=2, b=5)),
    "gamma": put(f"{AMOUNT}.generator", dist("gamma", shape=2, scale=3)),
    "weibull": put(f"{AMOUNT}.generator", dist("weibull", shape=1.5, scale=10)),
    "exponential": put(f"{AMOUNT}.generator", dist("exponential", scale=20)),
    "series_within_window": put(
        f"{CUSTOMERS}.columns[4].generator.datetime_series",
        {"within": {"start": "2020-01-01T00:00:00Z", "end": "2023-12-31T00:00:00Z"}, "freq": "D"},
    ),
    "series_default_freq": put(f"{CUSTOMERS}.columns[4].generator.datetime_series", {}),
    "series_pattern_list": put(
        f"{ORDERS}.columns[2].generator.datetime_series.pattern",
        [
            {"dimension": "hour", "weights": [1] * 8 + [3] * 10 + [1] * 6},
            {"dimension": "dow", "weights": [1, 1, 1, 1, 1, 1.5, 1.5]},
            {"dimension": "month", "weights": [1] * 11 + [2]},
        ],
    ),
    "series_freq_forms": chain(
        put(f"{ORDERS}.columns[2].generator.datetime_series.freq", "15min"),
        put(f"{CUSTOMERS}.columns[4].generator.datetime_series.freq", "MS"),
    ),
    "faker_args_locale_unique": append(
        NEW_CUSTOMER_COLUMN,
        col(
            "email",
            "string",
            {"faker": {"method": "pyint", "args": {"min_value": 1, "max_value": 9}, "locale": "de_DE"}},
        ),
    ),
    "faker_unique": put(f"{CUSTOMERS}.columns[2].generator.faker.unique", True),
    "lookup_join_on_unique": append(
        NEW_ORDER_COLUMN,
        col(
            "customer_country",
            "string",
            {"lookup": {"from": "customers.country", "on": {"customer_id": "customer_id"}}},
        ),
    ),
    "lookup_join_on_declared_unique": chain(
        append("constraints.unique", "customers.signup_at"),
        append(
            NEW_ORDER_COLUMN,
            col(
                "seg", "string", {"lookup": {"from": "customers.segment", "on": {"ordered_at": "signup_at"}}}
            ),
        ),
    ),
    "lookup_random_row_of_non_parent": chain(
        append("nodes", PROMOS),
        append(NEW_ORDER_COLUMN, col("promo_id", "int", {"lookup": {"from": "promos.promo_id"}})),
    ),
    "self_reference": append(
        NEW_CUSTOMER_COLUMN,
        col(
            "referrer_id", "int", {"lookup": {"from": "customers.customer_id"}}, nullable=True, null_rate=0.3
        ),
    ),
    "self_reference_on_a_key": append(
        NEW_CUSTOMER_COLUMN,
        col(
            "referrer_id",
            "int",
            {"lookup": {"from": "customers.customer_id", "on": {"country": "country"}, "pick": "random"}},
            nullable=True,
        ),
    ),
    "expression_whitelist": put(
        f"{ORDERS}.columns[4].generator.expression.code",
        "where(amount > 100, round(amount * 0.21, 2), max(1, sqrt(abs(amount))))",
    ),
    "expression_on_time": append(
        NEW_ORDER_COLUMN,
        col("shipped_at", "datetime", {"expression": {"code": "ordered_at + hours(amount / 10)"}}),
    ),
    # §4.2 modifiers
    "every_numeric_modifier": put(
        f"{AMOUNT}.modifiers",
        [
            {"transform": "multiply", "args": {"factor": 1.1}},
            {"transform": "add", "args": {"value": -1}},
            {"transform": "clamp", "args": {"min": 0}},
            {"transform": "clamp", "args": {"max": 900}},
            {"transform": "jitter", "args": {"std": 0.05, "mode": "mul"}},
            {"transform": "jitter", "args": {"std": 1}},
            {
                "transform": "seasonality",
                "args": {"dimension": "month", "weights": [1] * 11 + [2], "time_column": "ordered_at"},
            },
            {
                "transform": "outliers",
                "args": {
                    "rate": 0.01,
                    "mode": "spike",
                    "magnitude_dist": {
                        "type": "lognormal",
                        "params": {"mean": 1, "sigma": 0.3},
                        "clamp": [0, 10],
                    },
                },
            },
            {"transform": "outliers", "args": {"rate": 0.02, "mode": "drop"}},
            {"transform": "outliers", "args": {"rate": 0.01, "mode": "burst"}},
            {
                "transform": "trend",
                "args": {"type": "linear", "growth_rate": -0.2, "time_reference": "ordered_at"},
            },
            {
                "transform": "trend",
                "args": {"type": "logarithmic", "growth_rate": 0.1, "params": {"a": 1, "b": 0.5}},
            },
        ],
    ),
    "datetime_modifiers": put(
        f"{ORDERS}.columns[2].modifiers",
        [
            {"transform": "seasonality", "args": {"dimension": "hour", "weights": [1] * 24}},
            {"transform": "time_jitter", "args": {"std_minutes": 30}},
        ],
    ),
    "map_values_without_default": append(
        f"{CUSTOMERS}.columns[1].modifiers",
        {"transform": "map_values", "args": {"mapping": {"US": "United States"}}},
    ),
    "effect_on_a_column": chain(
        append("nodes", PROMOS),
        append(f"{AMOUNT}.modifiers", {**EFFECT, "args": {**EFFECT["args"], "time_column": "ordered_at"}}),
    ),
    "effect_joined_on_a_key": chain(
        append("nodes", PROMOS),
        append(
            f"{AMOUNT}.modifiers", {**EFFECT, "args": {**EFFECT["args"], "on": {"customer_id": "promo_id"}}}
        ),
    ),
    "effect_on_fanout": chain(
        append("nodes", PROMOS),
        put(
            f"{ORDERS}.modifiers",
            [
                {
                    **EFFECT,
                    "args": {
                        **EFFECT["args"],
                        "on": {"country": "country"},
                        "map": {"field": "lift", "op": "add", "default": 0},
                    },
                }
            ],
        ),
    ),
    # §5 fanout
    "fanout_poisson_bounded": put(
        f"{ORDERS}.fanout", {"distribution": "poisson", "lambda": 3, "min": 1, "max": 9}
    ),
    "fanout_default_distribution": put(f"{ORDERS}.fanout", {"lambda": 3}),
    "fanout_uniform": put(f"{ORDERS}.fanout", {"distribution": "uniform", "min": 0, "max": 5}),
    "fanout_negative_binomial": put(
        f"{ORDERS}.fanout", {"distribution": "negative_binomial", "lambda": 3, "dispersion": 0.5}
    ),
    # §6 constraints
    "every_constraint_kind": put(
        "constraints",
        {
            "unique": ["customers.name"],
            "foreign_keys": [{"from": "orders.customer_id", "to": "customers.customer_id"}],
            "ranges": [
                {"attr": "orders.amount", "min": 0, "max": 1000},
                {"attr": "orders.ordered_at", "min": "2024-01-01"},
            ],
            "inequalities": [
                {"left": "orders.ordered_at", "op": ">=", "right": "customers.signup_at"},
                {"left": "orders.tax", "op": "<", "right": "orders.amount"},
            ],
            "pattern": [{"attr": "customers.country", "regex": "[A-Z]{2}"}],
            "enum": [
                {"attr": "customers.country", "values": ["US", "DE", "CZ"]},
                {"attr": "customers.segment", "enum_ref": "customers.segment"},
            ],
        },
    ),
    # §7 targets
    "targets_as_lists": put(
        "targets",
        {
            "weekend_share": [
                {"table": "orders", "timestamp": "ordered_at", "min": 0.3, "max": 0.4},
                {"table": "customers", "timestamp": "signup_at", "min": 0.2, "max": 0.35},
            ],
            "mean_in_range": [{"table": "orders", "column": "amount", "min": 10, "max": 40}],
            "composite_effect": [
                {
                    "table": "orders",
                    "metric": "amount",
                    "influences": ["trend", "dow", "segment"],
                    "tolerance": {"mae": 2, "mape": 0.1},
                }
            ],
        },
    ),
    "composite_effect_with_effect_table": chain(
        append("nodes", PROMOS),
        append(f"{AMOUNT}.modifiers", EFFECT),
        put(
            "targets.composite_effect",
            {"table": "orders", "metric": "amount", "influences": ["promos", "trend"]},
        ),
    ),
    # §8 behaviour blocks
    "segment_scales_a_grandchild_and_a_copied_value": chain(
        append(
            "nodes",
            {
                "id": "lines",
                "kind": "fact",
                "pk": "line_id",
                "parents": ["orders"],
                "fanout": {"distribution": "poisson", "lambda": 2},
                "columns": [
                    col("line_id", "int", {"sequence": {}}),
                    col("order_id", "int", {"lookup": {"from": "orders.order_id"}}),
                    col("price", "float", dist("lognormal", mean=3, sigma=0.5)),
                    col(
                        "order_amount",
                        "float",
                        {"lookup": {"from": "orders.amount", "on": {"order_id": "order_id"}}},
                    ),
                ],
            },
        ),
        put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["lines.price", "lines.order_amount"]),
    ),
    "vintage_behavior": put(
        f"{CUSTOMERS}.vintage_behavior",
        {
            "created_at_column": "signup_at",
            "age_based_multipliers": {
                "decay": {"curve": [1.0, 0.75, 0.6], "time_unit": "month", "applies_to": "fanout"},
                "growth": {
                    "curve": {"curve_type": "logarithmic", "params": {"a": 1, "b": 0.15}},
                    "time_unit": "week",
                    "applies_to": ["orders.amount"],
                },
                "linear": {
                    "curve": {"curve_type": "linear"},
                    "time_unit": "day",
                    "applies_to": ["orders.tax"],
                },
                "exp": {"curve": {"curve_type": "exponential", "params": {"b": -0.1}}, "time_unit": "year"},
            },
        },
    ),
    "stage_config_default_columns": chain(
        drop(f"{ORDERS}.fanout"),  # a walk decides the rows; a fanout there is ignored
        append(NEW_ORDER_COLUMN, col("stage_name", "string", {"choice": {"choices": ["cart", "paid"]}})),
        append(NEW_ORDER_COLUMN, col("stage_index", "int", {"choice": {"choices": [0, 1]}})),
        put(
            f"{ORDERS}.stage_config",
            {
                **STAGES,
                "segment_variation": {"vip": {"transition_multiplier": 1.3}},
                "gap": {"distribution": "lognormal", "mean_hours": 12, "sigma": 0.5},
            },
        ),
    ),
    "stage_config_named_columns": chain(
        drop(f"{ORDERS}.fanout"),  # a walk decides the rows; a fanout there is ignored
        append(NEW_ORDER_COLUMN, col("step", "string", {"choice": {"choices": ["cart"]}})),
        put(
            f"{ORDERS}.stage_config",
            {
                **STAGES,
                "gap": {"distribution": "uniform", "max_hours": 5},
                "columns": {"stage_name": "step", "stage_index": None, "time": "ordered_at"},
            },
        ),
    ),
    "state_transition_model": chain(
        drop(f"{ORDERS}.fanout"),  # a walk decides the rows; a fanout there is ignored
        append(NEW_ORDER_COLUMN, col("state", "string", {"choice": {"choices": ["active"]}})),
        append(
            NEW_ORDER_COLUMN,
            col("previous_state", "string", {"choice": {"choices": ["active"]}}, nullable=True),
        ),
        put(
            f"{ORDERS}.state_transition_model",
            {
                **STATES,
                "period_unit": "week",
                "states": {
                    **STATES["states"],
                    "paused": {
                        "duration": {"distribution": "lognormal", "mean": 1.5, "sigma": 0.5},
                        "next_states": {"active": 1.0},
                    },
                },
                "segment_variation": {"vip": {"churn_multiplier": 0.4}},
            },
        ),
        put(f"{ORDERS}.state_transition_model.states.active.next_states", {"churned": 0.6, "paused": 0.4}),
    ),
}


@pytest.mark.parametrize("edit", VALID_FORMS.values(), ids=VALID_FORMS.keys())
def test_valid_form_loads(edit: Edit) -> None:
    ok(check(edited(edit)))


def test_the_shop_base_notes_what_it_normalised_and_added() -> None:
    result = ok(check(base_schema()))
    notes = {(n.code, n.path): n.message for n in result.notes}
    assert "'H' normalised to 'h'" in notes[("legacy_freq", "timeframe.freq")]
    assert (
        "uses time column 'ordered_at'"
        in notes[("default_time_column", f"{AMOUNT}.modifiers[0].args.time_reference")]
    )
    implied = [n.message for n in result.notes if n.code == "implied_constraint"]
    assert implied == [
        "added implied unique 'customers.customer_id' (primary key)",
        "added implied unique 'orders.order_id' (primary key)",
        "added implied foreign key orders.customer_id -> customers.customer_id",
    ]
    assert result.schema is not None
    assert result.schema.timeframe.freq == "h"
    assert result.document["timeframe"]["freq"] == "h"
    assert "orders.order_id" in result.schema.constraints.unique
    assert [(fk.from_, fk.to) for fk in result.schema.constraints.foreign_keys] == [
        ("orders.customer_id", "customers.customer_id")
    ]


def test_declared_constraints_are_not_added_twice() -> None:
    doc = edited(
        put(
            "constraints",
            {
                "unique": ["customers.customer_id", "orders.order_id"],
                "foreign_keys": [{"from": "orders.customer_id", "to": "customers.customer_id"}],
            },
        )
    )
    result = ok(check(doc))
    assert not [n for n in result.notes if n.code == "implied_constraint"]
    assert result.schema.constraints.unique == ["customers.customer_id", "orders.order_id"]
    assert len(result.schema.constraints.foreign_keys) == 1


def test_a_join_lookup_is_not_an_implied_foreign_key() -> None:
    doc = edited(
        append(
            NEW_ORDER_COLUMN,
            col(
                "c", "string", {"lookup": {"from": "customers.country", "on": {"customer_id": "customer_id"}}}
            ),
        )
    )
    fks = [(fk.from_, fk.to) for fk in ok(check(doc)).schema.constraints.foreign_keys]
    assert fks == [("orders.customer_id", "customers.customer_id")]


def test_a_random_pick_of_the_parent_table_is_noted_as_another_row_and_not_the_parents_key() -> None:
    """A referrer among the customers (declared before the order's own key): the checker says what it
    reads and how to get the parent's own value; the way to the order's customer stays customer_id."""
    doc = edited(
        put(
            f"{ORDERS}.columns",
            [
                col("referrer_id", "int", {"lookup": {"from": "customers.customer_id", "pick": "random"}}),
                *get_at(base_schema(), f"{ORDERS}.columns"),
            ],
        )
    )
    result = ok(check(doc))
    (note,) = [n for n in result.notes if n.code == "another_parent_row"]
    assert note.path == f"{ORDERS}.columns[0].generator.lookup.pick"
    assert "random 'customers' row other than the one each 'orders' row is born from" in note.message
    assert 'drop "pick"' in note.message
    assert result.schema is not None
    orders, customers = result.schema.node("orders"), result.schema.node("customers")
    assert orders is not None and customers is not None
    assert key_column(result.schema, orders, customers) == "customer_id"
    fks = [(fk.from_, fk.to) for fk in result.schema.constraints.foreign_keys]
    assert ("orders.referrer_id", "customers.customer_id") in fks  # a customer all the same


@pytest.mark.parametrize("alias", sorted(LEGACY_ALIASES))
def test_every_legacy_freq_alias_loads_with_a_note(alias: str) -> None:
    doc = edited(
        put("timeframe.freq", f"2{alias}"), put(f"{ORDERS}.columns[2].generator.datetime_series.freq", alias)
    )
    result = ok(check(doc))
    new = LEGACY_ALIASES[alias]
    assert result.schema.timeframe.freq == f"2{new}"
    assert get_at(result.document, f"{ORDERS}.columns[2].generator.datetime_series.freq") == new
    paths = {n.path for n in result.notes if n.code == "legacy_freq"}
    assert paths == {"timeframe.freq", f"{ORDERS}.columns[2].generator.datetime_series.freq"}


def test_legacy_lam_is_read_as_lambda_with_a_note() -> None:
    result = ok(check(edited(put(f"{ORDERS}.fanout", {"distribution": "poisson", "lam": 2.5}))))
    assert result.schema.nodes[1].fanout.lambda_ == 2.5
    assert [n.path for n in result.notes if n.code == "legacy_key"] == [f"{ORDERS}.fanout"]


def test_behaviour_placeholders_are_noted() -> None:
    result = ok(check(edited(VALID_FORMS["stage_config_default_columns"])))
    overridden = {n.path for n in result.notes if n.code == "behaviour_overrides"}
    assert overridden == {
        f"{ORDERS}.stage_config.columns.stage_name",
        f"{ORDERS}.stage_config.columns.stage_index",
    }


def test_state_probabilities_that_do_not_sum_to_one_are_normalised_with_a_note() -> None:
    edit = chain(
        VALID_FORMS["state_transition_model"],
        put(f"{ORDERS}.state_transition_model.states.active.next_states", {"churned": 3, "paused": 1}),
    )
    result = ok(check(edited(edit)))
    assert any(n.code == "normalised_weights" and "sum to 4" in n.message for n in result.notes)


def test_a_v1_style_schema_loads_with_notes(tmp_path: Path) -> None:
    """Legacy aliases, `lam`, `comment` keys, free-form metadata and explicit PK/FK lists together."""
    doc = edited(
        put("comment", "written for the v1 engine"),
        put("metadata", {"name": "old", "owner": "ops", "tags": ["legacy"], "created": "2023-01-01"}),
        put(f"{ORDERS}.fanout", {"distribution": "poisson", "lam": 3, "comment": "per customer"}),
        put(f"{CUSTOMERS}.columns[4].generator.datetime_series.freq", "T"),
        put("constraints.unique", ["customers.customer_id"]),
        put("constraints.foreign_keys", [{"from": "orders.customer_id", "to": "customers.customer_id"}]),
    )
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(doc))
    from datagen.dsl import check_file

    result = ok(check_file(path))
    codes = [n.code for n in result.notes]
    assert codes.count("legacy_freq") == 2 and codes.count("legacy_key") == 1
    assert result.schema.metadata.model_extra == {"owner": "ops", "tags": ["legacy"], "created": "2023-01-01"}


def test_check_does_not_change_its_input() -> None:
    doc = base_schema()
    check(doc)
    assert doc == base_schema()
