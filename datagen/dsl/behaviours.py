"""Behaviour blocks (DSL.md §8): what makes generated data worth analysing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from datagen.dsl.base import Strict

TimeUnit = Literal["day", "week", "month", "year"]


class SegmentEffect(Strict):
    fanout_multiplier: float = Field(default=1.0, ge=0)
    value_multiplier: float = 1.0


class SegmentBehavior(Strict):
    segment_column: str
    behaviors: dict[str, SegmentEffect]
    applies_to_columns: list[str] = Field(default_factory=list)


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

    @field_validator("curve")
    @classmethod
    def _curve_ok(cls, v: list[float] | ParametricCurve) -> list[float] | ParametricCurve:
        if isinstance(v, list):
            if not v:
                raise ValueError("curve is empty; give values at age 0, 1, 2, … (the last value is held)")
            if any(x < 0 for x in v):
                raise ValueError("curve values must be >= 0 (they multiply activity or values)")
        return v


class VintageBehavior(Strict):
    created_at_column: str
    age_based_multipliers: dict[str, AgeMultiplier]


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

    @model_validator(mode="after")
    def _params(self) -> Gap:
        if self.distribution == "uniform":
            lo, hi = self.min_hours or 0.0, self.max_hours
            if hi is None or hi <= lo:
                raise ValueError("a uniform gap needs max_hours > min_hours (min_hours defaults to 0)")
        return self


class StageColumns(Strict):
    stage_name: str = "stage_name"
    stage_index: str | None = "stage_index"
    time: str | None = None


class StageConfig(Strict):
    stages: list[Stage] = Field(min_length=1)
    segment_variation: dict[str, StageSegmentVariation] = Field(default_factory=dict)
    gap: Gap = Field(default_factory=Gap)
    columns: StageColumns | None = None


class Duration(Strict):
    """How long a semi-Markov state lasts, in the model's period units."""

    distribution: Literal["lognormal", "exponential", "constant", "uniform"] = "lognormal"
    mean: float = Field(gt=0)
    sigma: float | None = Field(default=None, gt=0)
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, gt=0)


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


class StateTransitionModel(Strict):
    initial_state: str
    period_unit: TimeUnit = "month"
    states: dict[str, StateSpec]
    segment_variation: dict[str, StateSegmentVariation] = Field(default_factory=dict)
    columns: StateColumns | None = None
