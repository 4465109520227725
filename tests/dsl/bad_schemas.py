"""The bad-input corpus: one case per mistake people and language models really make.

Each case edits the valid shop schema (shop.json: `customers` entity -> `orders` fact) and names where the
checker must report it and the words the message must contain, so a message that stops pointing at the
right place or stops saying how to fix it fails a test. Paths use the checker's syntax.

Base layout, for reading the paths: nodes[0] customers: customer_id, country, name (faker, locale_from
country), segment, signup_at; segment_behavior. nodes[1] orders: order_id, customer_id (lookup),
ordered_at (dow pattern), amount (lognormal, trend), tax (expression). One inequality, one weekend target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tests.dsl.edits import Edit, append, chain, drop, put, rename

CUSTOMERS, ORDERS = "nodes[0]", "nodes[1]"
AMOUNT = f"{ORDERS}.columns[3]"
TAX = f"{ORDERS}.columns[4]"
DOW_PATTERN = f"{ORDERS}.columns[2].generator.datetime_series.pattern"

# A promotions table for effect modifiers; inserted as nodes[2].
PROMOS = {
    "id": "promos",
    "kind": "entity",
    "pk": "promo_id",
    "rows": 5,
    "columns": [
        {"name": "promo_id", "type": "int", "generator": {"sequence": {}}},
        {"name": "country", "type": "string", "generator": {"choice": {"choices": ["US", "DE"]}}},
        {"name": "start_at", "type": "datetime", "generator": {"datetime_series": {"freq": "D"}}},
        {"name": "end_at", "type": "datetime", "generator": {"expression": {"code": "start_at + days(7)"}}},
        {
            "name": "lift",
            "type": "float",
            "generator": {"distribution": {"type": "uniform", "params": {"low": 1.1, "high": 1.5}}},
        },
    ],
}
EFFECT = {
    "transform": "effect",
    "args": {
        "effect_table": "promos",
        "window": {"start_col": "start_at", "end_col": "end_at"},
        "map": {"field": "lift", "op": "mul", "default": 1.0},
    },
}
with_promos = append("nodes", PROMOS)
# Lines of an order born from a promotion (their first parent): they descend from customers only
# through their further parent, orders; inserted after promos.
LINES_UNDER_PROMOS = {
    "id": "lines",
    "kind": "fact",
    "pk": "line_id",
    "parents": ["promos", "orders"],
    "fanout": {"distribution": "poisson", "lambda": 2},
    "columns": [
        {"name": "line_id", "type": "int", "generator": {"sequence": {}}},
        {"name": "promo_id", "type": "int", "generator": {"lookup": {"from": "promos.promo_id"}}},
        {"name": "order_id", "type": "int", "generator": {"lookup": {"from": "orders.order_id"}}},
        {
            "name": "qty",
            "type": "int",
            "generator": {"distribution": {"type": "poisson", "params": {"lambda": 2}}},
        },
    ],
}
STAGES = {
    "stages": [{"stage_name": "cart", "transition_rate": 1.0}, {"stage_name": "paid", "transition_rate": 0.5}]
}
STATES = {
    "initial_state": "active",
    "states": {
        "active": {"transition_prob_per_period": 0.1, "next_states": {"churned": 1.0}},
        "churned": {"terminal": True},
    },
}
STRING_COL = {"name": "label", "type": "string", "generator": {"choice": {"choices": ["a", "b"]}}}


def new_column(table: str, column: dict) -> Edit:
    return append(f"{table}.columns", column)


@dataclass(frozen=True)
class BadCase:
    name: str
    edit: Edit
    path: str
    keywords: tuple[str, ...]
    severity: Literal["error", "warning"] = "error"
    # How many issues of that severity the schema gives in all; None where one mistake rightly has
    # consequences elsewhere (a table renamed away is also missing where it is referenced).
    count: int | None = 1


def case(name: str, edit: Edit, path: str, *keywords: str, **kw) -> BadCase:
    return BadCase(name, edit, path, keywords, **kw)


CASES: list[BadCase] = [
    # --- values of the wrong JSON type (strict: the JSON Schema rejects them too) ---------------------
    case("rows_as_text", put(f"{CUSTOMERS}.rows", "10"), f"{CUSTOMERS}.rows", "valid integer", "'10'"),
    case(
        "nullable_as_text",
        put(f"{CUSTOMERS}.columns[1].nullable", "yes"),
        f"{CUSTOMERS}.columns[1].nullable",
        "valid boolean",
        "'yes'",
    ),
    # --- typos and wrong names in keys, at every depth -------------------------------------------------
    case(
        "typo_top_level_key",
        rename("constraints", "constraint"),
        "(schema)",
        "unknown key 'constraint'",
        "did you mean 'constraints'",
    ),
    case(
        "typo_column_key",
        put(f"{CUSTOMERS}.columns[1].nulable", True),
        f"{CUSTOMERS}.columns[1]",
        "unknown key 'nulable'",
        "did you mean 'nullable'",
        "expected:",
    ),
    case(
        "typo_distribution_param",
        put(f"{AMOUNT}.generator.distribution.params", {"mean": 3, "sigmaa": 0.5}),
        f"{AMOUNT}.generator.distribution.params",
        "sigmaa",
        "did you mean 'sigma'",
        "expected: mean, sigma",
    ),
    case(
        "param_of_another_distribution",
        put(f"{AMOUNT}.generator.distribution", {"type": "normal", "params": {"mean": 3, "lambda": 1}}),
        f"{AMOUNT}.generator.distribution.params",
        "unknown key 'lambda'",
        "type 'normal'",
        "mean, std",
    ),
    case(
        "distribution_param_missing",
        put(f"{AMOUNT}.generator.distribution", {"type": "normal", "params": {"mean": 3}}),
        f"{AMOUNT}.generator.distribution.params",
        "needs 'std'",
    ),
    case(
        "typo_generator_name",
        put(f"{CUSTOMERS}.columns[1].generator", {"choise": {"choices": ["a"]}}),
        f"{CUSTOMERS}.columns[1].generator",
        "unknown generator 'choise'",
        "did you mean 'choice'",
    ),
    case(
        "generator_written_with_type_key",
        put(f"{CUSTOMERS}.columns[0].generator", {"type": "sequence", "start": 1}),
        f"{CUSTOMERS}.columns[0].generator",
        '{"sequence": {...arguments...}}',
        '{"type": "sequence"',
    ),
    case(
        "generator_with_two_names",
        put(f"{CUSTOMERS}.columns[0].generator", {"sequence": {}, "choice": {"choices": [1]}}),
        f"{CUSTOMERS}.columns[0].generator",
        "exactly one key",
        "'sequence', 'choice'",
    ),
    case(
        "generator_as_plain_string",
        put(f"{CUSTOMERS}.columns[0].generator", "sequence"),
        f"{CUSTOMERS}.columns[0].generator",
        "object with exactly one key",
    ),
    case(
        "typo_distribution_type",
        put(f"{AMOUNT}.generator.distribution.type", "lognorm"),
        f"{AMOUNT}.generator.distribution.type",
        "found 'lognorm'",
        "did you mean 'lognormal'",
    ),
    case(
        "typo_fanout_distribution",
        put(f"{ORDERS}.fanout.distribution", "poison"),
        f"{ORDERS}.fanout.distribution",
        "did you mean 'poisson'",
    ),
    case(
        "python_name_instead_of_alias",
        put(f"{ORDERS}.columns[1].generator.lookup", {"from_": "customers.customer_id"}),
        f"{ORDERS}.columns[1].generator.lookup",
        "unknown key 'from_'",
        "did you mean 'from'",
    ),
    case(
        "typo_modifier_transform",
        put(f"{AMOUNT}.modifiers[0].transform", "trnd"),
        f"{AMOUNT}.modifiers[0]",
        "unknown transform 'trnd'",
        "did you mean 'trend'",
    ),
    case(
        "modifier_without_transform",
        put(f"{AMOUNT}.modifiers[0]", {"args": {"factor": 2}}),
        f"{AMOUNT}.modifiers[0]",
        "missing 'transform'",
        "multiply",
        "trend",
    ),
    case(
        "typo_modifier_argument",
        put(f"{AMOUNT}.modifiers[0].args.growth", 0.1),
        f"{AMOUNT}.modifiers[0].args",
        "unknown key 'growth'",
        "did you mean 'growth_rate'",
    ),
    case(
        "misnamed_required_argument",
        append(
            f"{CUSTOMERS}.columns[1].modifiers", {"transform": "map_values", "args": {"map": {"US": "USA"}}}
        ),
        f"{CUSTOMERS}.columns[1].modifiers[0].args",
        "unknown key 'map'",
        "did you mean 'mapping'",
    ),
    case(
        "typo_in_faker_arguments",
        put(f"{CUSTOMERS}.columns[2].generator.faker.local", "de_DE"),
        f"{CUSTOMERS}.columns[2].generator.faker",
        "unknown key 'local'",
        "did you mean 'locale'",
    ),
    case(
        "typo_in_behaviour_block",
        put(f"{CUSTOMERS}.segment_behavior.behaviors.vip.fanout_mult", 2),
        f"{CUSTOMERS}.segment_behavior.behaviors.vip",
        "unknown key 'fanout_mult'",
        "'fanout_multiplier'",
    ),
    case(
        "typo_target_kind",
        put("targets.mean_in_rang", {"table": "orders", "column": "amount", "min": 1, "max": 2}),
        "targets",
        "unknown key 'mean_in_rang'",
        "did you mean 'mean_in_range'",
    ),
    case(
        "typo_column_type",
        put(f"{CUSTOMERS}.columns[1].type", "str"),
        f"{CUSTOMERS}.columns[1].type",
        "found 'str'",
        "did you mean 'string'",
    ),
    case(
        "unknown_table_kind",
        put(f"{CUSTOMERS}.kind", "dimension"),
        f"{CUSTOMERS}.kind",
        "found 'dimension'",
        "entity, fact, vocab",
    ),
    case(
        "typo_time_unit",
        put(
            f"{CUSTOMERS}.vintage_behavior",
            {
                "created_at_column": "signup_at",
                "age_based_multipliers": {"decay": {"curve": [1, 0.5], "time_unit": "months"}},
            },
        ),
        f"{CUSTOMERS}.vintage_behavior.age_based_multipliers.decay.time_unit",
        "did you mean 'month'",
    ),
    case(
        "typo_curve_type",
        put(
            f"{CUSTOMERS}.vintage_behavior",
            {
                "created_at_column": "signup_at",
                "age_based_multipliers": {
                    "g": {"curve": {"curve_type": "log"}, "applies_to": ["orders.amount"]}
                },
            },
        ),
        f"{CUSTOMERS}.vintage_behavior.age_based_multipliers.g.curve.curve_type",
        "found 'log'",
        "logarithmic",
    ),
    case(
        "typo_inequality_operator",
        put("constraints.inequalities[0].op", "=>"),
        "constraints.inequalities[0].op",
        "found '=>'",
        "<, <=, >, >=, ==",
    ),
    # --- the top level -------------------------------------------------------------------------------
    case("version_as_number", put("version", 1.0), "version", "in quotes", '"1.0"'),
    case("unsupported_version", put("version", "2.0"), "version", "'2.0' is not supported", "1.0"),
    case("missing_timeframe", drop("timeframe"), "timeframe", "required key is missing"),
    case(
        "metadata_without_name", put("metadata", {"owner": "me"}), "metadata.name", "required key is missing"
    ),
    case(
        "timeframe_not_iso", put("timeframe.start", "yesterday"), "timeframe.start", "'yesterday'", "ISO-8601"
    ),
    case("timeframe_start_after_end", put("timeframe.end", "2023-06-01"), "timeframe", "must be before end"),
    case("timeframe_empty", put("timeframe.end", "2024-01-01T00:00:00Z"), "timeframe", "must be before end"),
    case(
        "timeframe_freq_pandas_cannot_parse",
        put("timeframe.freq", "now and then"),
        "timeframe.freq",
        "'now and then' is not a pandas alias",
        "'h'",
    ),
    case("no_tables", put("nodes", []), "nodes", "at least 1"),
    case(
        "nan_parameter",
        put(f"{AMOUNT}.generator.distribution.params.mean", float("nan")),
        f"{AMOUNT}.generator.distribution.params.mean",
        "finite number",
    ),
    # --- tables and columns --------------------------------------------------------------------------
    case("negative_rows", put(f"{CUSTOMERS}.rows", -5), f"{CUSTOMERS}.rows", "rows must be >= 0", "-5"),
    case("fractional_rows", put(f"{CUSTOMERS}.rows", 10.5), f"{CUSTOMERS}.rows", "integer", "10.5"),
    case(
        "table_id_with_space",
        put(f"{CUSTOMERS}.id", "my customers"),
        f"{CUSTOMERS}.id",
        "'my customers'",
        "[A-Za-z_][A-Za-z0-9_]*",
    ),
    case(
        "column_name_with_dash",
        put(f"{CUSTOMERS}.columns[3].name", "customer-segment"),
        f"{CUSTOMERS}.columns[3].name",
        "'customer-segment'",
        "underscore",
    ),
    case(
        "null_rate_without_nullable",
        put(f"{CUSTOMERS}.columns[2].null_rate", 0.2),
        f"{CUSTOMERS}.columns[2]",
        "null_rate 0.2",
        '"nullable": true',
    ),
    case(
        "null_rate_above_one",
        chain(put(f"{CUSTOMERS}.columns[2].nullable", True), put(f"{CUSTOMERS}.columns[2].null_rate", 5)),
        f"{CUSTOMERS}.columns[2].null_rate",
        "less than or equal to 1",
        "5",
    ),
    case(
        "pk_not_a_column",
        put(f"{CUSTOMERS}.pk", "id"),
        f"{CUSTOMERS}.pk",
        "unknown column 'id'",
        "table 'customers'",
        "customer_id",
    ),
    case(
        "pk_nullable",
        put(f"{CUSTOMERS}.columns[0].nullable", True),
        f"{CUSTOMERS}.pk",
        "primary key 'customer_id'",
        "nullable",
    ),
    case(
        "duplicate_table_id",
        chain(append("nodes", {**PROMOS, "id": "customers"})),
        "nodes[2].id",
        "duplicate table id 'customers'",
    ),
    case(
        "duplicate_column_name",
        new_column(CUSTOMERS, {**STRING_COL, "name": "segment"}),
        f"{CUSTOMERS}.columns[5].name",
        "duplicate column 'segment'",
    ),
    case(
        "fanout_on_entity",
        put(f"{CUSTOMERS}.fanout", {"distribution": "poisson", "lambda": 2}),
        f"{CUSTOMERS}.fanout",
        "only allowed on facts",
        "an entity",
        '"kind": "fact"',
    ),
    case(
        "parents_on_entity",
        chain(with_promos, put("nodes[2].parents", ["customers"])),
        "nodes[2].parents",
        "only allowed on facts",
        "'promos' is an entity",
    ),
    case(
        "behaviour_block_of_entity_on_fact",
        put(f"{ORDERS}.segment_behavior", {"segment_column": "tax", "behaviors": {}}),
        f"{ORDERS}.segment_behavior",
        "only allowed on entities",
        "'orders' is a fact",
    ),
    case(
        "unknown_parent_table",
        put(f"{ORDERS}.parents", ["customer"]),
        f"{ORDERS}.parents[0]",
        "unknown parent table 'customer'",
        "did you mean 'customers'",
        count=None,
    ),
    case(
        "fanout_without_parents", drop(f"{ORDERS}.parents"), f"{ORDERS}.fanout", "needs 'parents'", count=None
    ),
    case(
        "fanout_uniform_without_max",
        put(f"{ORDERS}.fanout", {"distribution": "uniform", "min": 1}),
        f"{ORDERS}.fanout",
        "'uniform' needs 'min' and 'max'",
    ),
    case(
        "fanout_poisson_without_lambda",
        put(f"{ORDERS}.fanout", {"distribution": "poisson", "max": 4}),
        f"{ORDERS}.fanout",
        "needs 'lambda'",
    ),
    case(
        "fanout_min_above_max",
        put(f"{ORDERS}.fanout", {"lambda": 2, "min": 5, "max": 1}),
        f"{ORDERS}.fanout",
        "min (5) must be <= max (1)",
    ),
    case(
        "negative_fanout_lambda",
        put(f"{ORDERS}.fanout.lambda", -1),
        f"{ORDERS}.fanout.lambda",
        "greater than or equal to 0",
    ),
    # --- generator arguments -------------------------------------------------------------------------
    case(
        "weights_shorter_than_choices",
        put(f"{CUSTOMERS}.columns[1].generator.choice.weights", [1, 2]),
        f"{CUSTOMERS}.columns[1].generator.choice",
        "2 weights for 3 choices",
        "one weight per choice",
    ),
    case(
        "negative_weight",
        put(f"{CUSTOMERS}.columns[1].generator.choice.weights", [1, -2, 1]),
        f"{CUSTOMERS}.columns[1].generator.choice",
        "weights must be >= 0",
    ),
    case(
        "choices_and_choices_ref",
        put(f"{CUSTOMERS}.columns[1].generator.choice.choices_ref", "customers.segment"),
        f"{CUSTOMERS}.columns[1].generator.choice",
        "exactly one of 'choices'",
        "'choices_ref'",
    ),
    case(
        "empty_choices",
        put(f"{CUSTOMERS}.columns[1].generator.choice", {"choices": []}),
        f"{CUSTOMERS}.columns[1].generator.choice",
        "'choices' is empty",
    ),
    case(
        "weights_kind_misspelt",
        put(f"{CUSTOMERS}.columns[1].generator.choice", {"choices": ["a", "b"], "weights_kind": "zipf(1.1)"}),
        f"{CUSTOMERS}.columns[1].generator.choice.weights_kind",
        "'zipf(1.1)'",
        "zipf@<alpha>",
        "zipf@1.1",
    ),
    case(
        "weights_and_weights_kind",
        put(f"{CUSTOMERS}.columns[1].generator.choice.weights_kind", "uniform"),
        f"{CUSTOMERS}.columns[1].generator.choice",
        "'weights' or 'weights_kind', not both",
    ),
    case(
        "hour_pattern_of_23",
        put(DOW_PATTERN, {"dimension": "hour", "weights": [1] * 23}),
        f"{DOW_PATTERN}[0]",
        "'hour' pattern needs 24 weights",
        "found 23",
    ),
    case(
        "dow_pattern_of_6",
        put(f"{DOW_PATTERN}.weights", [1] * 6),
        f"{DOW_PATTERN}[0]",
        "needs 7 weights",
        "Monday first",
        "found 6",
    ),
    case(
        "month_seasonality_of_11",
        append(
            f"{AMOUNT}.modifiers",
            {"transform": "seasonality", "args": {"dimension": "month", "weights": [1] * 11}},
        ),
        f"{AMOUNT}.modifiers[1].args",
        "'month' pattern needs 12 weights",
        "found 11",
    ),
    case(
        "series_freq_pandas_cannot_parse",
        put(f"{ORDERS}.columns[2].generator.datetime_series.freq", "every other hour"),
        f"{ORDERS}.columns[2].generator.datetime_series.freq",
        "'every other hour' is not a pandas alias",
    ),
    case(
        "within_unknown_word",
        put(f"{ORDERS}.columns[2].generator.datetime_series.within", "all"),
        f"{ORDERS}.columns[2].generator.datetime_series.within",
        "found 'all'",
        "timeframe",
    ),
    case(
        "within_reversed",
        put(
            f"{ORDERS}.columns[2].generator.datetime_series.within",
            {"start": "2025-01-01", "end": "2024-01-01"},
        ),
        f"{ORDERS}.columns[2].generator.datetime_series.within",
        "start must be before within.end",
    ),
    case(
        "sequence_step_zero",
        put(f"{CUSTOMERS}.columns[0].generator.sequence.step", 0),
        f"{CUSTOMERS}.columns[0].generator.sequence.step",
        "must not be 0",
    ),
    case(
        "clamp_reversed",
        put(f"{AMOUNT}.generator.distribution.clamp", [1000, 1]),
        f"{AMOUNT}.generator.distribution.clamp",
        "min <= max",
    ),
    case(
        "negative_std",
        put(f"{AMOUNT}.generator.distribution", {"type": "normal", "params": {"mean": 3, "std": -1}}),
        f"{AMOUNT}.generator.distribution.params",
        "'std' must be > 0",
    ),
    case(
        "uniform_low_not_below_high",
        put(f"{AMOUNT}.generator.distribution", {"type": "uniform", "params": {"low": 5, "high": 5}}),
        f"{AMOUNT}.generator.distribution.params",
        "low < high",
    ),
    case(
        "outlier_rate_above_one",
        append(f"{AMOUNT}.modifiers", {"transform": "outliers", "args": {"rate": 1.5}}),
        f"{AMOUNT}.modifiers[1].args.rate",
        "less than or equal to 1",
    ),
    case(
        "unknown_faker_method",
        put(f"{CUSTOMERS}.columns[2].generator.faker.method", "nmae"),
        f"{CUSTOMERS}.columns[2].generator.faker.method",
        "unknown faker method 'nmae'",
        "did you mean",
        "'name'",
    ),
    case(
        "faker_arguments_it_does_not_take",
        put(f"{CUSTOMERS}.columns[2].generator.faker.args", {"foo": 1}),
        f"{CUSTOMERS}.columns[2].generator.faker.method",
        "does not accept",
        "'foo'",
    ),
    case(
        "faker_unknown_locale",
        put(f"{CUSTOMERS}.columns[2].generator.faker", {"method": "name", "locale": "xx_XX"}),
        f"{CUSTOMERS}.columns[2].generator.faker.locale",
        "unknown locale 'xx_XX'",
        "de_DE",
    ),
    case(
        "sequence_in_float_column",
        chain(put(f"{CUSTOMERS}.columns[0].type", "float"), put(f"{ORDERS}.columns[1].type", "float")),
        f"{CUSTOMERS}.columns[0].type",
        "sequence generator fills int or string",
        "not float",
    ),
    case(
        "enum_list_outside_vocab",
        put(f"{CUSTOMERS}.columns[1].generator", {"enum_list": {"values": ["US"]}}),
        f"{CUSTOMERS}.columns[1].generator.enum_list",
        "vocab tables",
        "use choice",
    ),
    case(
        "random_column_in_vocab",
        append(
            "nodes",
            {
                "id": "v",
                "kind": "vocab",
                "columns": [
                    {"name": "code", "type": "string", "generator": {"enum_list": {"values": ["a", "b"]}}},
                    STRING_COL,
                ],
            },
        ),
        "nodes[2].columns[1].generator",
        "not independently random",
        "'choice'",
    ),
    case(
        "vocab_lists_of_different_length",
        append(
            "nodes",
            {
                "id": "v",
                "kind": "vocab",
                "columns": [
                    {"name": "code", "type": "string", "generator": {"enum_list": {"values": ["a", "b"]}}},
                    {"name": "rank", "type": "int", "generator": {"enum_list": {"values": [1, 2, 3]}}},
                ],
            },
        ),
        "nodes[2].columns",
        "same length",
        "'code': 2",
        "'rank': 3",
    ),
    # --- references to tables and columns ------------------------------------------------------------
    case(
        "lookup_unknown_table",
        put(f"{ORDERS}.columns[1].generator.lookup.from", "customer.customer_id"),
        f"{ORDERS}.columns[1].generator.lookup.from",
        "unknown table 'customer'",
        "did you mean 'customers'",
    ),
    case(
        "lookup_unknown_column",
        put(f"{ORDERS}.columns[1].generator.lookup.from", "customers.id"),
        f"{ORDERS}.columns[1].generator.lookup.from",
        "unknown column 'id'",
        "customer_id",
    ),
    case(
        "lookup_without_column",
        put(f"{ORDERS}.columns[1].generator.lookup.from", "customers"),
        f"{ORDERS}.columns[1].generator.lookup.from",
        "'customers' is not of the form 'table.column'",
    ),
    case(
        "lookup_on_unknown_local_column",
        new_column(
            ORDERS,
            {
                "name": "seg",
                "type": "string",
                "generator": {"lookup": {"from": "customers.segment", "on": {"cust_id": "customer_id"}}},
            },
        ),
        f"{ORDERS}.columns[5].generator.lookup.on.cust_id",
        "unknown column 'cust_id'",
        "table 'orders'",
        "did you mean 'customer_id'",
    ),
    case(
        "lookup_on_non_unique_source",
        new_column(
            ORDERS,
            {
                "name": "seg",
                "type": "string",
                "generator": {"lookup": {"from": "customers.segment", "on": {"ordered_at": "signup_at"}}},
            },
        ),
        f"{ORDERS}.columns[5].generator.lookup.on.ordered_at",
        "'customers.signup_at' is not unique",
        "ambiguous",
        "declare it unique",
    ),
    case(
        "choices_ref_unknown_column",
        new_column(
            ORDERS,
            {"name": "c", "type": "string", "generator": {"choice": {"choices_ref": "customers.cuntry"}}},
        ),
        f"{ORDERS}.columns[5].generator.choice.choices_ref",
        "unknown column 'cuntry'",
        "did you mean 'country'",
    ),
    case(
        "locale_from_unknown_column",
        put(f"{CUSTOMERS}.columns[2].generator.faker.locale_from", "countri"),
        f"{CUSTOMERS}.columns[2].generator.faker.locale_from",
        "unknown column 'countri'",
        "'country'",
    ),
    case(
        "self_reference_not_nullable",
        new_column(
            CUSTOMERS,
            {
                "name": "referrer_id",
                "type": "int",
                "generator": {"lookup": {"from": "customers.customer_id"}},
            },
        ),
        f"{CUSTOMERS}.columns[5]",
        "self-reference 'referrer_id'",
        '"nullable": true',
    ),
    case(
        "self_reference_not_to_pk",
        new_column(
            CUSTOMERS,
            {
                "name": "peer_segment",
                "type": "string",
                "nullable": True,
                "generator": {"lookup": {"from": "customers.segment"}},
            },
        ),
        f"{CUSTOMERS}.columns[5].generator.lookup.from",
        "self-reference must point at the table's primary key",
    ),
    case(
        "self_reference_on_without_a_random_pick",
        new_column(
            CUSTOMERS,
            {
                "name": "r",
                "type": "int",
                "nullable": True,
                "generator": {"lookup": {"from": "customers.customer_id", "on": {"country": "country"}}},
            },
        ),
        f"{CUSTOMERS}.columns[5].generator.lookup.on",
        "a random earlier row with the same values",
        'add "pick": "random"',
    ),
    case(
        "self_reference_on_not_nullable",
        new_column(
            CUSTOMERS,
            {
                "name": "referrer_id",
                "type": "int",
                "generator": {
                    "lookup": {
                        "from": "customers.customer_id",
                        "on": {"country": "country"},
                        "pick": "random",
                    }
                },
            },
        ),
        f"{CUSTOMERS}.columns[5]",
        '"nullable": true',
        "the first row of each country has no earlier row",
    ),
    case(
        "trend_time_reference_unknown",
        put(f"{AMOUNT}.modifiers[0].args.time_reference", "order_at"),
        f"{AMOUNT}.modifiers[0].args.time_reference",
        "unknown column 'order_at'",
        "did you mean 'ordered_at'",
    ),
    case(
        "trend_time_reference_not_a_time",
        put(f"{AMOUNT}.modifiers[0].args.time_reference", "customer_id"),
        f"{AMOUNT}.modifiers[0].args.time_reference",
        "'orders.customer_id' has type int",
        "expected datetime or date",
    ),
    case(
        "trend_in_table_without_time",
        chain(
            drop(f"{ORDERS}.columns[2]"),
            drop(f"{CUSTOMERS}.columns[4]"),
            put("constraints", {}),
            drop("targets"),
        ),
        f"{ORDERS}.columns[2].modifiers[0].args.time_reference",
        "'trend' reads time",
        "no datetime column",
    ),
    case(
        "seasonality_time_column_unknown",
        append(
            f"{AMOUNT}.modifiers",
            {
                "transform": "seasonality",
                "args": {"dimension": "month", "weights": [1] * 12, "time_column": "when"},
            },
        ),
        f"{AMOUNT}.modifiers[1].args.time_column",
        "unknown column 'when'",
        "table 'orders'",
    ),
    case(
        "multiply_on_text",
        append(f"{CUSTOMERS}.columns[1].modifiers", {"transform": "multiply", "args": {"factor": 2}}),
        f"{CUSTOMERS}.columns[1].modifiers[0].transform",
        "numeric columns",
        "'country' is string",
    ),
    case(
        "time_jitter_on_number",
        append(f"{AMOUNT}.modifiers", {"transform": "time_jitter", "args": {"std_minutes": 5}}),
        f"{AMOUNT}.modifiers[1].transform",
        "datetime columns",
        "'amount' is float",
    ),
    case(
        "effect_table_unknown",
        append(f"{AMOUNT}.modifiers", EFFECT),
        f"{AMOUNT}.modifiers[1].args.effect_table",
        "unknown effect table 'promos'",
    ),
    case(
        "effect_window_unknown_column",
        chain(
            with_promos,
            append(f"{AMOUNT}.modifiers", EFFECT),
            put(f"{AMOUNT}.modifiers[1].args.window.start_col", "starts"),
        ),
        f"{AMOUNT}.modifiers[1].args.window.start_col",
        "unknown column 'starts'",
        "table 'promos'",
        "did you mean 'start_at'",
    ),
    case(
        "effect_field_not_numeric",
        chain(
            with_promos,
            append(f"{AMOUNT}.modifiers", EFFECT),
            put(f"{AMOUNT}.modifiers[1].args.map.field", "country"),
        ),
        f"{AMOUNT}.modifiers[1].args.map.field",
        "'promos.country' has type string",
        "int or float",
    ),
    case(
        "effect_on_unknown_local_column",
        chain(
            with_promos,
            append(f"{AMOUNT}.modifiers", EFFECT),
            put(f"{AMOUNT}.modifiers[1].args.on", {"cntry": "country"}),
        ),
        f"{AMOUNT}.modifiers[1].args.on.cntry",
        "unknown column 'cntry'",
        "table 'orders'",
    ),
    case(
        "table_level_effect_on_entity",
        chain(with_promos, append(f"{CUSTOMERS}.modifiers", EFFECT)),
        f"{CUSTOMERS}.modifiers[0].args",
        "table-level effect",
        "fact with parents",
    ),
    # --- expressions ---------------------------------------------------------------------------------
    case(
        "expression_unknown_column",
        put(f"{TAX}.generator.expression.code", "amont * 0.21"),
        f"{TAX}.generator.expression.code",
        "unknown column 'amont'",
        "did you mean 'amount'",
    ),
    case(
        "expression_escapes_the_sandbox",
        put(f"{TAX}.generator.expression.code", "__import__('os').system('ls')"),
        f"{TAX}.generator.expression.code",
        "not allowed",
        "only these functions",
    ),
    case(
        "expression_attribute_access",
        put(f"{TAX}.generator.expression.code", "amount.__class__"),
        f"{TAX}.generator.expression.code",
        "attribute access",
        "not allowed",
    ),
    case(
        "expression_parent_column_dotted",
        put(f"{TAX}.generator.expression.code", "customers.segment"),
        f"{TAX}.generator.expression.code",
        "attribute access '.segment'",
        "bare name",
    ),
    case(
        "expression_lambda",
        put(f"{TAX}.generator.expression.code", "(lambda x: x)(amount)"),
        f"{TAX}.generator.expression.code",
        "lambda",
        "not allowed",
    ),
    case(
        "expression_unknown_function",
        put(f"{TAX}.generator.expression.code", "eval('1')"),
        f"{TAX}.generator.expression.code",
        "function 'eval' is not allowed",
    ),
    case(
        "expression_syntax_error",
        put(f"{TAX}.generator.expression.code", "amount *"),
        f"{TAX}.generator.expression.code",
        "syntax error",
    ),
    case(
        "expression_uses_its_own_column",
        put(f"{TAX}.generator.expression.code", "tax + 1"),
        f"{TAX}.generator.expression.code",
        "uses 'tax' itself",
    ),
    # --- cycles and the explicit dag -----------------------------------------------------------------
    case(
        "lookup_cycle_between_tables",
        new_column(
            CUSTOMERS,
            {"name": "last_order", "type": "int", "generator": {"lookup": {"from": "orders.order_id"}}},
        ),
        "nodes",
        "cycle",
        "customers -> orders -> customers",
    ),
    case(
        "parent_cycle",
        chain(
            append("nodes", {**PROMOS, "id": "a", "kind": "fact", "parents": ["b"]}),
            append("nodes", {**PROMOS, "id": "b", "kind": "fact", "parents": ["a"]}),
        ),
        "nodes",
        "cycle",
        "a",
        "b",
    ),
    case(
        "column_reference_cycle",
        put(f"{AMOUNT}.generator", {"expression": {"code": "tax / 0.21"}}),
        f"{ORDERS}.columns",
        "columns refer to each other in a cycle",
        "amount",
        "tax",
    ),
    case(
        "dag_disagrees",
        put("dag", [["orders"], ["customers"]]),
        "dag",
        "'orders' (level 0) no later than 'customers' (level 1)",
        "depends on 'customers'",
    ),
    case("dag_missing_a_table", put("dag", [["customers"]]), "dag", "every table once", "missing: orders"),
    case(
        "dag_unknown_table",
        put("dag", [["customers"], ["orders", "order_items"]]),
        "dag[1][1]",
        "unknown table 'order_items'",
    ),
    case(
        "dag_table_twice", put("dag", [["customers"], ["orders"], ["orders"]]), "dag[2][0]", "appears twice"
    ),
    # --- constraints ---------------------------------------------------------------------------------
    case(
        "unique_without_column",
        put("constraints.unique", ["customers"]),
        "constraints.unique[0]",
        "not of the form 'table.column'",
    ),
    case(
        "foreign_key_unknown_column",
        put("constraints.foreign_keys", [{"from": "orders.cust_id", "to": "customers.customer_id"}]),
        "constraints.foreign_keys[0].from",
        "unknown column 'cust_id'",
        "did you mean 'customer_id'",
    ),
    case(
        "range_unknown_table",
        put("constraints.ranges", [{"attr": "order.amount", "min": 0}]),
        "constraints.ranges[0].attr",
        "unknown table 'order'",
        "did you mean 'orders'",
    ),
    case(
        "range_min_above_max",
        put("constraints.ranges", [{"attr": "orders.amount", "min": 10, "max": 1}]),
        "constraints.ranges[0]",
        "min (10.0) > max (1.0)",
    ),
    case(
        "regex_does_not_compile",
        put("constraints.pattern", [{"attr": "customers.name", "regex": "[a-"}]),
        "constraints.pattern[0].regex",
        "regex '[a-' does not compile",
    ),
    case(
        "column_regex_does_not_compile",
        put(f"{CUSTOMERS}.columns[2].constraints", {"pattern": "(ab"}),
        f"{CUSTOMERS}.columns[2].constraints.pattern",
        "does not compile",
    ),
    case(
        "enum_values_and_ref",
        put(
            "constraints.enum",
            [{"attr": "customers.country", "values": ["US"], "enum_ref": "customers.country"}],
        ),
        "constraints.enum[0]",
        "exactly one of 'values'",
        "'enum_ref'",
    ),
    case(
        "enum_ref_unknown_table",
        put("constraints.enum", [{"attr": "customers.country", "enum_ref": "countries.code"}]),
        "constraints.enum[0].enum_ref",
        "unknown table 'countries'",
    ),
    case(
        "column_enum_ref_unknown_column",
        put(f"{CUSTOMERS}.columns[1].constraints", {"enum_ref": "customers.cc"}),
        f"{CUSTOMERS}.columns[1].constraints.enum_ref",
        "unknown column 'cc'",
    ),
    case(
        "inequality_between_unrelated_tables",
        chain(with_promos, put("constraints.inequalities[0].right", "promos.start_at")),
        "constraints.inequalities[0]",
        "a row of 'orders' has no row of 'promos'",
        "add 'promos' to the parents of 'orders'",
    ),
    # --- types that cannot meet --------------------------------------------------------------------
    case(
        "column_type_synonym",
        put(f"{CUSTOMERS}.columns[4].type", "timestamp"),
        f"{CUSTOMERS}.columns[4].type",
        "found 'timestamp'",
        "did you mean 'datetime'",
    ),
    case(
        "foreign_key_of_another_type",
        put(f"{ORDERS}.columns[1].type", "string"),
        f"{ORDERS}.columns[1].generator.lookup.from",
        "'customer_id' is string but 'customers.customer_id' is int",
        "make 'customer_id' int",
    ),
    case(
        "foreign_key_as_float",
        put(f"{ORDERS}.columns[1].type", "float"),
        f"{ORDERS}.columns[1].generator.lookup.from",
        "is float",
        "keys keep their type",
    ),
    case(
        "join_on_columns_of_different_types",
        new_column(
            ORDERS,
            {
                "name": "seg",
                "type": "string",
                "generator": {"lookup": {"from": "customers.segment", "on": {"ordered_at": "customer_id"}}},
            },
        ),
        f"{ORDERS}.columns[5].generator.lookup.on.ordered_at",
        "'orders.ordered_at' (datetime)",
        "'customers.customer_id' (int)",
        "never match",
    ),
    case(
        "inequality_between_a_number_and_a_time",
        put("constraints.inequalities[0].left", "orders.amount"),
        "constraints.inequalities[0]",
        "'orders.amount' (float)",
        "'customers.signup_at' (datetime)",
    ),
    case(
        "range_with_text_bound_on_a_number",
        put("constraints.ranges", [{"attr": "orders.amount", "min": "0"}]),
        "constraints.ranges[0].min",
        "min is a number",
        "found '0'",
    ),
    case(
        "range_with_number_bound_on_a_time",
        put("constraints.ranges", [{"attr": "orders.ordered_at", "max": 2025}]),
        "constraints.ranges[0].max",
        "ISO-8601",
        "found 2025",
    ),
    case(
        "range_with_bad_date",
        put("constraints.ranges", [{"attr": "orders.ordered_at", "min": "last year"}]),
        "constraints.ranges[0].min",
        "'last year' is not an ISO-8601",
    ),
    case(
        "range_on_a_text_column",
        put("constraints.ranges", [{"attr": "customers.country", "min": 0}]),
        "constraints.ranges[0].attr",
        "numeric and datetime columns",
        "enum or pattern",
    ),
    # --- targets -------------------------------------------------------------------------------------
    case(
        "weekend_target_unreachable",
        put("targets.weekend_share", {"table": "orders", "timestamp": "ordered_at", "min": 0.5, "max": 0.6}),
        "targets.weekend_share[0]",
        "weekend share of 0.375",
        "outside the target",
        severity="warning",
    ),
    case(
        "weekend_target_on_a_number",
        put("targets.weekend_share.timestamp", "amount"),
        "targets.weekend_share[0].timestamp",
        "'orders.amount' has type float",
        "datetime",
    ),
    case(
        "target_min_above_max",
        chain(put("targets.weekend_share.min", 0.5), put("targets.weekend_share.max", 0.2)),
        "targets.weekend_share[0]",
        "min (0.5) > max (0.2)",
    ),
    case(
        "target_share_above_one",
        put("targets.weekend_share.max", 30),
        "targets.weekend_share[0].max",
        "less than or equal to 1",
    ),
    case(
        "mean_target_unknown_column",
        put("targets.mean_in_range", {"table": "orders", "column": "amt", "min": 1, "max": 2}),
        "targets.mean_in_range[0].column",
        "unknown column 'amt'",
        "did you mean 'amount'",
    ),
    case(
        "mean_target_on_a_bool_share_as_percent",
        chain(
            new_column(
                CUSTOMERS,
                {"name": "opt_in", "type": "bool", "generator": {"choice": {"choices": [True, False]}}},
            ),
            put("targets.mean_in_range", {"table": "customers", "column": "opt_in", "min": 20, "max": 30}),
        ),
        "targets.mean_in_range[0].max",
        "share of true values, 0 to 1",
        "20 % is 0.2",
    ),
    case(
        "mean_target_on_a_text_column",
        put("targets.mean_in_range", {"table": "customers", "column": "segment", "min": 0, "max": 1}),
        "targets.mean_in_range[0].column",
        "has type string; expected int or float or bool",
    ),
    case(
        "expression_calendar_field_of_a_number",
        put(f"{TAX}.generator.expression.code", "hour(amount)"),
        f"{TAX}.generator.expression.code",
        "hour() reads a datetime or date column; 'amount' is float",
    ),
    case(
        "mean_target_unknown_table",
        put("targets.mean_in_range", [{"table": "sales", "column": "amount", "min": 1, "max": 2}]),
        "targets.mean_in_range[0].table",
        "unknown table 'sales'",
    ),
    case(
        "composite_target_unknown_influence",
        put(
            "targets.composite_effect",
            {"table": "orders", "metric": "amount", "influences": ["dow", "promo"]},
        ),
        "targets.composite_effect[0].influences[1]",
        "unknown influence 'promo'",
        "dow",
    ),
    # --- values and sizes generation could not run (issue 10): refused at check time -----------------
    case(
        "table_id_with_a_trailing_newline",
        put(f"{ORDERS}.id", "orders\n"),
        f"{ORDERS}.id",
        "must match",
        count=None,  # the table's references no longer resolve either
    ),
    case(
        "column_name_with_a_trailing_newline",
        put(f"{TAX}.name", "tax\n"),
        f"{TAX}.name",
        "column name 'tax\\n' must match",
    ),
    case(
        "table_id_of_ten_thousand_characters",
        put(f"{ORDERS}.id", "o" * 10_000),
        f"{ORDERS}.id",
        "10000 characters long",
        "the limit is 64",
        count=None,
    ),
    case(
        "column_name_past_64_characters",
        put(f"{TAX}.name", "t" * 65),
        f"{TAX}.name",
        "65 characters long",
        "the limit is 64",
    ),
    case(
        "rows_past_the_per_table_limit",
        put(f"{CUSTOMERS}.rows", 10**11),
        f"{CUSTOMERS}.rows",
        "rows must be <= 10,000,000,000",
    ),
    case(
        "timeframe_from_year_1_to_9999",
        chain(put("timeframe.start", "0001-01-01T00:00:00Z"), put("timeframe.end", "9999-12-31T23:59:59Z")),
        "timeframe.start",
        "outside the supported date range 1678-01-01 .. 2261-12-31",
        count=2,  # start and end
    ),
    case(
        "series_window_past_the_date_range",
        put(
            f"{CUSTOMERS}.columns[4].generator.datetime_series.within",
            {"start": "2024-01-01", "end": "2300-01-01"},
        ),
        f"{CUSTOMERS}.columns[4].generator.datetime_series.within.end",
        "outside the supported date range",
    ),
    case("freq_zero", put("timeframe.freq", "0h"), "timeframe.freq", "does not step forward"),
    case("freq_negative", put("timeframe.freq", "-5min"), "timeframe.freq", "does not step forward"),
    case("freq_nanoseconds", put("timeframe.freq", "ns"), "timeframe.freq", "whole number of microseconds"),
    case(
        "freq_longer_than_a_century",
        put("timeframe.freq", "100000000000D"),
        "timeframe.freq",
        "longer than 100 years",
    ),
    case(
        "freq_too_large_to_parse",
        put(f"{ORDERS}.columns[2].generator.datetime_series.freq", "1000000000000000000000h"),
        f"{ORDERS}.columns[2].generator.datetime_series.freq",
        "is not a pandas alias",
    ),
    case(
        "regex_with_lookahead",
        put("constraints.pattern", [{"attr": "customers.name", "regex": "(?=[A-Z])\\w+"}]),
        "constraints.pattern[0].regex",
        "invalid perl operator",
        "RE2",
        "lookahead",
    ),
    case(
        "regex_with_a_back_reference",
        put(f"{CUSTOMERS}.columns[2].constraints", {"pattern": "(a)\\1"}),
        f"{CUSTOMERS}.columns[2].constraints.pattern",
        "invalid escape sequence",
        "back-references",
    ),
    case(
        "null_among_the_choices_of_a_non_nullable_column",
        put(f"{CUSTOMERS}.columns[1].generator.choice.choices", ["US", None, "CZ"]),
        f"{CUSTOMERS}.columns[1].generator.choice.choices[1]",
        "null, but 'country' is not nullable",
        '"nullable": true',
    ),
    case(
        "text_among_the_choices_of_an_int_column",
        new_column(CUSTOMERS, {"name": "n", "type": "int", "generator": {"choice": {"choices": [1, "x"]}}}),
        f"{CUSTOMERS}.columns[5].generator.choice.choices[1]",
        "text 'x' in an int column",
    ),
    case(
        "fraction_among_the_choices_of_an_int_column",
        new_column(CUSTOMERS, {"name": "n", "type": "int", "generator": {"choice": {"choices": [1, 2.5]}}}),
        f"{CUSTOMERS}.columns[5].generator.choice.choices[1]",
        "2.5 in an int column",
        "whole number",
    ),
    case(
        "number_among_the_choices_of_a_datetime_column",
        new_column(
            CUSTOMERS,
            {"name": "d", "type": "datetime", "generator": {"choice": {"choices": ["2024-01-01", 5]}}},
        ),
        f"{CUSTOMERS}.columns[5].generator.choice.choices[1]",
        "5 in a datetime column",
        "ISO-8601",
    ),
    case(
        "map_values_to_text_in_a_float_column",
        append(f"{AMOUNT}.modifiers", {"transform": "map_values", "args": {"mapping": {"1": "low"}}}),
        f"{AMOUNT}.modifiers[1].args.mapping.1",
        "text 'low' in a float column",
    ),
    case(
        "modulo_by_zero",
        put(f"{TAX}.generator.expression.code", "amount % 0"),
        f"{TAX}.generator.expression.code",
        "'%' by `0`, which is always 0",
    ),
    case(
        "text_expression_in_a_float_column",
        put(f"{TAX}.generator.expression.code", '"high" if amount > 3 else "low"'),
        f"{TAX}.generator.expression.code",
        "can give text",
        "'tax' is a float column",
    ),
    case(
        "number_joined_to_text",
        put(f"{TAX}.generator.expression.code", "'Order ' + order_id"),
        f"{TAX}.generator.expression.code",
        "'order_id' is an int column, and '+' joins text only with text",
        "str(order_id)",
    ),
    case(
        "joined_text_in_a_float_column",
        put(f"{TAX}.generator.expression.code", "'#' + str(order_id)"),
        f"{TAX}.generator.expression.code",
        "can give text",
        "'tax' is a float column",
    ),
    case(
        "constant_duration_past_the_date_range",
        new_column(
            ORDERS,
            {
                "name": "later",
                "type": "datetime",
                "generator": {"expression": {"code": "ordered_at + hours(1e300)"}},
            },
        ),
        f"{ORDERS}.columns[5].generator.expression.code",
        "hours(1e300) is longer than the supported date range",
    ),
    case(
        "fact_that_is_its_own_parent",
        put(f"{ORDERS}.parents", ["orders"]),
        f"{ORDERS}.parents[0]",
        "listed as its own parent",
        "lookup into the table's own key",
        count=None,  # customers loses its child, so its segment and the inequality are reported too
    ),
    case(
        "choices_ref_to_its_own_table",
        put(f"{CUSTOMERS}.columns[1].generator.choice", {"choices_ref": "customers.country"}),
        f"{CUSTOMERS}.columns[1].generator.choice.choices_ref",
        "reads the table being generated",
    ),
    case(
        "normal_std_near_the_float_limit",
        put(f"{AMOUNT}.generator.distribution", {"type": "normal", "params": {"mean": 0, "std": 1e308}}),
        f"{AMOUNT}.generator.distribution.params",
        "normal draws reach ±inf",
    ),
    case(
        "lognormal_sigma_1e5",
        put(f"{AMOUNT}.generator.distribution", {"type": "lognormal", "params": {"mean": 0, "sigma": 1e5}}),
        f"{AMOUNT}.generator.distribution.params",
        "lognormal draws reach inf",
        "log scale",
    ),
    case(
        "poisson_lambda_1e30",
        put(f"{AMOUNT}.generator.distribution", {"type": "poisson", "params": {"lambda": 1e30}}),
        f"{AMOUNT}.generator.distribution.params",
        "lambda must be <= 1e18",
    ),
    case(
        "uniform_over_the_whole_float_range",
        put(
            f"{AMOUNT}.generator.distribution", {"type": "uniform", "params": {"low": -1e308, "high": 1e308}}
        ),
        f"{AMOUNT}.generator.distribution.params",
        "within ±1e+300",
    ),
    case(
        "weibull_with_a_vanishing_shape",
        put(f"{AMOUNT}.generator.distribution", {"type": "weibull", "params": {"shape": 0.001, "scale": 1}}),
        f"{AMOUNT}.generator.distribution.params",
        "weibull draws reach inf",
    ),
    case(
        "lognormal_median_past_the_int_range",
        chain(
            put(f"{AMOUNT}.type", "int"),
            put(
                f"{AMOUNT}.generator.distribution", {"type": "lognormal", "params": {"mean": 50, "sigma": 1}}
            ),
        ),
        f"{AMOUNT}.generator.distribution",
        "the median of this lognormal distribution is 5.185e+21",
        "64-bit integer range",
    ),
    case(
        "add_pushes_an_int_column_past_64_bits",
        chain(
            put(f"{AMOUNT}.type", "int"),
            put(f"{AMOUNT}.modifiers", [{"transform": "add", "args": {"value": 1e30}}]),
        ),
        f"{AMOUNT}.modifiers[0]",
        "after this 'add' is 1e+30",
        "64-bit integer range",
    ),
    case(
        "sequence_that_runs_past_64_bits",
        put(f"{CUSTOMERS}.columns[0].generator.sequence.start", 2**63 - 5),
        f"{CUSTOMERS}.columns[0].generator.sequence",
        "reaches 9.223e+18 at row 1,000",
        "64-bit integer range",
    ),
    case(
        "sequence_start_past_64_bits",
        put(f"{CUSTOMERS}.columns[0].generator.sequence.start", 2**63),
        f"{CUSTOMERS}.columns[0].generator.sequence.start",
        "less than or equal to 9223372036854775807",
    ),
    case(
        "fanout_lambda_1e30",
        put(f"{ORDERS}.fanout.lambda", 1e30),
        f"{ORDERS}.fanout.lambda",
        "less than or equal to 10000000000",
    ),
    case(
        "negative_binomial_dispersion_1e_300",
        put(f"{ORDERS}.fanout", {"distribution": "negative_binomial", "lambda": 3, "dispersion": 1e-300}),
        f"{ORDERS}.fanout.dispersion",
        "greater than or equal to 0.0001",
    ),
    case(
        "weights_near_the_float_limit",
        put(f"{CUSTOMERS}.columns[1].generator.choice.weights", [1e300, 1e300, 1]),
        f"{CUSTOMERS}.columns[1].generator.choice",
        "weights are relative",
    ),
    case(
        "effect_table_is_the_table_itself",
        append(
            f"{AMOUNT}.modifiers",
            {
                **EFFECT,
                "args": {
                    **EFFECT["args"],
                    "effect_table": "orders",
                    "window": {"start_col": "ordered_at", "end_col": "ordered_at"},
                    "map": {"field": "tax"},
                },
            },
        ),
        f"{AMOUNT}.modifiers[1].args.effect_table",
        "is the table being generated",
    ),
    # --- behaviour blocks ----------------------------------------------------------------------------
    case(
        "segment_column_unknown",
        put(f"{CUSTOMERS}.segment_behavior.segment_column", "segmnt"),
        f"{CUSTOMERS}.segment_behavior.segment_column",
        "unknown column 'segmnt'",
        "did you mean 'segment'",
    ),
    case(
        "segment_applies_to_unknown_column",
        put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["orders.amout"]),
        f"{CUSTOMERS}.segment_behavior.applies_to_columns[0]",
        "unknown column 'amout'",
        "'amount'",
    ),
    case(
        "segment_scales_a_key",
        put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["orders.order_id"]),
        f"{CUSTOMERS}.segment_behavior.applies_to_columns[0]",
        "is a key",
        "never scaled",
    ),
    case(
        "segment_scales_a_foreign_key",
        put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["orders.customer_id"]),
        f"{CUSTOMERS}.segment_behavior.applies_to_columns[0]",
        "is a key",
        "never scaled",
    ),
    case(
        "segment_scales_a_non_child",
        chain(with_promos, put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["promos.lift"])),
        f"{CUSTOMERS}.segment_behavior.applies_to_columns[0]",
        "not in a table descended from 'customers'",
        "children: orders",
    ),
    case(
        "segment_scales_a_grandchild_through_a_further_parent",
        chain(
            with_promos,
            append("nodes", LINES_UNDER_PROMOS),
            put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["lines.qty"]),
        ),
        f"{CUSTOMERS}.segment_behavior.applies_to_columns[0]",
        "only through a further parent (lines → orders → customers)",
        "follows first parents (lines → promos)",
        "make 'orders' the first parent of 'lines'",
    ),
    case(
        "segment_scales_a_scoped_pick",
        chain(
            with_promos,
            new_column(
                ORDERS,
                {"name": "country", "type": "string", "generator": {"lookup": {"from": "customers.country"}}},
            ),
            new_column(
                ORDERS,
                {
                    "name": "lift",
                    "type": "float",
                    "generator": {
                        "lookup": {"from": "promos.lift", "on": {"country": "country"}, "pick": "random"}
                    },
                },
            ),
            put(f"{CUSTOMERS}.segment_behavior.applies_to_columns", ["orders.lift"]),
        ),
        f"{CUSTOMERS}.segment_behavior.applies_to_columns[0]",
        "picked from a random matching 'promos.lift' row",
        "scale a column computed from it",
    ),
    case(
        "segment_name_not_a_value",
        put(f"{CUSTOMERS}.segment_behavior.behaviors", {"vpi": {}}),
        f"{CUSTOMERS}.segment_behavior.behaviors.vpi",
        "'vpi' is not a value",
        "did you mean 'vip'",
        severity="warning",
    ),
    case(
        "vintage_created_at_unknown",
        put(
            f"{CUSTOMERS}.vintage_behavior",
            {"created_at_column": "created", "age_based_multipliers": {"d": {"curve": [1, 0.5]}}},
        ),
        f"{CUSTOMERS}.vintage_behavior.created_at_column",
        "unknown column 'created'",
    ),
    case(
        "vintage_negative_curve",
        put(
            f"{CUSTOMERS}.vintage_behavior",
            {"created_at_column": "signup_at", "age_based_multipliers": {"d": {"curve": [1, -0.5]}}},
        ),
        f"{CUSTOMERS}.vintage_behavior.age_based_multipliers.d.curve",
        "must be >= 0",
    ),
    case(
        "stage_config_on_entity",
        chain(
            put(
                f"{CUSTOMERS}.stage_config",
                {**STAGES, "columns": {"stage_name": "segment", "stage_index": None}},
            )
        ),
        f"{CUSTOMERS}.stage_config",
        "only allowed on facts",
        count=None,
    ),
    case(
        "stage_column_missing",
        put(f"{ORDERS}.stage_config", STAGES),
        f"{ORDERS}.stage_config.columns.stage_name",
        "no column 'stage_name'",
        'name the column in "columns"',
    ),
    case(
        "stage_names_repeat",
        put(
            f"{ORDERS}.stage_config",
            {
                "stages": [
                    {"stage_name": "a", "transition_rate": 1},
                    {"stage_name": "a", "transition_rate": 0.5},
                ],
                "columns": {"stage_name": "tax", "stage_index": None},
            },
        ),
        f"{ORDERS}.stage_config.stages",
        "stage names must be unique",
    ),
    case(
        "segment_variation_without_segments",
        chain(
            drop(f"{CUSTOMERS}.segment_behavior"),
            put(
                f"{ORDERS}.stage_config",
                {
                    **STAGES,
                    "segment_variation": {"vip": {"transition_multiplier": 2}},
                    "columns": {"stage_name": "tax", "stage_index": None},
                },
            ),
        ),
        f"{ORDERS}.stage_config.segment_variation",
        "needs the first parent",
        "segment_behavior",
    ),
    case(
        "initial_state_unknown",
        put(
            f"{ORDERS}.state_transition_model",
            {**STATES, "initial_state": "actve", "columns": {"state": "tax", "previous_state": None}},
        ),
        f"{ORDERS}.state_transition_model.initial_state",
        "unknown state 'actve'",
        "did you mean 'active'",
    ),
    case(
        "next_state_unknown",
        chain(
            put(
                f"{ORDERS}.state_transition_model",
                {**STATES, "columns": {"state": "tax", "previous_state": None}},
            ),
            put(f"{ORDERS}.state_transition_model.states.active.next_states", {"churn": 1.0}),
        ),
        f"{ORDERS}.state_transition_model.states.active.next_states.churn",
        "unknown state 'churn'",
        "did you mean 'churned'",
    ),
    case(
        "terminal_state_with_next_states",
        put(
            f"{ORDERS}.state_transition_model",
            {"initial_state": "a", "states": {"a": {"terminal": True, "next_states": {"a": 1}}}},
        ),
        f"{ORDERS}.state_transition_model.states.a",
        "terminal state has no next_states",
    ),
    # --- values that look real: decimals, price points (docs/schema-language.md §10.6) ----------------
    case(
        "decimals_on_an_int_column",
        put(f"{CUSTOMERS}.columns[0].decimals", 2),
        f"{CUSTOMERS}.columns[0]",
        "decimals rounds float columns",
        "'customer_id' is int",
    ),
    case(
        "decimals_negative", put(f"{AMOUNT}.decimals", -1), f"{AMOUNT}.decimals", "greater than or equal to 0"
    ),
    case(
        "price_point_with_cents_on_an_int_column",
        chain(
            new_column(ORDERS, {"name": "items", "type": "int", "generator": {"sequence": {}}}),
            put(
                f"{ORDERS}.columns[5].modifiers", [{"transform": "price_point", "args": {"endings": [0.99]}}]
            ),
        ),
        f"{ORDERS}.columns[5].modifiers[0].args",
        "int column",
        "rounded away",
    ),
    case(
        "price_point_finer_than_the_decimals",
        chain(
            put(f"{AMOUNT}.decimals", 1),
            append(f"{AMOUNT}.modifiers", {"transform": "price_point", "args": {"endings": [0.99]}}),
        ),
        f"{AMOUNT}.modifiers[1].args.endings",
        "2 decimal(s)",
        "rounded to 1",
    ),
    case(
        "price_point_ending_past_the_unit",
        append(f"{AMOUNT}.modifiers", {"transform": "price_point", "args": {"endings": [0.99, 1.5]}}),
        f"{AMOUNT}.modifiers[1].args",
        "up to (not including) the unit 1",
        "1.5",
    ),
    case(
        "seasonality_with_a_time_column_on_a_datetime",
        put(
            f"{ORDERS}.columns[2].modifiers",
            [
                {
                    "transform": "seasonality",
                    "args": {"dimension": "hour", "weights": [1] * 24, "time_column": "ordered_at"},
                }
            ],
        ),
        f"{ORDERS}.columns[2].modifiers[0].args.time_column",
        "reshapes when its times fall",
        "drop time_column",
    ),
    # --- hidden helper columns (docs/schema-language.md §10.4) ----------------------------------------
    case(
        "hidden_primary_key",
        put(f"{CUSTOMERS}.columns[0].output", False),
        f"{CUSTOMERS}.columns[0].output",
        "hidden helper",
        "primary key",
        count=None,  # the order's lookup into the hidden key is then not an implied foreign key either
    ),
    case(
        "constraint_on_a_hidden_column",
        chain(put(f"{TAX}.output", False), put("constraints.ranges", [{"attr": "orders.tax", "min": 0}])),
        "constraints.ranges[0].attr",
        "'orders.tax' is a hidden helper",
        "a constraint is checked on the data",
    ),
    case(
        "target_on_a_hidden_column",
        put(f"{ORDERS}.columns[2].output", False),
        "targets.weekend_share[0].timestamp",
        "'orders.ordered_at' is a hidden helper",
        "a target is measured on the data",
        count=None,  # the inequality on it is refused too
    ),
    case(
        "every_column_hidden",
        chain(*(put(f"{ORDERS}.columns[{i}].output", False) for i in range(5))),
        f"{ORDERS}.columns",
        "every column of 'orders' is hidden",
        count=None,
    ),
    case(
        "hidden_column_nothing_reads",
        put(f"{TAX}.output", False),
        f"{TAX}.output",
        "no other column reads it",
        severity="warning",
    ),
    case(
        "stages_and_states_on_one_fact",
        chain(
            put(f"{ORDERS}.stage_config", {**STAGES, "columns": {"stage_name": "tax", "stage_index": None}}),
            put(
                f"{ORDERS}.state_transition_model",
                {**STATES, "columns": {"state": "tax", "previous_state": None}},
            ),
        ),
        ORDERS,
        "stages or states, not both",
    ),
]
