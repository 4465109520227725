"""The engine's registry: each feature's model type → the code that generates it. One table per family
(a generator fills a column, a modifier transforms it, a behaviour block shapes children), and the one
place to look up where a feature is implemented. Features the engine does not generate say why.

The parity test holds these tables to the language's list of features (datagen.dsl.features)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from datagen.dsl import behaviours as b
from datagen.dsl import generators as g
from datagen.dsl import modifiers as m
from datagen.dsl.features import TARGETS
from datagen.dsl.models import Column, Node, Schema
from datagen.engine import generators, modifiers
from datagen.engine.active import StateRates
from datagen.engine.attribution import CONVERSIONS, CREDIT
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Block
from datagen.engine.lifecycle import Activities, Lifetimes, state_at
from datagen.engine.lookups import lookup
from datagen.engine.rollups import rollup
from datagen.engine.running import running
from datagen.engine.segments import Segments
from datagen.engine.vintage import Vintage
from datagen.engine.walks import STAGES, STATES, WalkEngine

if TYPE_CHECKING:
    from datagen.engine.generate import Engine

GeneratorFn = Callable[[Block, Column, Any], np.ndarray]  # (block, column, generator) -> raw values
ModifierFn = Callable[[Block, Column, int, Any, np.ndarray], np.ndarray]  # (…, position, modifier, v)

GENERATORS: dict[type[g.GeneratorModel], GeneratorFn] = {
    g.SequenceGen: generators.sequence,
    g.ChoiceGen: generators.choice,
    g.DistributionGen: generators.distribution,
    g.DatetimeSeriesGen: generators.datetime_series,
    g.FakerGen: generators.faker,
    g.LookupGen: lookup,
    g.ExpressionGen: generators.expression,
    g.EnumListGen: generators.enum_list,
    g.StateAtGen: state_at,
    g.RollupGen: rollup,
    g.RunningGen: running,
}

MODIFIERS: dict[type[m.ModifierModel], ModifierFn] = {
    m.Multiply: modifiers.multiply,
    m.Add: modifiers.add,
    m.Clamp: modifiers.clamp,
    m.Jitter: modifiers.jitter,
    m.MapValues: modifiers.map_values,
    m.Seasonality: modifiers.seasonality,
    m.TimeJitter: modifiers.time_jitter,
    m.Effect: modifiers.effect,
    m.Outliers: modifiers.outliers,
    m.Trend: modifiers.trend,
    m.PricePoint: modifiers.price_point,
}

BEHAVIOURS: dict[type[b.BehaviourBlock], BehaviourEngine[Any]] = {
    b.SegmentBehavior: Segments(),
    b.VintageBehavior: Vintage(),
    b.StageConfig: STAGES,
    b.StateTransitionModel: STATES,
    b.Lifetime: Lifetimes(),
    b.Activity: Activities(),
    b.ActiveIn: StateRates(),
    b.Attribution: CONVERSIONS,
}

# Features the engine never reads, and why.
NOT_GENERATED: dict[type, str] = {
    target: "a target is a check on the data, not an instruction to the engine: the data meets it "
    "through the generators, modifiers and behaviour blocks it summarises"
    for target in TARGETS
}


def behaviour_engine(spec: b.BehaviourBlock) -> BehaviourEngine[Any]:
    return BEHAVIOURS[type(spec)]


def walk_engine(spec: b.BehaviourBlock) -> WalkEngine[Any]:
    impl = BEHAVIOURS[type(spec)]
    assert isinstance(impl, WalkEngine)
    return impl


class BornEngine(Protocol):
    """A behaviour block a fact's rows are born from: how many rows each parent row gets (for the
    layout, computed first), then the columns it fills in each block."""

    def counts(
        self, spec: Any, engine: Engine, node: Node, parent: Node, k: int, rows: np.ndarray
    ) -> np.ndarray: ...

    def fill(self, spec: Any, engine: Engine, block: Block) -> set[str]: ...


@dataclass(frozen=True)
class Births:
    """The block `node`'s rows are born from, and its engine."""

    spec: b.BehaviourBlock
    impl: BornEngine

    def counts(self, engine: Engine, node: Node, parent: Node, k: int, rows: np.ndarray) -> np.ndarray:
        return self.impl.counts(self.spec, engine, node, parent, k, rows)

    def fill(self, engine: Engine, block: Block) -> set[str]:
        return self.impl.fill(self.spec, engine, block)


def births(schema: Schema, node: Node) -> Births | None:
    """Where a fact's rows come from when not from its fanout: a stage or state walk, an attribution
    (conversions after touches), or the attribution whose credit table it is."""
    if node.walk is not None:
        return Births(node.walk, walk_engine(node.walk))
    if node.attribution is not None:
        return Births(node.attribution, CONVERSIONS)
    source = b.credit_source(schema, node.id)
    if source is not None and source.attribution is not None:
        return Births(source.attribution, CREDIT)
    return None
