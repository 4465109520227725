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
from tests.behaviours.helpers import example, frames
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
