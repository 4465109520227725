"""The behaviour checks `datagen validate` runs (datagen/validate/recovery/): on clean data every
declared parameter is recovered within its tolerance; when the schema declares something the data does
not show, the check for that parameter fails; a broken walk is a hard failure."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datagen.dsl.models import Fanout
from datagen.dsl.units import UNIT_US
from datagen.validate.recovery import recover_all
from datagen.validate.recovery.common import Recovered, Skipped
from datagen.validate.recovery.segments import expected_count
from tests.behaviours.helpers import checked, connection, example
from tests.engine.conftest import col, dist, entity, fact, schema
from tests.validate.helpers import rewrite, validated, write

FAMILIES = {
    "trend",
    "segment_fanout",
    "segment_value",
    "vintage_activity",
    "vintage_value",
    "stage",
    "state",
    "lifetime",
    "state_at",
    "activity",
    "active_in",
    "diffusion",
}
# Checks a clean example may skip, with the reason: a rate that also follows the parent's state is read
# by active_in, not by the vintage curve or the activity dispersion alone.
STATE_DRIVEN = ("follows the state of", "changes with the parent's state")


def _recovered(doc: dict, declared: dict | None = None) -> list[Recovered]:
    """Generate from `doc`, then recover against `declared` (default: the same schema)."""
    con, _ = connection(doc)
    return [f for f in recover_all(con, checked(declared or doc)) if isinstance(f, Recovered)]


@pytest.mark.parametrize(
    "name", ["trend_growth", "segments", "cohort_retention", "funnel", "subscriptions", "combined_behaviours"]
)
def test_validate_passes_every_behaviour_of_a_clean_example(name: str, tmp_path: Path) -> None:
    doc = example(name)
    write(doc, tmp_path / "data")
    report = validated(doc, tmp_path / "data")
    ours = [r for r in report.results if r.check in FAMILIES]
    assert ours, "no behaviour checks ran"
    ran = [r for r in ours if not (r.status == "skip" and any(w in r.message for w in STATE_DRIVEN))]
    assert all(r.status == "pass" for r in ran), [r.message for r in ran if r.status != "pass"]
    assert all(r.details["strata"] for r in ran)
    assert report.exit_code == 0


def test_every_family_is_checked_somewhere() -> None:
    seen = set()
    for name in ("trend_growth", "combined_behaviours", "cohort_retention", "saas"):
        seen |= {f.behaviour for f in _recovered(example(name))}
    assert seen == FAMILIES


def _mutated(doc: dict, change) -> dict:
    other = copy.deepcopy(doc)
    change(other)
    return other


def _node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def _set_trend(d: dict) -> None:
    _node(d, "orders")["columns"][3]["modifiers"][0]["args"]["growth_rate"] = 0.15


def _set_fanout(d: dict) -> None:
    _node(d, "customers")["segment_behavior"]["behaviors"]["vip"]["fanout_multiplier"] = 2.0


def _set_value(d: dict) -> None:
    _node(d, "stores")["segment_behavior"]["behaviors"]["outlet"]["value_multiplier"] = 0.9


def _set_curve(d: dict) -> None:
    _node(d, "users")["vintage_behavior"]["age_based_multipliers"]["activity_decay"]["curve"][1] = 0.75


def _set_value_curve(d: dict) -> None:
    curve = _node(d, "users")["vintage_behavior"]["age_based_multipliers"]["habit_depth"]["curve"]
    curve["params"]["b"] = 0.5


def _set_stage(d: dict) -> None:
    _node(d, "funnel_steps")["stage_config"]["segment_variation"]["referral"]["transition_multiplier"] = 1.2


def _set_hazard(d: dict) -> None:
    _node(d, "subscription_events")["state_transition_model"]["states"]["active"][
        "transition_prob_per_period"
    ] = 0.11


def _set_churn(d: dict) -> None:
    _node(d, "subscription_events")["state_transition_model"]["segment_variation"]["annual"][
        "churn_multiplier"
    ] = 1.0


@pytest.mark.parametrize(
    ("name", "change", "behaviour", "stratum"),
    [
        ("trend_growth", _set_trend, "trend", "fit"),
        ("segments", _set_fanout, "segment_fanout", "vip / regular"),
        ("segments", _set_value, "segment_value", "outlet / "),
        ("cohort_retention", _set_curve, "vintage_activity", "age 1"),
        ("cohort_retention", _set_value_curve, "vintage_value", "age 4"),
        ("funnel", _set_stage, "stage", "visit -> signup (referral)"),
        ("subscriptions", _set_hazard, "state", "active (monthly)"),
        ("subscriptions", _set_churn, "state", "trial -> churned (annual)"),
    ],
)
def test_a_parameter_the_data_does_not_show_fails_its_check(name, change, behaviour, stratum) -> None:
    doc = example(name)
    wrong = [f for f in _recovered(doc, _mutated(doc, change)) if not f.ok()]
    assert any(f.behaviour == behaviour and f.stratum.startswith(stratum) for f in wrong), [
        str(f) for f in wrong
    ]


def test_a_broken_state_walk_is_a_hard_failure(tmp_path: Path) -> None:
    doc = example("subscriptions", subscribers=500)
    data = tmp_path / "data"
    write(doc, data)

    def drop_second_rows(t: pa.Table) -> pa.Table:  # a state vanishes: the next row's previous is wrong
        first = pc.equal(t.column("previous_status"), "trial")
        return t.filter(pc.invert(pc.fill_null(first, False)))

    rewrite(data, "subscription_events", drop_second_rows)
    report = validated(doc, data)
    broken = [r for r in report.failures if r.check == "state" and r.hard]
    assert broken and "walk bookkeeping" in broken[0].message
    assert report.exit_code == 1


def test_a_behaviour_without_a_key_into_its_parent_is_skipped_with_the_reason() -> None:
    doc = example("funnel", visitors=500)
    steps = _node(doc, "funnel_steps")
    steps["columns"][1] = {"name": "visitor_id", "type": "int", "generator": {"sequence": {"start": 1}}}
    con, schema = connection(doc)
    skipped = [f for f in recover_all(con, schema) if isinstance(f, Skipped)]
    assert any(f.behaviour == "stage" and "no key" in f.reason for f in skipped)


@pytest.mark.parametrize(
    "fanout",
    [
        {"distribution": "poisson", "lambda": 1.5, "min": 1, "max": 6},
        {"distribution": "negative_binomial", "lambda": 14, "dispersion": 2, "max": 20},
        {"distribution": "uniform", "min": 2, "max": 5},
    ],
)
@pytest.mark.parametrize("m", [0.5, 1.8])
def test_the_expected_count_after_min_max_matches_the_engines_draws(fanout: dict, m: float) -> None:
    """The draws of datagen/engine/fanout.py, simulated: the validator's exact sums agree."""
    f = Fanout.model_validate(fanout)
    rng = np.random.default_rng(5)
    if f.distribution == "poisson":
        draws = rng.poisson(f.lambda_ * m, 400_000)
    elif f.distribution == "negative_binomial":
        k = f.dispersion
        draws = rng.negative_binomial(k, k / (k + f.lambda_ * m), 400_000)
    else:
        draws = np.floor(rng.integers(f.min, f.max + 1, 400_000) * m + rng.random(400_000))
    simulated = np.clip(draws, f.min or 0, f.max if f.max is not None else None).mean()
    assert expected_count(f, m) == pytest.approx(simulated, rel=0.01)


def test_time_units_are_the_average_gregorian_ones() -> None:
    """One home for the units both sides measure with: a month is 30.436875 days, a year 365.2425."""
    assert UNIT_US["day"] == 86_400_000_000 and UNIT_US["week"] == 7 * UNIT_US["day"]
    assert UNIT_US["month"] == 2_629_746_000_000 and UNIT_US["year"] == 31_556_952_000_000
    assert 12 * UNIT_US["month"] == UNIT_US["year"]


def _grandchild_scaled() -> dict:
    """p (segmented) → c → g: the segment of p scales g.v, two tables down its first parents."""
    p = entity(
        "p",
        [col("seg", "string", {"choice": {"choices": ["big", "small", "other"]}})],
        rows=1500,
        segment_behavior={
            "segment_column": "seg",
            "behaviors": {"big": {"fanout_multiplier": 2.0, "value_multiplier": 3.0},
                          "small": {"value_multiplier": 0.5}},
            "applies_to_columns": ["g.v"],
        },
    )  # fmt: skip
    c = fact("c", ["p"], [], fanout={"distribution": "poisson", "lambda": 3})
    g = fact(
        "g",
        ["c"],
        [dist("v", "lognormal", mean=3.0, sigma=0.3)],
        fanout={"distribution": "poisson", "lambda": 2},
    )
    doc = schema(p, c, g)
    doc["targets"] = {"composite_effect": [{"table": "g", "metric": "v", "influences": ["segment"]}]}
    return doc


def test_a_grandchilds_segment_value_is_recovered_up_its_first_parents(tmp_path: Path) -> None:
    """The recovery joins g to c to p by keys: it recovers the declared ratios, and fails where the
    data does not show the declared multiplier; the composite effect reads the same segment."""
    doc = _grandchild_scaled()
    found = [f for f in _recovered(doc) if f.behaviour == "segment_value"]
    assert {(f.table, f.column) for f in found} == {("g", "v")}
    assert len(found) == 2 and all(f.ok() for f in found), [str(f) for f in found]
    declared = copy.deepcopy(doc)
    _node(declared, "p")["segment_behavior"]["behaviors"]["small"]["value_multiplier"] = 0.8
    wrong = [f for f in _recovered(doc, declared) if not f.ok()]
    assert [(f.behaviour, f.stratum) for f in wrong] == [("segment_value", "small / big")]
    write(doc, tmp_path / "data")
    effect = next(r for r in validated(doc, tmp_path / "data").results if r.check == "composite_effect")
    assert effect.status == "pass", effect.message
    assert effect.details["strata"] == 3


def test_a_grandchild_without_a_key_into_the_middle_table_is_skipped_with_the_reason() -> None:
    doc = _grandchild_scaled()
    _node(doc, "g")["columns"][1]["output"] = False  # g.c_id: a hidden helper, so g cannot reach c
    con, schema_ = connection(doc)
    skipped = [
        f for f in recover_all(con, schema_) if isinstance(f, Skipped) and f.behaviour == "segment_value"
    ]
    assert [f.reason for f in skipped] == ["no key into c"]
