"""Bounds from related rows (docs/schema-language.md §6, §10.4), as the engine builds them: a time drawn
inside a further parent's, a looked-up row's or a grandparent's bound, inside its own related row's
window, after its parent along a chain and inside every ancestor's window; numbers drawn inside their
bound (the distribution truncated, nothing piled on the bound) or capped; and all of it the same for
every chunk size."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from datagen.engine.generate import Options, generate_in_memory
from tests.engine.conftest import (
    assert_near,
    checked,
    col,
    dist,
    entity,
    expr,
    fact,
    generate,
    lookup,
    schema,
    times,
    values,
)

POISSON = {"distribution": "poisson", "lambda": 3}


def related(tables: dict[str, pa.Table], child: str, key: str, parent: str, column: str) -> np.ndarray:
    """`parent.column` of each child row's parent, joined on the child's key column (keys are 1..n)."""
    return values(tables[parent], column)[values(tables[child], key) - 1]


def test_a_further_parents_and_a_looked_up_rows_bounds_hold_in_every_row() -> None:
    """The issue's case — trips after their rider's sign-up, the rider a second parent — and a trip
    after its scooter (looked up, not a parent) was commissioned."""
    riders = entity("riders", [times("signup")], rows=300)
    scooters = entity("scooters", [times("commissioned")], rows=50)
    cities = entity("cities", [], rows=5)
    trips = fact(
        "trips", ["cities", "riders"], [lookup("scooter", "scooters.id"), times("started")], fanout=POISSON
    )
    doc = schema(
        riders,
        scooters,
        cities,
        trips,
        constraints={
            "inequalities": [
                {"left": "trips.started", "op": ">=", "right": "riders.signup"},
                {"left": "trips.started", "op": ">", "right": "scooters.commissioned"},
            ]
        },
    )
    t = generate(doc, block_rows=256)
    started = values(t["trips"], "started")
    assert (started >= related(t, "trips", "riders_id", "riders", "signup")).all()
    assert (started > related(t, "trips", "scooter", "scooters", "commissioned")).all()


def test_a_grandparents_bound_is_reached_through_the_parent() -> None:
    listings = entity("l", [times("listed"), dist("asking", "uniform", low=100, high=200)], rows=200)
    viewings = fact("v", ["l"], [times("seen")], fanout=POISSON)
    offers = fact("o", ["v"], [times("made"), dist("amount", "normal", mean=180, std=40)], fanout=POISSON)
    doc = schema(
        listings,
        viewings,
        offers,
        constraints={"inequalities": [{"left": "o.amount", "op": "<=", "right": "l.asking"}]},
    )
    t = generate(doc, block_rows=128)
    listing_of_offer = values(t["v"], "l_id")[values(t["o"], "v_id") - 1]
    asking = values(t["l"], "asking")[listing_of_offer - 1]
    assert (values(t["o"], "amount") <= asking).all()


def test_a_time_inside_its_related_rows_window_fills_it() -> None:
    """Claims inside their own policy's [start, end): none outside, none on the end, and spread over the
    window (a uniform density: the mean position is the middle)."""
    policies = entity("p", [times("start"), expr("end", "start + days(30)", type_="datetime")], rows=2000)
    claims = fact("c", ["p"], [times("at", within={"start": "p.start", "end": "p.end"})], fanout=POISSON)
    t = generate(schema(policies, claims))
    at = values(t["c"], "at").astype(np.int64)
    start = related(t, "c", "p_id", "p", "start").astype(np.int64)
    end = related(t, "c", "p_id", "p", "end").astype(np.int64)
    tf_end = np.datetime64("2025-01-01", "us").astype(np.int64)
    assert (at >= start).all() and (at < np.minimum(end, tf_end)).all()
    position = (at - start) / (np.minimum(end, tf_end) - start)
    assert_near(position.mean(), 0.5, math.sqrt(1 / 12 / len(position)))


def test_a_chain_follows_its_parent_and_stays_inside_its_ancestors_window() -> None:
    """Payments follow their claim (a chain) and inherit the policy's end from the claim's window."""
    policies = entity("p", [times("start"), expr("end", "start + days(20)", type_="datetime")], rows=500)
    claims = fact("c", ["p"], [times("at", within={"start": "p.start", "end": "p.end"})], fanout=POISSON)
    payments = fact("pay", ["c"], [times("paid")], fanout={"count": 2})
    t = generate(schema(policies, claims, payments), block_rows=256)
    paid = values(t["pay"], "paid")
    claim_at = related(t, "pay", "c_id", "c", "at")
    policy_of = values(t["c"], "p_id")[values(t["pay"], "c_id") - 1]
    policy_end = values(t["p"], "end")[policy_of - 1]
    assert (paid >= claim_at).all() and (paid < policy_end).all()
    assert t["pay"].num_rows == 2 * t["c"].num_rows


def test_a_number_drawn_inside_its_bound_keeps_its_distribution_and_piles_nothing() -> None:
    """amount ~ normal(100, 20) <= limit: where the bound bites, the values are the truncated
    distribution (none equal to the bound); where it does not, the distribution is untouched."""
    parents = entity("p", [col("limit", "float", {"choice": {"choices": [90.0, 1e6]}})], rows=4000)
    child = fact("c", ["p"], [dist("amount", "normal", mean=100, std=20)], fanout=POISSON)
    doc = schema(
        parents, child, constraints={"inequalities": [{"left": "c.amount", "op": "<=", "right": "p.limit"}]}
    )
    t = generate(doc)
    amount, limit = values(t["c"], "amount"), related(t, "c", "p_id", "p", "limit")
    assert (amount <= limit).all()
    tight, loose = amount[limit == 90.0], amount[limit == 1e6]
    assert (tight == 90.0).mean() == 0.0
    assert_near(loose.mean(), 100, 20 / math.sqrt(len(loose)))
    # normal(100, 20) truncated above at 90: mean 100 - 20·φ(z)/Φ(z), z = -0.5
    z = -0.5
    phi, cdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert_near(tight.mean(), 100 - 20 * phi / cdf, 20 / math.sqrt(len(tight)))


def test_an_expression_past_its_bound_is_capped_at_it() -> None:
    parents = entity("p", [dist("limit", "uniform", low=10, high=20)], rows=500)
    child = fact("c", ["p"], [dist("x", "uniform", low=0, high=30), expr("y", "x * 1.0")], fanout=POISSON)
    doc = schema(
        parents, child, constraints={"inequalities": [{"left": "c.y", "op": "<", "right": "p.limit"}]}
    )
    t = generate(doc)
    x, y, limit = values(t["c"], "x"), values(t["c"], "y"), related(t, "c", "p_id", "p", "limit")
    over = x >= limit
    assert over.any() and (y < limit).all()
    assert (y[~over] == x[~over]).all() and (y[over] == np.nextafter(limit[over], -np.inf)).all()


def _everything() -> dict[str, Any]:
    policies = entity(
        "p", [times("start"), expr("end", "start + days(40)", type_="datetime"), times("seen")], rows=150
    )
    claims = fact(
        "c",
        ["p"],
        [
            times("at", within={"start": "p.start", "end": "p.end"}),
            dist("amount", "gamma", shape=2, scale=50),
        ],
        fanout={"distribution": "poisson", "lambda": 4, "where": "start < end"},
    )
    payments = fact(
        "pay", ["c"], [times("paid"), dist("paid_amount", "gamma", shape=2, scale=40)], fanout={"count": 2}
    )
    sensors = entity("s", [times("installed")], rows=7)
    readings = fact("r", ["s"], [times("read", slot=True)], fanout={"every": "6h"})
    return schema(
        policies,
        claims,
        payments,
        sensors,
        readings,
        constraints={"inequalities": [{"left": "pay.paid_amount", "op": "<=", "right": "c.amount"}]},
    )


def test_chunk_size_never_changes_a_value_of_related_rows() -> None:
    s = checked(_everything())
    first = generate_in_memory(s, Options(seed=5, block_rows=64, chunk_rows=64))
    for chunk_rows in (200, 10_000):
        again = generate_in_memory(s, Options(seed=5, block_rows=64, chunk_rows=chunk_rows))
        for tid, table in first.items():
            assert table.equals(again[tid]), f"{tid} differs with chunk_rows={chunk_rows}"
