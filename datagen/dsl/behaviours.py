"""Behaviour blocks (docs/schema-language.md §8): what makes generated data worth analysing.

Each block's model is its descriptor: the kind of table it sits on, the columns it reads (read by its
children, or on its parent), and its defaults resolved (the columns a walk fills, its curves by what
they apply to, the spread of a gap or a duration)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from datagen.dsl.base import Feature, Read, Strict
from datagen.dsl.generators import Distribution, distribution_median
from datagen.dsl.units import DAY_US, HOUR_US, MINUTE_US, UNIT_US, WEEK_US, YEAR_US, TimeUnit

if TYPE_CHECKING:
    from datagen.dsl.models import Node, Schema


class BehaviourBlock(Feature):
    """A behaviour block's descriptor; `keyword` is its key on a table."""

    node_kinds: ClassVar[tuple[str, ...]]  # the kinds of table it may sit on
    influences: ClassVar[tuple[str, ...]] = ()  # what a composite_effect target may call it
    optional_parts: ClassVar[tuple[str, ...]] = ()  # keys the block works without (or with fewer items of)

    def child_time_bounds(self) -> list[tuple[Literal["lo", "hi"], str]]:
        """Bounds on the children's own time: ("lo", column) — never before the row's `column`."""
        return []

    def places_child_times(self) -> bool:
        """Whether the block shapes when in time the row's children fall (beyond bounding them)."""
        return False


class SegmentEffect(Strict):
    fanout_multiplier: float = Field(default=1.0, ge=0)
    value_multiplier: float = 1.0


class SegmentBehavior(BehaviourBlock):
    """Children of a row in segment s: fanout × fanout_multiplier; listed columns × value_multiplier.
    Hint: applies_to_columns may name a child's column or one further down the first parents
    ("order_lines.unit_price" under customers → orders → order_lines: each line takes its customer's
    multiplier); fanout_multiplier acts on direct children only."""

    keyword = "segment_behavior"
    node_kinds = ("entity",)
    influences = ("segment",)
    optional_parts = ("applies_to_columns",)
    segment_column: str
    behaviors: dict[str, SegmentEffect]
    applies_to_columns: list[str] = Field(default_factory=list)

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        return [Read(node.id, self.segment_column)]  # read by the children


class CurveParams(Strict):
    a: float = 1.0
    b: float = 0.0


class ParametricCurve(Strict):
    curve_type: Literal["logarithmic", "exponential", "linear"]
    params: CurveParams = Field(default_factory=CurveParams)


class AgeMultiplier(Strict):
    curve: list[float] | ParametricCurve
    time_unit: TimeUnit = "month"
    applies_to: Literal["fanout"] | list[str] = "fanout"

    @property
    def scales_fanout(self) -> bool:
        """An activity curve: it shapes how many children a parent has per unit of age."""
        return self.applies_to == "fanout"

    @property
    def columns(self) -> list[str]:
        """The `table.column`s a value curve multiplies (none for an activity curve)."""
        return self.applies_to if isinstance(self.applies_to, list) else []

    def value_at(self, age: np.ndarray) -> np.ndarray:
        """The curve at ages in its own unit: arrays step at whole units (the last value held),
        parametric curves a+b·ln(1+age), a·e^(b·age) or a+b·age; negative ages read as 0, and the
        value is floored at 0."""
        age = np.maximum(age, 0.0)
        if isinstance(self.curve, list):
            c = np.asarray(self.curve, dtype=float)
            return np.asarray(c[np.minimum(np.floor(age).astype(np.int64), len(c) - 1)])
        a, b = self.curve.params.a, self.curve.params.b
        kind = self.curve.curve_type
        if kind == "logarithmic":
            v = a + b * np.log1p(age)
        elif kind == "exponential":
            v = a * np.exp(np.clip(b * age, -700, 700))
        else:
            v = a + b * age
        return np.asarray(np.maximum(v, 0.0))

    @field_validator("curve")
    @classmethod
    def _curve_ok(cls, v: list[float] | ParametricCurve) -> list[float] | ParametricCurve:
        if isinstance(v, list):
            if not v:
                raise ValueError("curve is empty; give values at age 0, 1, 2, … (the last value is held)")
            if any(x < 0 for x in v):
                raise ValueError("curve values must be >= 0 (they multiply activity or values)")
        return v


class VintageBehavior(BehaviourBlock):
    # Activity and values of a row's children follow curves over the row's age at each child's time.
    keyword = "vintage_behavior"
    node_kinds = ("entity",)
    created_at_column: str
    age_based_multipliers: dict[str, AgeMultiplier]

    @property
    def fanout_curves(self) -> list[AgeMultiplier]:
        return [m for m in self.age_based_multipliers.values() if m.scales_fanout]

    def value_curves(self, ref: str) -> list[AgeMultiplier]:
        """The curves that multiply `table.column`, in declared order."""
        return [m for m in self.age_based_multipliers.values() if ref in m.columns]

    @property
    def value_columns(self) -> list[str]:
        """Every `table.column` a value curve multiplies, once each."""
        return list(dict.fromkeys(r for m in self.age_based_multipliers.values() for r in m.columns))

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        return [Read(node.id, self.created_at_column)]  # read by the children

    def child_time_bounds(self) -> list[tuple[Literal["lo", "hi"], str]]:
        return [("lo", self.created_at_column)]  # no child before its parent's creation

    def places_child_times(self) -> bool:
        return bool(self.fanout_curves)  # children happen along the activity curve


class Stage(Strict):
    stage_name: str
    transition_rate: float = Field(ge=0)


class StageSegmentVariation(Strict):
    transition_multiplier: float = Field(default=1.0, ge=0)


class Gap(Strict):
    """Time between consecutive stages, in hours."""

    distribution: Literal["exponential", "lognormal", "uniform", "constant"] = "exponential"
    mean_hours: float = Field(default=24.0, gt=0)
    sigma: float | None = Field(default=None, gt=0)
    min_hours: float | None = Field(default=None, ge=0)
    max_hours: float | None = Field(default=None, gt=0)

    @property
    def lognormal_sigma(self) -> float:
        return self.sigma or 1.0

    @property
    def low_hours(self) -> float:
        return self.min_hours or 0.0

    @model_validator(mode="after")
    def _params(self) -> Gap:
        if self.distribution == "uniform":
            lo, hi = self.low_hours, self.max_hours
            if hi is None or hi <= lo:
                raise ValueError("a uniform gap needs max_hours > min_hours (min_hours defaults to 0)")
        return self


class StageColumns(Strict):
    stage_name: str = "stage_name"
    stage_index: str | None = "stage_index"
    time: str | None = None


@dataclass(frozen=True)
class WalkColumns:
    """The columns a walk fills on its table, defaults resolved: `label` (the stage name or state) is
    always written; `extra` (the stage index or previous state) when the table has the column the
    schema names (by default `stage_index` / `previous_state`); `time` is the named column, else the
    table's first datetime column. `explicit`: the schema gave `columns`."""

    label: str
    extra: str | None
    time: str | None
    explicit: bool

    def filled(self, node: Node) -> set[str]:
        """The columns of `node` the walk writes (their generators are placeholders)."""
        return {n for n in (self.label, self.extra, self.time) if n and node.column(n) is not None}


class WalkBlock(BehaviourBlock):
    """A fact born from a walk per parent row: one row per reached stage or entered state."""

    node_kinds = ("fact",)
    optional_parts = ("segment_variation",)

    def walk_columns(self, node: Node) -> WalkColumns:
        raise NotImplementedError

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        parent = schema.node(node.primary_parent or "")
        start = parent.life_start_column() if parent is not None else None
        return [Read(parent.id, start)] if parent is not None and start else []


def _walk_columns(node: Node, label: str, extra: str | None, time: str | None, explicit: bool) -> WalkColumns:
    extra = extra if extra and node.column(extra) is not None else None
    return WalkColumns(label, extra, time or node.first_time_column(), explicit)


class StageConfig(WalkBlock):
    keyword = "stage_config"
    stages: list[Stage] = Field(min_length=1)
    segment_variation: dict[str, StageSegmentVariation] = Field(default_factory=dict)
    gap: Gap = Field(default_factory=Gap)
    columns: StageColumns | None = None

    def walk_columns(self, node: Node) -> WalkColumns:
        c = self.columns or StageColumns()
        return _walk_columns(node, c.stage_name, c.stage_index, c.time, self.columns is not None)


class Duration(Strict):
    """How long a semi-Markov state lasts, in the model's period units."""

    distribution: Literal["lognormal", "exponential", "constant", "uniform"] = "lognormal"
    mean: float = Field(gt=0)
    sigma: float | None = Field(default=None, gt=0)
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, gt=0)

    @property
    def lognormal_sigma(self) -> float:
        return self.sigma or 0.5

    @property
    def low(self) -> float:
        return self.min or 0.0

    @property
    def high(self) -> float:
        return self.max or 2 * self.mean


class StateSpec(Strict):
    transition_prob_per_period: float | None = Field(default=None, ge=0, le=1)
    next_states: dict[str, float] = Field(default_factory=dict)
    duration: Duration | None = None
    terminal: bool = False

    @model_validator(mode="after")
    def _shape(self) -> StateSpec:
        if self.terminal and (self.next_states or self.transition_prob_per_period or self.duration):
            raise ValueError("a terminal state has no next_states, transition_prob_per_period or duration")
        if not self.terminal:
            if not self.next_states:
                raise ValueError(
                    "a non-terminal state needs next_states ({state: probability}) or terminal: true"
                )
            if any(p < 0 for p in self.next_states.values()) or sum(self.next_states.values()) <= 0:
                raise ValueError("next_states probabilities must be >= 0 and not all 0")
            if self.duration is None and self.transition_prob_per_period is None:
                raise ValueError("give transition_prob_per_period (Markov) or duration (semi-Markov)")
        return self


class StateSegmentVariation(Strict):
    churn_multiplier: float = Field(default=1.0, ge=0)


class StateColumns(Strict):
    state: str = "state"
    previous_state: str | None = "previous_state"
    time: str | None = None


class StateTransitionModel(WalkBlock):
    keyword = "state_transition_model"
    initial_state: str
    period_unit: TimeUnit = "month"
    states: dict[str, StateSpec]
    segment_variation: dict[str, StateSegmentVariation] = Field(default_factory=dict)
    columns: StateColumns | None = None

    def walk_columns(self, node: Node) -> WalkColumns:
        c = self.columns or StateColumns()
        return _walk_columns(node, c.state, c.previous_state, c.time, self.columns is not None)


# --- lifetimes, activity and states that matter (§10.2, §10.3) ------------------------------------------

POSITIVE_KINDS = ("exponential", "weibull", "gamma", "lognormal", "uniform")
# A duration's clamp trims its tails: it must hold at least this share of the distribution's draws, so
# that drawing again inside it (gamma, lognormal) always lands (a draw fails 100 times in ~1 of 40,000).
MIN_CLAMP_SHARE = 0.1
CLAMP_SHARE_DRAWS = 20_000  # the fixed sample the share is read from (the same verdict every time)


def positive_distribution(d: Distribution, what: str, clamp: bool = False) -> Distribution:
    """`d` when every draw is a positive number with a finite mean (inside a clamp that trims its tails,
    where `clamp` allows one); ValueError saying what to use."""
    if d.type not in POSITIVE_KINDS or (d.type == "uniform" and d.params["low"] < 0):
        raise ValueError(
            f"{what} must be positive: use exponential, weibull, gamma, lognormal, or uniform with "
            f"low >= 0 (found {d.type})"
        )
    if d.clamp is not None and not clamp:
        raise ValueError(f"{what} takes no clamp; choose parameters whose draws fit instead")
    if d.clamp is not None and (problem := _clamp_problem(d, what)):
        raise ValueError(problem)
    return d


def _clamp_problem(d: Distribution, what: str) -> str | None:
    """Why a positive distribution's clamp does not trim its tails (None when it does)."""
    lo, hi = d.clamp_bounds
    shown = "[" + ", ".join("null" if x is None else f"{x:g}" for x in d.clamp or []) + "]"
    if (math.isfinite(lo) and lo < 0) or hi <= max(lo, 0.0):
        return f"the clamp [min, max] of {what} needs 0 <= min < max (got {shown})"
    draws = d.sample(np.random.default_rng(0), CLAMP_SHARE_DRAWS)
    share = float(np.mean((draws >= lo) & (draws <= hi)))
    if share < MIN_CLAMP_SHARE:
        median = distribution_median(d.type, d.params)
        return (
            f"the clamp {shown} of {what} holds only {share:.0%} of its draws (their "
            f"median is {median:.3g}); a clamp trims the tails: choose parameters whose median falls "
            "inside it"
        )
    return None


def distribution_mean(d: Distribution) -> float:
    """The mean of a positive distribution (POSITIVE_KINDS), from its parameters."""
    p = d.params
    if d.type == "exponential":
        return p["scale"]
    if d.type == "weibull":
        return p["scale"] * math.gamma(1 + 1 / p["shape"])
    if d.type == "gamma":
        return p["shape"] * p["scale"]
    if d.type == "lognormal":
        return math.exp(p["mean"] + p["sigma"] ** 2 / 2)
    return (p["low"] + p["high"]) / 2


def distribution_cv2(d: Distribution) -> float:
    """Variance over the squared mean (the variance of the level once normalised to mean 1)."""
    p = d.params
    if d.type == "exponential":
        return 1.0
    if d.type == "weibull":
        k = p["shape"]
        return math.gamma(1 + 2 / k) / math.gamma(1 + 1 / k) ** 2 - 1
    if d.type == "gamma":
        return 1 / p["shape"]
    if d.type == "lognormal":
        return math.expm1(p["sigma"] ** 2)
    mean = (p["low"] + p["high"]) / 2
    return (p["high"] - p["low"]) ** 2 / 12 / mean**2


class LifeDuration(Strict):
    """How long a row that ends lives: a positive distribution in `unit`s (continuous). A `clamp`
    [min, max] truncates it: each duration is drawn from the distribution restricted to the clamp
    (`Distribution.sample_clamped`), so none piles up at a bound."""

    distribution: Distribution
    unit: TimeUnit = "day"

    @field_validator("distribution")
    @classmethod
    def _positive(cls, d: Distribution) -> Distribution:
        return positive_distribution(d, "a lifetime's duration", clamp=True)

    @property
    def unit_us(self) -> int:
        return UNIT_US[self.unit]


class LifetimeEnd(Strict):
    column: str
    share: float | None = Field(default=None, ge=0, le=1)
    after: LifeDuration | None = None
    walk: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> LifetimeEnd:
        by_share = self.share is not None or self.after is not None
        if by_share == (self.walk is not None):
            raise ValueError(
                'give either "share" and "after" (a share of rows end after a duration) or "walk" '
                "(a row ends when its state walk enters a terminal state), not both"
            )
        if by_share and (self.share is None or self.after is None):
            raise ValueError('"share" and "after" go together: the share of rows that end, and when')
        return self


class Lifetime(BehaviourBlock):
    # A row lives in [start, end): its child facts, at any depth, happen only then, at a rate.
    keyword = "lifetime"
    node_kinds = ("entity",)
    optional_parts = ("end",)
    start: str
    end: LifetimeEnd | None = None

    @property
    def end_column(self) -> str | None:
        return self.end.column if self.end is not None else None

    @property
    def end_walk(self) -> str | None:
        """The fact whose state walk ends the row (None: a share ends after a duration, or no end)."""
        return self.end.walk if self.end is not None else None

    def filled_columns(self) -> set[str]:
        """The columns of its own table the block writes (their generators are placeholders)."""
        return {self.end.column} if self.end is not None else set()

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        out = [Read(node.id, self.start)]  # read by the children (and their children)
        if self.end is not None:
            out.append(Read(node.id, self.end.column))
        return out

    def child_time_bounds(self) -> list[tuple[Literal["lo", "hi"], str]]:
        return [("lo", self.start)]  # the end bounds them too, exclusively (engine/intensity.py)

    def places_child_times(self) -> bool:
        return True  # children are drawn inside the life, at a rate


class Activity(BehaviourBlock):
    # Each row draws a level (mean 1) that multiplies the rate of all its child facts for life.
    keyword = "activity"
    node_kinds = ("entity",)
    distribution: Distribution

    @field_validator("distribution")
    @classmethod
    def _positive(cls, d: Distribution) -> Distribution:
        return positive_distribution(d, "an activity level")

    @property
    def mean(self) -> float:
        return distribution_mean(self.distribution)

    @property
    def cv2(self) -> float:
        """The variance of the normalised level (1/shape for a gamma)."""
        return distribution_cv2(self.distribution)


class ActiveIn(BehaviourBlock):
    # A child fact's rate follows the state its parent is in (a weight per state of the parent's walk).
    keyword = "active_in"
    node_kinds = ("fact",)
    walk: str
    states: dict[str, float]

    @field_validator("states")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()) or not any(w > 0 for w in v.values()):
            raise ValueError("state weights must be >= 0 and not all 0 (states not listed weigh 0)")
        return v

    def weight(self, state: str) -> float:
        return self.states.get(state, 0.0)

    def places_child_times(self) -> bool:
        return True


class TimeSpan(Strict):
    """A length of time, as the sum of the units given: `{"days": 30}`, `{"hours": 6, "minutes": 30}`."""

    minutes: float = Field(default=0.0, ge=0)
    hours: float = Field(default=0.0, ge=0)
    days: float = Field(default=0.0, ge=0, le=36_500)
    weeks: float = Field(default=0.0, ge=0, le=5_200)

    @model_validator(mode="after")
    def _positive(self) -> TimeSpan:
        if self.us < 1:
            raise ValueError('a length of time must be > 0, e.g. {"days": 30}')
        if self.us > 100 * YEAR_US:
            raise ValueError("a length of time must be at most 100 years")
        return self

    @property
    def us(self) -> int:
        """The length in microseconds."""
        total = self.minutes * MINUTE_US + self.hours * HOUR_US + self.days * DAY_US + self.weeks * WEEK_US
        return round(total)


class CreditColumns:
    """The bridge table an attribution block writes (`credit_table`): one row per touch inside each
    conversion's lookback window. The check step adds the table with these columns (named here, once);
    the keys take the types of the conversions' and the touches' primary keys."""

    CONVERSION = "conversion_id"
    TOUCH = "touch_id"
    POSITION = "position"  # 1 = the earliest touch in the window
    MODELS = ("first_touch", "last_touch", "linear", "time_decay")  # credits, each summing to 1


class Attribution(BehaviourBlock):
    # A conversions fact caused by earlier touches of the same parent (docs/schema-language.md §8.5).
    keyword = "attribution"
    node_kinds = ("fact",)
    optional_parts = ("channel_lift", "credit_table", "half_life", "conversion_time")
    DEFAULT_HALF_LIFE: ClassVar[TimeSpan]

    touches: str
    channel_column: str
    time_column: str
    lookback: TimeSpan
    base_rate: float = Field(gt=0, lt=1)
    channel_lift: dict[str, float] = Field(default_factory=dict)
    credit_table: str | None = None
    half_life: TimeSpan | None = None
    conversion_time: str | None = None

    @field_validator("channel_lift")
    @classmethod
    def _lifts(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not 1e-6 <= x <= 1e6]
        if bad:
            raise ValueError(
                f"a channel's lift multiplies the odds of converting: it must be > 0 and at most 1e6 "
                f"(1 = no effect); fix {', '.join(repr(b) for b in bad)}"
            )
        return v

    @property
    def decay_half_life(self) -> TimeSpan:
        """How fast time-decay credit halves going back from the conversion: `half_life`, else 7 days."""
        return self.half_life or Attribution.DEFAULT_HALF_LIFE

    def lift(self, channel: str) -> float:
        """A channel's odds multiplier per touch (1 for a channel not listed)."""
        return self.channel_lift.get(channel, 1.0)

    def conversion_time_column(self, node: Node) -> str | None:
        """The conversions' time column the block fills: `conversion_time`, else the first datetime column."""
        return self.conversion_time or node.first_time_column()

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        touches = schema.node(self.touches)
        if touches is None:
            return []
        names = [self.channel_column, self.time_column, *([touches.pk] if touches.pk else [])]
        reads = [Read(touches.id, c, whole_table=True) for c in dict.fromkeys(names)]
        time = self.conversion_time_column(node)
        if self.credit_table and time:
            reads.append(Read(node.id, time))  # read by the credit table
        return reads


Attribution.DEFAULT_HALF_LIFE = TimeSpan(days=7)


def credit_source(schema: Schema, table: str) -> Node | None:
    """The conversions table whose attribution block writes `table` as its credit table, if any."""
    return next(
        (n for n in schema.nodes if n.attribution is not None and n.attribution.credit_table == table), None
    )


def credit_node(conversions: Node, block: Attribution, touches: Node) -> dict[str, object]:
    """The credit table an attribution block writes, as the check step adds it to the schema: one row
    per touch inside a conversion's lookback window (docs/schema-language.md §8.5). Its columns are
    filled by the block; their generators name where the keys come from, or are placeholders."""
    assert block.credit_table is not None and conversions.pk is not None and touches.pk is not None
    conversion_key = conversions.column(conversions.pk)
    touch_key = touches.column(touches.pk)
    assert conversion_key is not None and touch_key is not None
    filled = f"filled by the attribution block of '{conversions.id}'"
    credits = [
        {"name": name, "type": "float", "generator": {"expression": {"code": "0.0"}}, "comment": filled}
        for name in CreditColumns.MODELS
    ]
    return {
        "id": block.credit_table,
        "kind": "fact",
        "description": f"Credit of each touch in the lookback window of each {conversions.id} row, per "
        "attribution model (each model's credits sum to 1 per conversion).",
        "parents": [conversions.id, touches.id],
        "columns": [
            {
                "name": CreditColumns.CONVERSION,
                "type": conversion_key.type,
                "generator": {"lookup": {"from": f"{conversions.id}.{conversions.pk}"}},
            },
            {
                "name": CreditColumns.TOUCH,
                "type": touch_key.type,
                "generator": {"lookup": {"from": f"{touches.id}.{touches.pk}"}},
                "comment": filled,
            },
            {
                "name": CreditColumns.POSITION,
                "type": "int",
                "generator": {"expression": {"code": "0"}},
                "comment": filled + " (1 = the earliest touch in the window)",
            },
            *credits,
        ],
    }
