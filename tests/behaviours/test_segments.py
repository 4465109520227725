"""`segment_behavior` (docs/schema-language.md §8.1): children per parent and child values scale by the
parent's segment, from the primary parent and from a further parent position; values are scaled before their
clamp and the final cast; keys are never scaled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datagen.dsl import check
from datagen.dsl.models import Schema
from datagen.engine.generate import Options, generate_in_memory
from tests.behaviours.helpers import checked, example, frames
from tests.engine.conftest import col, dist, entity, fact, generate, lookup, schema, values

DOC = example("segments")


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return frames(DOC)


def _per_parent(parents: pd.DataFrame, orders: pd.DataFrame, key: str, segment: str) -> pd.Series:
    counts = orders.groupby(key).size().reindex(parents[key], fill_value=0).to_numpy()
    return pd.Series(counts, index=parents[key]).groupby(parents.set_index(key)[segment]).mean()


def test_children_per_customer_scale_with_the_tier(data) -> None:
    mean = _per_parent(data["customers"], data["orders"], "customer_id", "tier")
    assert mean["vip"] / mean["regular"] == pytest.approx(3.0, rel=0.10)
    assert mean["budget"] / mean["regular"] == pytest.approx(0.6, rel=0.10)


def test_children_per_store_scale_with_the_format_from_the_second_parent_position(data) -> None:
    mean = _per_parent(data["stores"], data["orders"], "store_id", "store_format")
    assert mean["flagship"] / mean["standard"] == pytest.approx(2.0, rel=0.10)
    assert mean["outlet"] / mean["standard"] == pytest.approx(0.5, rel=0.10)


def test_values_scale_with_both_parents_segments(data) -> None:
    o = data["orders"].merge(data["customers"], on="customer_id").merge(data["stores"], on="store_id")
    tier = o.groupby("tier")["amount"].mean()
    fmt = o.groupby("store_format")["amount"].mean()
    assert tier["vip"] / tier["regular"] == pytest.approx(2.5, rel=0.05)
    assert tier["budget"] / tier["regular"] == pytest.approx(0.6, rel=0.05)
    assert fmt["flagship"] / fmt["standard"] == pytest.approx(1.2, rel=0.05)
    assert fmt["outlet"] / fmt["standard"] == pytest.approx(0.7, rel=0.05)
    items = o.groupby("tier")["items"].mean()  # not listed in applies_to_columns: the same everywhere
    assert items["vip"] / items["budget"] == pytest.approx(1.0, abs=0.05)


def _segmented(value_col: dict, applies_to: list[str], rows: int = 3000) -> dict:
    parent = entity(
        "p",
        [col("seg", "string", {"choice": {"choices": ["big", "small", "other"]}})],
        rows=rows,
        segment_behavior={
            "segment_column": "seg",
            "behaviors": {"big": {"fanout_multiplier": 2.0, "value_multiplier": 3.0},
                          "small": {"fanout_multiplier": 0.5, "value_multiplier": 1.5}},
            "applies_to_columns": applies_to,
        },
    )  # fmt: skip
    child = fact("c", ["p"], [value_col], fanout={"distribution": "poisson", "lambda": 4})
    return schema(parent, child)


def test_values_are_scaled_before_the_clamp_and_the_cast() -> None:
    doc = _segmented(dist("v", "uniform", type_="int", clamp=[0, 140], low=50.0, high=50.000001), ["c.v"])
    doc["nodes"][0]["segment_behavior"]["behaviors"]["small"]["value_multiplier"] = 1.11
    t = generate(doc)
    seg = dict(zip(values(t["p"], "id"), values(t["p"], "seg"), strict=True))
    by_seg = pd.Series(values(t["c"], "v")).groupby([seg[k] for k in values(t["c"], "p_id")]).unique()
    assert list(by_seg["big"]) == [140]  # 150 clamped: the clamp came after the multiplier
    assert list(by_seg["small"]) == [56]  # 55.5 rounded by the final cast, after the multiplier
    assert list(by_seg["other"]) == [50]  # an unlisted segment is left as it is


def test_keys_are_never_scaled() -> None:
    """The checker refuses a key in applies_to_columns; the engine leaves keys alone even so."""
    doc = _segmented(dist("v", "normal", mean=10.0, std=1.0), ["c.v", "c.p_id"])
    result = check(doc)
    assert [e.code for e in result.errors] == ["scaled_key"]
    unchecked = Schema.model_validate(result.document)  # the shape is fine; bypass the cross-checks
    t = generate_in_memory(unchecked, Options(seed=7))
    parent_ids, child_keys, fks = values(t["p"], "id"), values(t["c"], "id"), values(t["c"], "p_id")
    assert np.array_equal(child_keys, np.arange(1, len(child_keys) + 1))  # the declared sequence
    assert np.isin(fks, parent_ids).all()  # an FK listed in applies_to_columns is left alone
    counts = pd.Series(fks).value_counts().reindex(parent_ids, fill_value=0).to_numpy()
    assert np.array_equal(np.repeat(parent_ids, counts), fks)  # children of one parent contiguous


def test_a_second_parent_with_segments_still_gives_valid_keys() -> None:
    doc = schema(
        entity("a", [], rows=50),
        entity(
            "b",
            [col("seg", "string", {"choice": {"choices": ["x", "y"]}})],
            rows=40,
            segment_behavior={"segment_column": "seg", "behaviors": {"x": {"fanout_multiplier": 0.0}}},
        ),
        fact(
            "c",
            ["a", "b"],
            [lookup("b_seg", "b.seg", type_="string")],
            fanout={"distribution": "poisson", "lambda": 20},
        ),
    )
    t = generate(doc)
    assert np.isin(values(t["c"], "b_id"), values(t["b"], "id")).all()
    assert set(values(t["c"], "b_seg")) == {"y"}  # rows of segment x have multiplier 0: never picked


def _three_levels(**grandchild: dict) -> dict:
    """p (segmented) → c (born from p) → g (born from c): the segment scales g's columns."""
    doc = _segmented(dist("amount", "uniform", low=10.0, high=20.0), [f"g.{name}" for name in grandchild])
    g = fact("g", ["c"], list(grandchild.values()), fanout={"distribution": "poisson", "lambda": 3})
    doc["nodes"].append(g)
    return doc


def test_values_of_a_grandchild_take_the_segment_of_the_row_they_descend_from() -> None:
    """Each g row is scaled by the segment of its c row's p row, across blocks of every table (small
    blocks), and a value copied from c is scaled like any other; g's own counts do not follow p's
    segment (a fanout multiplier acts on direct children only)."""
    doc = _three_levels(
        v=dist("v", "uniform", low=50.0, high=50.000001),
        copied=lookup("copied", "c.amount", type_="float", on={"c_id": "id"}),
    )
    t = generate_in_memory(checked(doc), Options(seed=3, block_rows=256))
    seg = pd.Series(values(t["p"], "seg"), index=values(t["p"], "id"))
    c = pd.DataFrame(
        {"id": values(t["c"], "id"), "p_id": values(t["c"], "p_id"), "amount": values(t["c"], "amount")}
    )
    c["seg"] = seg.reindex(c["p_id"]).to_numpy()
    g = pd.DataFrame(
        {"c_id": values(t["g"], "c_id"), "v": values(t["g"], "v"), "copied": values(t["g"], "copied")}
    )
    g = g.merge(c, left_on="c_id", right_on="id")
    factor = g["seg"].map({"big": 3.0, "small": 1.5}).fillna(1.0)
    assert set(g["seg"]) == {"big", "small", "other"}
    assert np.allclose(g["v"], 50.0 * factor, rtol=1e-6)
    assert np.allclose(g["copied"], g["amount"] * factor, rtol=1e-9)
    per_c = g.groupby("c_id").size().reindex(c["id"], fill_value=0).groupby(c["seg"].to_numpy()).mean()
    assert per_c["big"] / per_c["small"] == pytest.approx(1.0, abs=0.06)
