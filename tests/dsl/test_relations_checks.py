"""The check step on rollups, running values, scoped lookups and attribution (docs/schema-language.md
§10.4, §8.5): each mistake gets one message at its path that says what to write instead; the credit
table is added once and a schema the check step wrote checks again."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from datagen.dsl import check
from datagen.dsl.finishing import deferred_columns, ordered_steps
from datagen.engine.generate import Options, generate_in_memory


def col(name: str, type_: str, generator: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "generator": generator, **extra}


def seq(name: str) -> dict[str, Any]:
    return col(name, "int", {"sequence": {}})


def base() -> dict[str, Any]:
    return {
        "version": "1.0",
        "metadata": {"name": "t"},
        "timeframe": {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
        "nodes": [
            {
                "id": "customers",
                "kind": "entity",
                "pk": "customer_id",
                "rows": 10,
                "columns": [
                    seq("customer_id"),
                    col("segment", "string", {"choice": {"choices": ["a", "b"]}}),
                    col(
                        "credit",
                        "float",
                        {"distribution": {"type": "uniform", "params": {"low": 0, "high": 1}}},
                    ),
                ],
            },
            {
                "id": "orders",
                "kind": "fact",
                "pk": "order_id",
                "parents": ["customers"],
                "fanout": {"distribution": "poisson", "lambda": 2},
                "columns": [
                    seq("order_id"),
                    col("customer_id", "int", {"lookup": {"from": "customers.customer_id"}}),
                    col("ordered_at", "datetime", {"datetime_series": {}}),
                    col(
                        "amount",
                        "float",
                        {"distribution": {"type": "uniform", "params": {"low": 1, "high": 9}}},
                    ),
                    col("status", "string", {"choice": {"choices": ["ok", "void"]}}),
                ],
            },
        ],
        "constraints": {},
    }


def with_column(table: int, column: dict[str, Any], doc: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(doc or base())
    doc["nodes"][table]["columns"].append(column)
    return doc


def issues(doc: dict[str, Any], severity: str = "error") -> list[str]:
    result = check(doc)
    return [f"{i.path}: {i.message}" for i in result.issues if i.severity == severity]


def rollup(name: str, type_: str, **args: Any) -> dict[str, Any]:
    extra = {k: args.pop(k) for k in ("nullable", "modifiers", "null_rate") if k in args}
    return col(name, type_, {"rollup": args}, **extra)


def test_a_valid_rollup_checks_and_is_deferred_with_what_reads_it() -> None:
    doc = with_column(
        0, rollup("spend", "float", **{"from": "orders.amount", "agg": "sum", "where": "status == 'ok'"})
    )
    doc["nodes"][0]["columns"].append(col("spend_x2", "float", {"expression": {"code": "spend * 2"}}))
    result = check(doc)
    assert result.ok and not result.warnings
    schema = result.raise_for_errors()
    assert deferred_columns(schema.nodes[0]) == ["spend", "spend_x2"]
    steps, cycle = ordered_steps(schema)
    assert not cycle
    assert steps.index(("generate", "orders")) < steps.index(("finish", "customers"))


@pytest.mark.parametrize(
    ("column", "table", "message"),
    [
        (
            rollup("x", "float", **{"from": "customers.credit", "agg": "sum"}),
            1,
            "nodes[1].columns[5].generator.rollup.from: 'customers' is not a child of 'orders'",
        ),
        (
            rollup("x", "float", **{"from": "orders.amount", "agg": "sum"}),
            1,
            "a rollup summarises the children of a row, not its own table; for a value that accumulates "
            'over the rows of \'orders\' use {"running": {"of": "amount", ...}}',
        ),
        (
            rollup("x", "int", **{"from": "orders.amount", "agg": "sum"}),
            0,
            "nodes[0].columns[3].type: 'customers.x' is int but the sum of 'orders.amount' is float; "
            "make it float",
        ),
        (
            rollup("x", "float", **{"from": "orders.status", "agg": "sum"}),
            0,
            "'orders.status' is string; a sum needs numbers",
        ),
        (
            rollup("x", "string", **{"from": "orders.status", "agg": "min"}),
            0,
            "min and max compare numbers or times",
        ),
        (
            rollup("x", "float", **{"from": "orders.amount", "agg": "min"}),
            0,
            "nodes[0].columns[3]: a 'customers' row without matching 'orders' rows has no min: give a "
            '"default" (e.g. "default": 0) or make \'x\' "nullable": true',
        ),
        (
            rollup("x", "float", **{"from": "orders.amount", "agg": "sum", "where": "stat == 'ok'"}),
            0,
            "generator.rollup.where: unknown column 'stat'",
        ),
        (
            rollup(
                "x",
                "float",
                **{
                    "from": "orders.amount",
                    "agg": "sum",
                    "modifiers": [{"transform": "multiply", "args": {"factor": 2}}],
                },
            ),
            0,
            "nodes[0].columns[3].modifiers: 'customers.x' is a rollup (sum of orders.amount), which "
            "holds exactly, "
            "so it takes no modifiers",
        ),
        (
            rollup("x", "float", **{"from": "orders.amount", "agg": "sum", "default": "none"}),
            0,
            "default 'none' is not a float value for 'customers.x'",
        ),
        (
            col("x", "float", {"running": {"of": "credit", "order_by": "customer_id"}}),
            0,
            "a running value accumulates over the rows of one parent, and 'customers' has no parents",
        ),
        (
            col("x", "float", {"running": {"of": "status", "order_by": "ordered_at"}}),
            1,
            "'orders.status' is string; a running sum needs numbers",
        ),
        (
            col("x", "float", {"running": {"of": "amount", "order_by": "status"}}),
            1,
            "'orders.status' is string; order by a time or a number",
        ),
    ],
)
def test_each_mistake_says_what_to_write_instead(column: dict[str, Any], table: int, message: str) -> None:
    found = issues(with_column(table, column))
    assert any(message in line for line in found), found


def test_a_rollup_nothing_can_miss_needs_no_default() -> None:
    doc = with_column(0, rollup("x", "float", **{"from": "orders.amount", "agg": "max"}))
    assert issues(doc)
    doc["nodes"][1]["fanout"]["min"] = 1
    assert not issues(doc)


def test_a_segment_cannot_scale_a_rollup() -> None:
    doc = with_column(
        1, col("n", "int", {"running": {"of": "order_id", "agg": "count", "order_by": "ordered_at"}})
    )
    doc["nodes"][0]["segment_behavior"] = {
        "segment_column": "segment",
        "behaviors": {"a": {"value_multiplier": 2}},
        "applies_to_columns": ["orders.n"],
    }
    assert any(
        "computed exactly from other rows; scale the column it is computed from" in m for m in issues(doc)
    )


def test_a_running_value_over_a_deferred_column_is_refused() -> None:
    doc = base()
    doc["nodes"].append(
        {
            "id": "lines",
            "kind": "fact",
            "pk": "line_id",
            "parents": ["orders"],
            "columns": [
                seq("line_id"),
                col("order_id", "int", {"lookup": {"from": "orders.order_id"}}),
                col("v", "float", {"distribution": {"type": "uniform", "params": {"low": 0, "high": 1}}}),
            ],
        }
    )
    doc["nodes"][1]["columns"] += [
        rollup("total", "float", **{"from": "lines.v", "agg": "sum"}),
        col("to_date", "float", {"running": {"of": "total", "order_by": "ordered_at"}}),
    ]
    assert any("'orders.total' is computed when 'orders' is finished" in m for m in issues(doc))


def test_ties_need_a_key() -> None:
    doc = with_column(
        0, rollup("last_status", "string", nullable=True, **{"from": "orders.status", "agg": "last"})
    )
    doc["nodes"][1]["columns"].append(
        col("n", "int", {"running": {"of": "amount", "agg": "count", "order_by": "ordered_at"}})
    )
    assert not issues(doc)
    del doc["nodes"][1]["pk"]
    found = issues(doc)
    assert any(
        "'last' breaks ties in the order by the child's key, and 'orders' has none" in m for m in found
    ), found
    assert any(
        "rows with the same ordered_at follow each other by key, and 'orders' has none" in m for m in found
    )


def test_running_start_must_be_a_column_of_the_first_parent() -> None:
    good = with_column(
        1,
        col(
            "b", "float", {"running": {"of": "amount", "order_by": "ordered_at", "start": "customers.credit"}}
        ),
    )
    assert not issues(good)
    bad = with_column(
        1,
        col("b", "float", {"running": {"of": "amount", "order_by": "ordered_at", "start": "orders.amount"}}),
    )
    assert any("'orders' is not the first parent of 'orders'" in m for m in issues(bad))


def test_a_child_generated_from_its_parents_rollup_is_a_cycle() -> None:
    doc = with_column(0, rollup("n", "int", **{"from": "orders.order_id", "agg": "count"}))
    doc["nodes"][0]["segment_behavior"] = {
        "segment_column": "tier",
        "behaviors": {"big": {"fanout_multiplier": 2}},
    }
    doc["nodes"][0]["columns"].append(
        col("tier", "string", {"expression": {"code": "'big' if n > 2 else 'small'"}})
    )
    found = issues(doc)
    assert any(
        "the tables cannot be generated in any order" in m and "finishing customers" in m for m in found
    ), found


def test_an_inequality_bounded_by_a_rollup_is_refused_with_the_reason() -> None:
    """A rollup is computed when its table is finished, after the rows it would bound are drawn: the
    check step refuses the inequality (every inequality is made true or refused) and says why."""
    doc = with_column(
        0, rollup("first_at", "datetime", nullable=True, **{"from": "orders.ordered_at", "agg": "min"})
    )
    doc["constraints"] = {
        "inequalities": [{"left": "orders.ordered_at", "op": ">=", "right": "customers.first_at"}]
    }
    found = issues(doc)
    assert any(
        "customers.first_at is computed when 'customers' is finished" in m and "compare them in a query" in m
        for m in found
    ), found


# --- scoped lookups -------------------------------------------------------------------------------------


def fleet(fanout: dict[str, Any], nullable: bool = False) -> dict[str, Any]:
    return {
        **base(),
        "nodes": [
            {"id": "cities", "kind": "entity", "pk": "city_id", "rows": 5, "columns": [seq("city_id")]},
            {
                "id": "scooters",
                "kind": "fact",
                "pk": "scooter_id",
                "parents": ["cities"],
                "fanout": fanout,
                "columns": [seq("scooter_id"), col("city_id", "int", {"lookup": {"from": "cities.city_id"}})],
            },
            {
                "id": "riders",
                "kind": "entity",
                "pk": "rider_id",
                "rows": 5,
                "columns": [
                    seq("rider_id"),
                    col("home", "int", {"choice": {"choices_ref": "cities.city_id"}}),
                ],
            },
            {
                "id": "trips",
                "kind": "fact",
                "pk": "trip_id",
                "parents": ["riders"],
                "columns": [
                    seq("trip_id"),
                    col("rider_id", "int", {"lookup": {"from": "riders.rider_id"}}),
                    col("city_id", "int", {"lookup": {"from": "riders.home"}}),
                    col(
                        "scooter_id",
                        "int",
                        {
                            "lookup": {
                                "from": "scooters.scooter_id",
                                "on": {"city_id": "city_id"},
                                "pick": "random",
                            }
                        },
                        nullable=nullable,
                    ),
                ],
            },
        ],
    }


def test_a_scoped_pick_every_key_can_make_is_quiet_and_implies_a_foreign_key() -> None:
    result = check(fleet({"distribution": "poisson", "lambda": 3, "min": 1}))
    assert result.ok and not result.warnings, [str(i) for i in result.issues]
    fks = {(fk.from_, fk.to) for fk in result.raise_for_errors().constraints.foreign_keys}
    assert ("trips.scooter_id", "scooters.scooter_id") in fks


def test_a_scoped_pick_that_can_find_nothing_warns_or_notes() -> None:
    warned = issues(fleet({"distribution": "poisson", "lambda": 3}), "warning")
    assert warned == [
        "nodes[3].columns[3].generator.lookup: a row of 'trips' with no 'scooters' row where trips.city_id = "
        "scooters.city_id has nothing to pick, which stops the run; make sure every key has one (e.g. give "
        "'scooters' a fanout with \"min\": 1 under the table the key belongs to) or make 'scooter_id' "
        '"nullable": true'
    ]
    noted = issues(fleet({"distribution": "poisson", "lambda": 3}, nullable=True), "note")
    assert any("gets a null 'scooter_id'" in m for m in noted)
    assert not issues(fleet({"distribution": "poisson", "lambda": 3}, nullable=True), "warning")


def test_pick_random_without_on_is_a_random_row_and_another_one_of_the_parents_table() -> None:
    """Without `on`, "random" says what a lookup into another table does anyway (a random row of it):
    accepted, and generated as such; from the primary parent's table, a row other than the row's own
    parent, which the checker notes (with how to read the parent's own value instead)."""
    doc = fleet({"distribution": "poisson", "lambda": 3, "min": 1})
    doc["nodes"][3]["columns"][3]["generator"]["lookup"].pop("on")
    assert not issues(doc)
    schema = check(doc).raise_for_errors()
    tables = generate_in_memory(schema, Options(seed=1))
    scooters = set(tables["scooters"].column("scooter_id").to_pylist())
    picked = tables["trips"].column("scooter_id").to_pylist()
    assert picked and set(picked) <= scooters and len(set(picked)) > 1
    doc["nodes"][3]["columns"][1]["generator"]["lookup"]["pick"] = "random"  # trips.rider_id: another
    assert not issues(doc)
    (note,) = [n.message for n in check(doc).notes if n.code == "another_parent_row"]
    assert "a random 'riders' row other than the one each 'trips' row is born from" in note


def test_pick_random_does_not_need_a_unique_source() -> None:
    doc = fleet({"distribution": "poisson", "lambda": 3, "min": 1})
    doc["nodes"][3]["columns"][3]["generator"]["lookup"]["pick"] = "unique"
    assert any('or pick a random matching row with "pick": "random"' in m for m in issues(doc))


# --- attribution ----------------------------------------------------------------------------------------


def journeys() -> dict[str, Any]:
    doc = base()
    doc["nodes"][1]["columns"][3] = col("channel", "string", {"choice": {"choices": ["search", "email"]}})
    doc["nodes"].append(
        {
            "id": "conversions",
            "kind": "fact",
            "pk": "conversion_id",
            "parents": ["customers"],
            "attribution": {
                "touches": "orders",
                "channel_column": "channel",
                "time_column": "ordered_at",
                "lookback": {"days": 7, "hours": 12},
                "base_rate": 0.1,
                "channel_lift": {"search": 2},
                "credit_table": "credit",
            },
            "columns": [
                seq("conversion_id"),
                col("customer_id", "int", {"lookup": {"from": "customers.customer_id"}}),
                col("converted_at", "datetime", {"datetime_series": {}}),
            ],
        }
    )
    return doc


def test_the_credit_table_is_added_once_and_the_result_checks_again() -> None:
    result = check(journeys())
    assert result.ok and not result.warnings
    schema = result.raise_for_errors()
    credit = schema.node("credit")
    assert credit is not None and credit.parents == ["conversions", "orders"]
    assert credit.column_names == [
        "conversion_id",
        "touch_id",
        "position",
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
    ]
    assert any("added table 'credit'" in i.message for i in result.notes)
    again = check(schema.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert again.ok and not again.warnings
    assert [n.id for n in again.raise_for_errors().nodes] == [n.id for n in schema.nodes]
    assert (
        schema.nodes[2].attribution is not None and schema.nodes[2].attribution.lookback.us == 7.5 * 86_400e6
    )


def test_a_declared_credit_table_of_another_shape_is_refused() -> None:
    doc = journeys()
    doc["nodes"].append({"id": "credit", "kind": "entity", "rows": 3, "columns": [seq("x")]})
    assert any("table 'credit' is written by this attribution block" in m for m in issues(doc))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["nodes"][2].update(fanout={"distribution": "poisson", "lambda": 1}), "drop fanout"),
        (
            lambda d: d["nodes"][2]["attribution"].update(touches="customers"),
            "so 'customers' needs the same first parent as 'conversions'",
        ),
        (
            lambda d: d["nodes"][2]["attribution"].update(time_column="status"),
            "has type string; expected datetime",
        ),
        (lambda d: d["nodes"][2]["attribution"].update(base_rate=1.5), "base_rate"),
        (lambda d: d["nodes"][2]["attribution"].update(lookback={}), "a length of time must be > 0"),
    ],
)
def test_attribution_mistakes(change: Any, message: str) -> None:
    doc = journeys()
    change(doc)
    found = [str(i) for i in check(doc).errors]
    assert any(message in m for m in found), found


def test_an_unknown_channel_warns() -> None:
    doc = journeys()
    doc["nodes"][2]["attribution"]["channel_lift"] = {"serch": 2}
    assert any(
        "'serch' is not a value of 'orders.channel' (did you mean 'search'?)" in m
        for m in issues(doc, "warning")
    )


# --- what the validator recomputes may read hidden helpers ----------------------------------------------


def test_a_derived_column_may_read_a_hidden_helper() -> None:
    """The offline evaluation's miss: a running value starting from a hidden column, or summing one,
    was refused; datagen validate now regenerates the helpers it reads (validate/hidden.py)."""
    doc = with_column(
        0, col("opening", "float", {"distribution": {"type": "uniform", "params": {"low": 0, "high": 9}}})
    )
    doc["nodes"][0]["columns"][-1]["output"] = False
    doc["nodes"][1]["columns"].append(
        col(
            "balance",
            "float",
            {"running": {"of": "amount", "order_by": "ordered_at", "start": "customers.opening"}},
        )
    )
    doc["nodes"][1]["columns"][3]["output"] = False  # orders.amount, what the running sum adds up
    assert not issues(doc)


def test_state_at_on_a_fact_that_owns_the_walk_reads_as_its_latest_state() -> None:
    """The offline evaluation's miss: a loan's status read with state_at on the loans fact itself. At
    the end it means the latest state, so the check step reads it as the rollup of the walk's last state
    and says so in a note; at a time of the row's own it refuses it, naming that rollup."""
    doc = base()
    doc["nodes"].append(
        {
            "id": "order_states",
            "kind": "fact",
            "pk": "event_id",
            "parents": ["orders"],
            "state_transition_model": {
                "initial_state": "placed",
                "period_unit": "day",
                "states": {
                    "placed": {"transition_prob_per_period": 0.5, "next_states": {"shipped": 1.0}},
                    "shipped": {"terminal": True},
                },
            },
            "columns": [
                seq("event_id"),
                col("order_id", "int", {"lookup": {"from": "orders.order_id"}}),
                col("state", "string", {"choice": {"choices": ["placed"]}}),
                col("changed_at", "datetime", {"datetime_series": {}}),
            ],
        }
    )
    doc["nodes"][1]["columns"].append(col("latest", "string", {"state_at": {"walk": "order_states"}}))
    rollup = '{"rollup": {"from": "order_states.state", "agg": "last"}}'
    assert not issues(doc), issues(doc)
    assert any(
        "state_at on 'orders', the fact that owns the walk 'order_states'" in m and rollup in m
        for m in issues(doc, "note")
    ), issues(doc, "note")
    doc["nodes"][1]["columns"][-1]["generator"]["state_at"]["at"] = "ordered_at"
    assert any("state_at on 'orders' itself" in m and rollup in m for m in issues(doc)), issues(doc)
