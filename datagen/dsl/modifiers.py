"""Modifiers (DSL.md §4.2): `{"transform": "<name>", "args": {...}}`, applied in list order after the
generator, before null injection and the final cast."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from datagen.dsl.base import Strict
from datagen.dsl.generators import Distribution, PatternSpec, Scalar


class MultiplyArgs(Strict):
    factor: float


class AddArgs(Strict):
    value: float


class ClampArgs(Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _order(self) -> ClampArgs:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"clamp needs min <= max (got min={self.min}, max={self.max})")
        return self


class JitterArgs(Strict):
    std: float = Field(ge=0)
    mode: Literal["add", "mul"] = "add"


class MapValuesArgs(Strict):
    mapping: dict[str, Scalar]
    default: Scalar = None


class SeasonalityArgs(PatternSpec):
    time_column: str | None = None


class TimeJitterArgs(Strict):
    std_minutes: float = Field(ge=0)


class EffectWindow(Strict):
    start_col: str
    end_col: str


class EffectMap(Strict):
    field: str
    op: Literal["mul", "add"] = "mul"
    default: float = 1.0


class EffectArgs(Strict):
    effect_table: str
    on: dict[str, str] = Field(default_factory=dict)
    window: EffectWindow
    map: EffectMap
    time_column: str | None = None


class OutliersArgs(Strict):
    rate: float = Field(ge=0, le=1)
    mode: Literal["spike", "drop", "burst"] = "spike"
    magnitude_dist: Distribution | None = None


class TrendParams(Strict):
    a: float = 1.0
    b: float = 1.0


class TrendArgs(Strict):
    type: Literal["exponential", "linear", "logarithmic"] = "exponential"
    growth_rate: float = 0.0
    params: TrendParams | None = None
    time_reference: str | None = None

    @field_validator("growth_rate")
    @classmethod
    def _not_below_minus_one(cls, v: float) -> float:
        if v <= -1:
            raise ValueError("growth_rate must be > -1 (a decay of 100 % or more per year leaves nothing)")
        return v


class Multiply(Strict):
    transform: Literal["multiply"]
    args: MultiplyArgs


class Add(Strict):
    transform: Literal["add"]
    args: AddArgs


class Clamp(Strict):
    transform: Literal["clamp"]
    args: ClampArgs


class Jitter(Strict):
    transform: Literal["jitter"]
    args: JitterArgs


class MapValues(Strict):
    transform: Literal["map_values"]
    args: MapValuesArgs


class Seasonality(Strict):
    transform: Literal["seasonality"]
    args: SeasonalityArgs


class TimeJitter(Strict):
    transform: Literal["time_jitter"]
    args: TimeJitterArgs


class Effect(Strict):
    transform: Literal["effect"]
    args: EffectArgs


class Outliers(Strict):
    transform: Literal["outliers"]
    args: OutliersArgs


class Trend(Strict):
    transform: Literal["trend"]
    args: TrendArgs


Modifier = Annotated[
    Multiply | Add | Clamp | Jitter | MapValues | Seasonality | TimeJitter | Effect | Outliers | Trend,
    Field(discriminator="transform"),
]
MODIFIER_NAMES = (
    "multiply",
    "add",
    "clamp",
    "jitter",
    "map_values",
    "seasonality",
    "time_jitter",
    "effect",
    "outliers",
    "trend",
)
# Modifiers that read a time column, and the argument that names it.
TIME_ARGUMENT = {"seasonality": "time_column", "effect": "time_column", "trend": "time_reference"}
