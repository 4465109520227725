"""Every bundled example looks like data a real business could hold (docs/schema-language.md §10.6):
money columns in cents, and no value piled up at a distribution's clamp."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pytest

from datagen.dsl import check
from datagen.dsl.generators import DistributionGen
from datagen.dsl.models import Column, Node, Schema
from datagen.engine.cast import clamp_bounds
from datagen.engine.generate import Options, generate_in_memory
from datagen.resources import examples_dir
from tests.engine.conftest import values

EXAMPLES = sorted(examples_dir().glob("*.json"))
# The money columns of the examples (table.column); every float column named like money must be listed.
MONEY = {
    "banking": [
        "accounts.opening_balance",
        "accounts.closing_balance",
        "transactions.amount",
        "transactions.signed_amount",
        "transactions.balance",
    ],
    "ecommerce": ["products.price", "orders.amount", "order_items.unit_price", "order_items.line_total"],
    "insurance": ["claims.claimed_amount", "payments.claimed_amount", "payments.paid_amount"],
    "marketing": ["campaigns.budget", "touches.cost", "conversions.revenue"],
    "real_estate": ["listings.asking_price", "offers.amount", "sales.price"],
    "retail_stores": ["till_sessions.revenue", "till_sessions.avg_basket"],
    "scooters": ["trips.fare", "riders.lifetime_spend"],
    "segments": ["orders.amount"],
    "trend_growth": ["orders.basket_value", "orders.shipping_cost"],
}
MONEY_WORDS = re.compile(r"price|amount|revenue|cost|balance|budget|total|basket|fee|spend", re.ASCII)


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.stem)
def example(request: pytest.FixtureRequest) -> tuple[str, Schema, dict[str, pa.Table]]:
    schema = check(json.loads(request.param.read_text(encoding="utf-8"))).raise_for_errors()
    return request.param.stem, schema, generate_in_memory(schema, Options(seed=42, scale=0.5))


def _money_named(schema: Schema) -> set[str]:
    return {
        f"{n.id}.{c.name}"
        for n in schema.nodes
        for c in n.output_columns
        if c.type == "float" and MONEY_WORDS.search(c.name)
    }


def test_money_columns_are_in_cents(example) -> None:
    name, schema, tables = example
    listed = set(MONEY.get(name, []))
    assert _money_named(schema) <= listed, (
        f"money columns not listed in MONEY: {_money_named(schema) - listed}"
    )
    for ref in listed:
        table, column = ref.split(".")
        node = schema.node(table)
        assert node is not None and (c := node.column(column)) is not None
        assert c.decimals is not None and c.decimals <= 2, f"{ref} declares no cents"
        x = values(tables[table], column)
        x = x[~np.isnan(x)]
        assert np.allclose(x * 100, np.round(x * 100), rtol=0, atol=1e-6), f"{ref} has more than 2 decimals"


def _scaled(schema: Schema, node: Node, col: Column) -> bool:
    """Whether a behaviour block multiplies the column's values (a segment or a vintage value curve)."""
    ref = f"{node.id}.{col.name}"
    for parent in schema.nodes:
        for block in parent.behaviours:
            if ref in getattr(block, "applies_to_columns", []) or ref in getattr(block, "value_columns", []):
                return True
    return False


def _as_written(col: Column, x: np.ndarray) -> np.ndarray:
    if col.type == "int":
        return np.rint(x)
    return np.round(x, col.decimals) if col.decimals is not None else x


def test_no_value_piles_up_at_a_distribution_clamp(example) -> None:
    """A clamp on a distribution truncates: a bound holds no more values than the truncated distribution
    puts there once rounded as written (reckoned here by rejection from plain draws): none at all in a
    float column without `decimals`."""
    _, schema, tables = example
    checked = 0
    for node in schema.nodes:
        for col in node.output_columns:
            gen = col.generator
            if not isinstance(gen, DistributionGen) or not gen.distribution.clamp or col.modifiers:
                continue
            if _scaled(schema, node, col):
                continue  # each row truncates at its own multiplier
            x = values(tables[node.id], col.name)
            x = x[~np.isnan(x)]
            lo, hi = clamp_bounds(col, *gen.distribution.clamp)
            draws = gen.distribution.sample(np.random.default_rng(0), 400_000)
            low, high = -np.inf if lo is None else lo, np.inf if hi is None else hi
            inside = _as_written(col, draws[(draws >= low) & (draws <= high)])
            for bound in (b for b in (lo, hi) if b is not None):
                at, p = float(np.mean(x == bound)), float(np.mean(inside == bound))
                se = np.sqrt(p * (1 - p) / len(x))
                assert at <= p + 5 * se, (
                    f"{node.id}.{col.name}: {at:.3%} on {bound}, truncation gives {p:.3%}"
                )
                checked += 1
    assert checked or not any(
        isinstance(c.generator, DistributionGen) and c.generator.distribution.clamp and not c.modifiers
        for n in schema.nodes
        for c in n.output_columns
        if not _scaled(schema, n, c)
    )
