"""The validator's registry: each feature's model type → how the validator holds the data to it.

A treatment names the checks that recover the feature from the data (the families of behaviour.py's
registry, or the `structural` and `values` buckets), or says why none does; and, for a modifier, the
parts of it the row models need: its multiplier as SQL (`factor`), the same change applied to sample
values (`reapply`), and whether its multiplier is one draw shared by many rows (`shared`).

The parity test holds this table to the language's list of features (datagen.dsl.features)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from datagen.dsl import behaviours as b
from datagen.dsl import generators as g
from datagen.dsl import modifiers as m
from datagen.dsl import targets as t
from datagen.dsl.models import Column, Node
from datagen.validate.context import Context
from datagen.validate.factors import (
    Factor,
    RowModel,
    effect_factor,
    multiply_factor,
    outliers_factor,
    seasonality_factor,
    trend_factor,
)

FactorFn = Callable[[Context, Node, Column, int, Any, RowModel], "Factor | str"]  # str: why there is none
Reapply = Callable[[Any, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Treatment:
    checks: tuple[str, ...] = ()  # the check families that recover it
    why_none: str = ""  # when no check recovers it: why
    factor: FactorFn | None = None
    reapply: Reapply | None = None
    shared: bool = False


def _multiply(mod: m.Multiply, x: np.ndarray) -> np.ndarray:
    return x * mod.args.factor


def _add(mod: m.Add, x: np.ndarray) -> np.ndarray:
    return x + mod.args.value


def _clamp(mod: m.Clamp, x: np.ndarray) -> np.ndarray:
    return np.clip(x, mod.args.min, mod.args.max)


def _price_point(mod: m.PricePoint, x: np.ndarray) -> np.ndarray:
    return mod.args.snap(x)


NOT_RECOVERED = "not recovered from the data: {}"

TREATMENTS: dict[type, Treatment] = {
    # generators
    g.SequenceGen: Treatment(
        why_none=NOT_RECOVERED.format("arithmetic; as a key it is held by the structural checks")
    ),
    g.ChoiceGen: Treatment(
        why_none=NOT_RECOVERED.format("the shares of the choices are not compared with the weights yet")
    ),
    g.DistributionGen: Treatment(
        why_none=NOT_RECOVERED.format("parameters are not fitted back; ranges and targets bound the values")
    ),
    g.DatetimeSeriesGen: Treatment(checks=("seasonality", "diffusion")),  # a curve is fitted back
    g.FakerGen: Treatment(checks=("email_from_name",)),  # emails built `from` a name hold that name
    g.LookupGen: Treatment(checks=("structural", "scoped_lookup")),  # keys; a random pick stays in scope
    g.ExpressionGen: Treatment(checks=("expression",)),  # re-evaluated over the row's columns
    g.EnumListGen: Treatment(why_none=NOT_RECOVERED.format("the table is the list itself")),
    g.StateAtGen: Treatment(checks=("lives",)),  # the walk's state, row by row (hard)
    g.RollupGen: Treatment(checks=("rollup",)),  # recomputed from the children, row by row
    g.RunningGen: Treatment(checks=("running",)),  # recomputed as a window over the parent's rows
    # modifiers
    m.Multiply: Treatment(
        why_none=NOT_RECOVERED.format("a constant; the row models divide it out"),
        factor=multiply_factor,
        reapply=_multiply,
    ),
    m.Add: Treatment(why_none=NOT_RECOVERED.format("a constant shift; it ends a row model"), reapply=_add),
    m.Clamp: Treatment(
        why_none=NOT_RECOVERED.format("a clip; declared ranges are checked as values"), reapply=_clamp
    ),
    m.Jitter: Treatment(why_none=NOT_RECOVERED.format("noise of mean 1 (mul) or 0 (add)")),
    m.MapValues: Treatment(
        why_none=NOT_RECOVERED.format("a relabelling; enums and patterns check the labels")
    ),
    m.Seasonality: Treatment(checks=("seasonality",), factor=seasonality_factor),
    m.TimeJitter: Treatment(checks=("seasonality",)),  # the expected shares spread by it
    m.Effect: Treatment(checks=("targets",), factor=effect_factor, shared=True),  # composite_effect
    m.Outliers: Treatment(checks=("outliers",), factor=outliers_factor),
    m.Trend: Treatment(checks=("trend",), factor=trend_factor),
    # every value on a price point when nothing moves it after (values/precision.py)
    m.PricePoint: Treatment(checks=("values",), reapply=_price_point),
    # behaviour blocks
    b.SegmentBehavior: Treatment(checks=("segments",)),
    b.VintageBehavior: Treatment(checks=("vintage",)),
    b.StageConfig: Treatment(checks=("stages",)),
    b.StateTransitionModel: Treatment(checks=("states",)),
    b.Lifetime: Treatment(checks=("lives",)),
    b.Activity: Treatment(checks=("activity",)),
    b.ActiveIn: Treatment(checks=("state_rates",)),
    b.Attribution: Treatment(checks=("attribution",)),  # windows and credits exactly; lifts fitted back
    # targets
    t.WeekendShareTarget: Treatment(checks=("targets",)),
    t.MeanInRangeTarget: Treatment(checks=("targets",)),
    t.CompositeEffectTarget: Treatment(checks=("targets",)),
}

BUCKETS = ("structural", "values")  # check families that are not registered behavioural checks


def treatment(feature: object) -> Treatment:
    return TREATMENTS[type(feature)]
