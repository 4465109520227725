"""What each behaviour costs: rows/s of one fact table, plain and with one behaviour switched on.

    python benchmarks/bench_behaviours.py               # ~2M fact rows per variant
    python benchmarks/bench_behaviours.py --rows 500000 # quicker

Every variant is the same schema (customers and stores, an orders fact of about `--rows` rows under
them) plus one behaviour; funnels and state models are their own facts under the same customers, so
their rows/s are per row they produce. A behaviour that changes how many orders a customer has (an age
curve, a lifetime, a rate by state) gets its `lambda` scaled so the orders keep about the baseline's
row count (measured on a small sample first), so every row compares the same work. Generation only (an
in-process engine whose sink drops the chunks): the cost of the behaviour, not of Parquet. Each variant
runs by turns with the baseline, `--repeat` times each after a warm-up, and is compared with the best
of the baseline's runs beside it. `orders` is timed alone; a state walk that a lifetime or `active_in`
reads is its own fact, whose rows are what the state model variant measures (its walk is run for the
customers' rows too, which the `+ other tables` column shows)."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datagen.dsl import Schema, check
from datagen.engine.generate import Engine, Options, generate_in_memory

LAMBDA = 20


def col(name: str, type_: str, generator: dict, **extra: Any) -> dict:
    return {"name": name, "type": type_, "generator": generator, **extra}


def seq(name: str) -> dict:
    return col(name, "int", {"sequence": {}})


def fk(name: str, source: str) -> dict:
    return col(name, "int", {"lookup": {"from": source}})


def choice(name: str, choices: list, weights: list | None = None, **extra: Any) -> dict:
    return col(
        name, "string", {"choice": {"choices": choices, **({"weights": weights} if weights else {})}}, **extra
    )


def times(name: str, within: Any = "timeframe", freq: str = "min") -> dict:
    return col(name, "datetime", {"datetime_series": {"within": within, "freq": freq}})


SIGNUPS = {"start": "2023-01-01T00:00:00Z", "end": "2024-10-01T00:00:00Z"}
AMOUNT = {"type": "lognormal", "params": {"mean": 3.5, "sigma": 0.6}, "clamp": [1, 5000]}
BASE: dict[str, Any] = {
    "version": "1.0",
    "metadata": {"name": "bench_behaviours"},
    "timeframe": {"start": "2023-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "freq": "min"},
    "nodes": [
        {
            "id": "customers",
            "kind": "entity",
            "pk": "customer_id",
            "rows": 100_000,
            "columns": [
                seq("customer_id"),
                choice("tier", ["vip", "regular", "budget"], [0.1, 0.6, 0.3]),
                times("signed_up_at", SIGNUPS, "h"),
            ],
        },
        {
            "id": "stores",
            "kind": "entity",
            "pk": "store_id",
            "rows": 500,
            "columns": [seq("store_id"), choice("store_format", ["flagship", "standard", "outlet"])],
        },
        {
            "id": "orders",
            "kind": "fact",
            "pk": "order_id",
            "parents": ["customers", "stores"],
            "fanout": {"distribution": "poisson", "lambda": LAMBDA},
            "columns": [
                seq("order_id"),
                fk("customer_id", "customers.customer_id"),
                fk("store_id", "stores.store_id"),
                times("ordered_at"),
                col("amount", "float", {"distribution": AMOUNT}),
            ],
        },
    ],
    "constraints": {},
}


def node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def trend(doc: dict) -> str:
    args = {"type": "exponential", "growth_rate": 0.2, "time_reference": "ordered_at"}
    node(doc, "orders")["columns"][4]["modifiers"] = [{"transform": "trend", "args": args}]
    return "orders"


def segments(doc: dict) -> str:
    node(doc, "customers")["segment_behavior"] = {
        "segment_column": "tier",
        "behaviors": {
            "vip": {"fanout_multiplier": 3.0, "value_multiplier": 2.5},
            "budget": {"fanout_multiplier": 0.6, "value_multiplier": 0.6},
        },
        "applies_to_columns": ["orders.amount"],
    }
    node(doc, "orders")["fanout"]["lambda"] = LAMBDA / 1.08  # the mix averages 1.08x: same rows as the base
    return "orders"


def second_parent_segments(doc: dict) -> str:
    node(doc, "stores")["segment_behavior"] = {
        "segment_column": "store_format",
        "behaviors": {"flagship": {"fanout_multiplier": 2.0, "value_multiplier": 1.2}},
        "applies_to_columns": ["orders.amount"],
    }
    return "orders"


def _vintage(doc: dict, name: str, multiplier: dict) -> None:
    node(doc, "customers")["vintage_behavior"] = {
        "created_at_column": "signed_up_at",
        "age_based_multipliers": {name: multiplier},
    }


def vintage_activity(doc: dict) -> str:
    _vintage(doc, "decay", {"curve": [1.0, 0.6, 0.45, 0.38, 0.34, 0.3], "time_unit": "month"})
    return "orders"


def vintage_value(doc: dict) -> str:
    curve = {"curve_type": "logarithmic", "params": {"a": 1.0, "b": 0.2}}
    _vintage(doc, "depth", {"curve": curve, "time_unit": "week", "applies_to": ["orders.amount"]})
    return "orders"


def _walk_fact(doc: dict, table: str, columns: list[dict], **block: Any) -> None:
    segments(doc)
    doc["nodes"].append(
        {
            "id": table,
            "kind": "fact",
            "pk": "id",
            "parents": ["customers"],
            "columns": [seq("id"), fk("customer_id", "customers.customer_id"), *columns, times("at")],
            **block,
        }
    )


def lifetime_share(doc: dict) -> str:
    after = {"distribution": {"type": "weibull", "params": {"shape": 0.9, "scale": 200}}, "unit": "day"}
    node(doc, "customers")["columns"].append(
        col("left_at", "datetime", {"datetime_series": {}}, nullable=True)
    )
    node(doc, "customers")["lifetime"] = {
        "start": "signed_up_at",
        "end": {"column": "left_at", "share": 0.4, "after": after},
    }
    return "orders"


def _lifecycle(doc: dict) -> None:
    """A subscription walk per customer: active, paused, churned (weekly)."""
    model = {
        "initial_state": "active",
        "period_unit": "week",
        "states": {
            "active": {"transition_prob_per_period": 0.03, "next_states": {"paused": 0.6, "churned": 0.4}},
            "paused": {
                "duration": {"distribution": "lognormal", "mean": 3.0, "sigma": 0.5},
                "next_states": {"active": 0.7, "churned": 0.3},
            },
            "churned": {"terminal": True},
        },
    }
    placeholders = [choice("state", ["x"]), choice("previous_state", ["x"], nullable=True)]
    doc["nodes"].append(
        {
            "id": "lifecycle",
            "kind": "fact",
            "pk": "id",
            "parents": ["customers"],
            "columns": [seq("id"), fk("customer_id", "customers.customer_id"), *placeholders, times("at")],
            "state_transition_model": model,
        }
    )


def lifetime_walk(doc: dict) -> str:
    _lifecycle(doc)
    node(doc, "customers")["columns"].append(
        col("churned_at", "datetime", {"datetime_series": {}}, nullable=True)
    )
    node(doc, "customers")["lifetime"] = {
        "start": "signed_up_at",
        "end": {"column": "churned_at", "walk": "lifecycle"},
    }
    return "orders"


def activity(doc: dict) -> str:
    node(doc, "customers")["activity"] = {
        "distribution": {"type": "gamma", "params": {"shape": 1.5, "scale": 1.0}}
    }
    return "orders"


def active_in(doc: dict) -> str:
    _lifecycle(doc)
    node(doc, "orders")["active_in"] = {"walk": "lifecycle", "states": {"active": 1.0, "paused": 0.2}}
    return "orders"


def state_at(doc: dict) -> str:
    _lifecycle(doc)
    node(doc, "orders")["columns"].append(
        col("state_then", "string", {"state_at": {"walk": "lifecycle", "at": "ordered_at"}})
    )
    return "orders"


def diffusion(doc: dict) -> str:
    series = node(doc, "orders")["columns"][3]["generator"]["datetime_series"]
    series["curve"] = {"type": "bass", "p": 0.05, "q": 0.6, "time_unit": "year"}
    return "orders"


def funnel(doc: dict) -> str:
    stages = [{"stage_name": f"s{i}", "transition_rate": r} for i, r in enumerate([1, 0.9, 0.8, 0.7, 0.6])]
    config = {
        "stages": stages,
        "segment_variation": {"vip": {"transition_multiplier": 1.1}},
        "gap": {"distribution": "lognormal", "mean_hours": 30, "sigma": 1.0},
    }
    placeholders = [choice("stage_name", ["x"]), col("stage_index", "int", {"choice": {"choices": [0]}})]
    _walk_fact(doc, "funnel", placeholders, stage_config=config)
    return "funnel"


def states(doc: dict) -> str:
    model = {
        "initial_state": "active",
        "period_unit": "week",
        "states": {
            "active": {"transition_prob_per_period": 0.1, "next_states": {"paused": 0.8, "churned": 0.2}},
            "paused": {
                "duration": {"distribution": "lognormal", "mean": 2.0, "sigma": 0.5},
                "next_states": {"active": 0.9, "churned": 0.1},
            },
            "churned": {"terminal": True},
        },
        "segment_variation": {"vip": {"churn_multiplier": 0.5}},
    }
    placeholders = [choice("state", ["x"]), choice("previous_state", ["x"], nullable=True)]
    _walk_fact(doc, "lifecycle", placeholders, state_transition_model=model)
    return "lifecycle"


VARIANTS: dict[str, Callable[[dict], str] | None] = {
    "baseline (no behaviour)": None,
    "trend (exponential)": trend,
    "segments: fanout + value": segments,
    "segments on the 2nd parent": second_parent_segments,
    "vintage: activity curve": vintage_activity,
    "vintage: value curve": vintage_value,
    "lifetime: share ends": lifetime_share,
    "lifetime: walk ends": lifetime_walk,
    "activity (gamma)": activity,
    "active_in (rate by state)": active_in,
    "state_at (column)": state_at,
    "diffusion curve (Bass)": diffusion,
    "funnel (5 stages, own fact)": funnel,
    "state model (own fact)": states,
}


def same_rows(doc: dict, table: str, rows: int) -> None:
    """Scale the table's `lambda` so it keeps about `rows` rows: the rows per customer are measured on
    a sample of 2,000 customers (a behaviour may thin or stretch them)."""
    fanout = node(doc, table).get("fanout")
    if fanout is None:
        return  # a walk: its rows are what the walk makes
    sample = copy.deepcopy(doc)
    node(sample, "customers")["rows"] = 2_000
    got = generate_in_memory(check(sample).raise_for_errors())[table].num_rows / 2_000
    fanout["lambda"] *= rows / node(doc, "customers")["rows"] / max(got, 1e-9)


@dataclass
class Timing:
    """The best of a variant's runs: rows of its table, their seconds, and every other table's seconds."""

    rows: int = 0
    seconds: float = float("inf")
    others: float = 0.0

    @property
    def cost(self) -> float:
        return self.seconds / self.rows * 1e6  # µs per row


def run_once(schema: Schema, table: str, best: Timing) -> None:
    stats = Engine(schema, Options(seed=1)).run(lambda tid, chunk: None)
    st = next(s for s in stats if s.id == table)
    if st.seconds < best.seconds:
        best.rows, best.seconds = st.rows, st.seconds
        best.others = sum(s.seconds for s in stats if s.id != table)


def paired(base: Schema, doc: dict, table: str, repeat: int) -> tuple[Timing, Timing]:
    """The baseline and the variant, run by turns (load from elsewhere on the machine drifts, so each
    variant is compared with the baseline measured beside it)."""
    schema = check(copy.deepcopy(doc)).raise_for_errors()
    plain, variant = Timing(), Timing()
    for _ in range(repeat):
        run_once(base, "orders", plain)
        run_once(schema, table, variant)
    return plain, variant


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000, help="orders rows in the baseline (about)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = copy.deepcopy(BASE)
    node(base, "customers")["rows"] = max(1, args.rows // LAMBDA)
    base_schema = check(copy.deepcopy(base)).raise_for_errors()
    run_once(base_schema, "orders", Timing())  # warm-up: grids, faker-free pools, imports
    print(
        f"{'variant':<30}{'table':<11}{'rows':>12}{'seconds':>9}{'rows/s':>13}{'µs/row':>9}{'vs base':>9}"
        f"{'+ other tables':>16}"
    )
    for name, add in VARIANTS.items():
        doc = copy.deepcopy(base)
        table = add(doc) if add else "orders"
        if add is not None and table == "orders":
            same_rows(doc, table, args.rows)
        plain, t = paired(base_schema, doc, table, args.repeat)
        print(
            f"{name:<30}{table:<11}{t.rows:>12,}{t.seconds:>9.2f}{t.rows / t.seconds:>13,.0f}{t.cost:>9.3f}"
            f"{t.cost / plain.cost:>8.2f}x{t.others - plain.others:>+14.2f} s"
        )


if __name__ == "__main__":
    main()
