"""Modifiers (docs/schema-language.md §4.2): `{"transform": "<name>", "args": {...}}`, applied in list
order after the generator, before null injection and the final cast.

Each modifier's model is its descriptor: the column types it applies to, its algebraic role, the time
column it reads (named, or the table's first datetime column), the other columns and tables it reads,
and the name a `composite_effect` target gives its influence."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, get_args

import numpy as np
from pydantic import Field, field_validator, model_validator

from datagen.dsl.base import NUMERIC, TIME, ColumnType, Feature, Read, Role, Strict, split_ref
from datagen.dsl.generators import Distribution, PatternSpec, Scalar

if TYPE_CHECKING:
    from datagen.dsl.models import Column, Node, Schema


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
    default: float | None = None

    @property
    def fill(self) -> float:
        """The value of a row no window covers: the declared `default`, else what leaves the row as it
        is under `op` (1 to multiply by, 0 to add)."""
        if self.default is not None:
            return self.default
        return 0.0 if self.op == "add" else 1.0


class EffectArgs(Strict):
    effect_table: str
    on: dict[str, str] = Field(default_factory=dict)
    window: EffectWindow
    map: EffectMap
    time_column: str | None = None


# An outlier is x3 to x10 its value when no magnitude is declared: v·(1+m), m ~ uniform(2, 9).
DEFAULT_MAGNITUDE = Distribution(type="uniform", params={"low": 2.0, "high": 9.0})


class OutliersArgs(Strict):
    rate: float = Field(ge=0, le=1)
    mode: Literal["spike", "drop", "burst"] = "spike"
    magnitude_dist: Distribution | None = None

    @property
    def magnitude(self) -> Distribution:
        """The distribution of m: the declared one, else uniform(2, 9)."""
        return self.magnitude_dist or DEFAULT_MAGNITUDE


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

    @property
    def log_params(self) -> tuple[float, float]:
        """(a, b) of the logarithmic form 1 + a·ln(1 + b·t): the declared params, else (growth_rate, 1)."""
        return (self.params.a, self.params.b) if self.params is not None else (self.growth_rate, 1.0)


class PricePointArgs(Strict):
    """Price points are the whole multiples of `unit` plus an ending: with endings [0.49, 0.99] and unit 1,
    …, 18.99, 19.49, 19.99, 20.49, …; with endings [9] and unit 10: 9, 19, 29, …"""

    endings: list[float] = Field(min_length=1, max_length=100)
    unit: float = Field(default=1.0, gt=0, le=1e15)

    @model_validator(mode="after")
    def _endings_inside_unit(self) -> PricePointArgs:
        outside = [e for e in self.endings if not 0 <= e < self.unit]
        if outside:
            raise ValueError(
                f"endings are what a price ends in, from 0 up to (not including) the unit {self.unit:g}; "
                f"{', '.join(f'{e:g}' for e in outside)} is not"
            )
        if len(set(self.endings)) < len(self.endings):
            raise ValueError("endings must be distinct")
        return self

    @property
    def decimals(self) -> int:
        """Decimals a price point has: the most any ending or the unit is written with."""
        exponents = (
            Decimal(repr(float(x))).normalize().as_tuple().exponent for x in (*self.endings, self.unit)
        )
        return max(0, *(-e for e in exponents if isinstance(e, int)))

    def snap(self, values: np.ndarray) -> np.ndarray:
        """Each value moved to the nearest price point, ties upwards; a positive value never below the
        first point above zero (no price becomes free or negative). Negative values are snapped by size
        and keep their sign (refunds), 0 and NaN stay. The move is at most half the gap between two
        neighbouring points, so a distribution wider than the gaps keeps its shape and nearly its mean."""
        unit, ends = self.unit, np.sort(np.asarray(self.endings, dtype=float))
        size = np.abs(values)
        whole = np.floor(size / unit) * unit
        rest = np.clip(size - whole, 0.0, np.nextafter(unit, 0))
        i = np.searchsorted(ends, rest, side="left")  # the first ending at or above the rest
        m = len(ends)
        up = np.where(i < m, whole + ends[np.minimum(i, m - 1)], whole + unit + ends[0])
        down = np.where(i > 0, whole + ends[np.maximum(i - 1, 0)], whole - unit + ends[-1])
        near = np.where((up - size <= size - down) | (down <= 0), up, down)
        out = np.where(size == 0, 0.0, np.sign(values) * near)
        return np.asarray(np.round(out, self.decimals))


class ModifierModel(Feature):
    """A modifier's descriptor: `transform` names it, `args` holds its arguments."""

    column_types: ClassVar[tuple[ColumnType, ...] | None] = None  # the column types it applies to
    time_argument: ClassVar[str | None] = None  # the argument naming the time column it reads
    influences: ClassVar[tuple[str, ...]] = ()  # what a composite_effect target may call it
    may_add_nulls: ClassVar[bool] = False  # can turn a value into a null

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("transform")
        if field is not None:
            cls.keyword = get_args(field.annotation)[0]

    def role(self, column: Column) -> Role:
        raise NotImplementedError

    def named_time_column(self) -> str | None:
        """The time column the schema names in its `time_argument`, if any."""
        return None

    def reads_time(self, column: Column) -> bool:
        """Whether, on `column`, it reads a time column of the row."""
        return self.time_argument is not None

    def time_source(self, node: Node, column: Column) -> tuple[str, str] | None:
        """(table, column) of the time it reads on `node`: the column it names — of the row itself, or
        of a parent row as `parent.column` (an order item read at its order's time) — else the table's
        first datetime column other than the column itself (the check step notes which it chose)."""
        if not self.reads_time(column):
            return None
        named = self.named_time_column()
        parent = split_ref(named) if named else None
        if parent is not None:
            return parent
        name = named or node.first_time_column(exclude=column.name)
        return (node.id, name) if name else None

    def time_column(self, node: Node, column: Column) -> str | None:
        """The column of the row itself it reads time from; None when it reads none, or a parent's."""
        source = self.time_source(node, column)
        return source[1] if source is not None and source[0] == node.id else None

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        """A parent's time column it reads, if it names one."""
        named = self.named_time_column()
        parent = split_ref(named) if named else None
        return [Read(*parent)] if parent is not None and parent[0] != node.id else []

    def local_columns(self, node: Node, column: Column) -> set[str]:
        """Columns of the same row it reads, so they are generated first."""
        time = self.time_column(node, column)
        return {time} if time else set()

    def sampling_pattern(self, column: Column) -> PatternSpec | None:
        """A pattern it adds to the sampling of the column's own times (a `datetime_series`)."""
        return None

    def influence(self) -> str | None:
        """The name a composite_effect target gives this modifier's influence (its one name, if any)."""
        return self.influences[0] if len(self.influences) == 1 else None


class Multiply(ModifierModel):
    column_types = NUMERIC
    transform: Literal["multiply"]
    args: MultiplyArgs

    def role(self, column: Column) -> Role:
        return Role.SCALES


class Add(ModifierModel):
    column_types = NUMERIC
    transform: Literal["add"]
    args: AddArgs

    def role(self, column: Column) -> Role:
        return Role.ADDS


class Clamp(ModifierModel):
    column_types = NUMERIC
    transform: Literal["clamp"]
    args: ClampArgs

    def role(self, column: Column) -> Role:
        return Role.CLIPS


class Jitter(ModifierModel):
    column_types = NUMERIC
    transform: Literal["jitter"]
    args: JitterArgs

    def role(self, column: Column) -> Role:
        return Role.SCALES if self.args.mode == "mul" else Role.ADDS


class MapValues(ModifierModel):
    may_add_nulls = True  # a value may map to null
    transform: Literal["map_values"]
    args: MapValuesArgs

    def role(self, column: Column) -> Role:
        return Role.RELABELS


class Seasonality(ModifierModel):
    # On a datetime column without a time column: one more sampling pattern of its own times. On a numeric
    # column: v × the weight of the row's time.
    column_types = (*NUMERIC, *TIME)
    time_argument = "time_column"
    influences = get_args(PatternSpec.model_fields["dimension"].annotation)
    transform: Literal["seasonality"]
    args: SeasonalityArgs

    def named_time_column(self) -> str | None:
        return self.args.time_column

    def shapes_sampling(self, column: Column) -> bool:
        return column.type in TIME and self.args.time_column is None

    def role(self, column: Column) -> Role:
        return Role.PLACES_IN_TIME if self.shapes_sampling(column) else Role.SCALES

    def reads_time(self, column: Column) -> bool:
        return not self.shapes_sampling(column)

    def sampling_pattern(self, column: Column) -> PatternSpec | None:
        return self.args if self.shapes_sampling(column) else None

    def influence(self) -> str | None:
        return self.args.dimension


class TimeJitter(ModifierModel):
    column_types = TIME
    transform: Literal["time_jitter"]
    args: TimeJitterArgs

    def role(self, column: Column) -> Role:
        return Role.PLACES_IN_TIME


class Effect(ModifierModel):
    # On a column: the value scaled (op mul) or shifted (op add) by the effect rows active at the row's time.
    # On a table (`Node.modifiers`): the fanout, read on the primary parent's row.
    column_types = NUMERIC
    time_argument = "time_column"
    transform: Literal["effect"]
    args: EffectArgs

    def named_time_column(self) -> str | None:
        return self.args.time_column

    def role(self, column: Column) -> Role:
        return Role.SCALES if self.args.map.op == "mul" else Role.ADDS

    def local_columns(self, node: Node, column: Column) -> set[str]:
        return super().local_columns(node, column) | set(self.args.on)

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        a = self.args
        columns = [*a.on.values(), a.window.start_col, a.window.end_col, a.map.field]
        effect = [Read(a.effect_table, c, whole_table=True) for c in dict.fromkeys(columns)]
        return [*effect, *super().reads(node, schema)]

    def row_time_column(self, row_node: Node) -> str | None:
        """The time column of `row_node` windows are matched at: the named one, else its first datetime
        column. A table-level effect reads it on the primary parent (the row whose fanout it scales)."""
        return self.args.time_column or row_node.first_time_column()

    def fanout_reads(self, node: Node, schema: Schema) -> list[Read]:
        """As a table-level effect of `node`: the effect table, and the keys and time of the parent."""
        parent = schema.node(node.primary_parent or "")
        if parent is None:
            return self.reads(node, schema)
        time = self.row_time_column(parent)
        own = [Read(parent.id, c) for c in [*self.args.on, *([time] if time else [])]]
        return [*self.reads(node, schema), *own]

    def influence(self) -> str | None:
        return self.args.effect_table


class Outliers(ModifierModel):
    # rate·n rows get v·(1+m) (spike) or v/(1+m) (drop); a burst spikes the rows inside one window of time
    # covering `rate` of the timeframe, so it reads the table's time.
    column_types = NUMERIC
    influences = ("outliers",)
    transform: Literal["outliers"]
    args: OutliersArgs

    def role(self, column: Column) -> Role:
        return Role.SPIKES

    def burst_time_column(self, node: Node, column: Column) -> str | None:
        return node.first_time_column(exclude=column.name) if self.args.mode == "burst" else None

    def local_columns(self, node: Node, column: Column) -> set[str]:
        time = self.burst_time_column(node, column)
        return {time} if time else set()


class Trend(ModifierModel):
    column_types = NUMERIC
    time_argument = "time_reference"
    influences = ("trend",)
    transform: Literal["trend"]
    args: TrendArgs

    def named_time_column(self) -> str | None:
        return self.args.time_reference

    def role(self, column: Column) -> Role:
        return Role.SCALES


class PricePoint(ModifierModel):
    # v moved to the nearest price point (a multiple of `unit` plus an ending): 19.99, 24.49, …
    column_types = NUMERIC
    transform: Literal["price_point"]
    args: PricePointArgs

    def role(self, column: Column) -> Role:
        return Role.SNAPS


Modifier = Annotated[
    Multiply
    | Add
    | Clamp
    | Jitter
    | MapValues
    | Seasonality
    | TimeJitter
    | Effect
    | Outliers
    | Trend
    | PricePoint,
    Field(discriminator="transform"),
]
MODIFIER_MODELS: tuple[type[ModifierModel], ...] = get_args(get_args(Modifier)[0])
MODIFIER_NAMES = tuple(m.keyword for m in MODIFIER_MODELS)
