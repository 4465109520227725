"""Column generators (docs/schema-language.md §4.1). A generator is an object with exactly one key
naming it: `{"sequence": {"start": 1}}`, `{"distribution": {"type": "normal", "params": {...}}}`, …

Each generator's model is its descriptor: which column types it fills, whether it draws values
independently per row, whether it can produce nulls of its own, and which columns it reads (of its own
row: `local_columns`; of other rows: `reads`)."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from datagen.dsl.base import (
    NUMERIC,
    ONE_OR_MANY,
    TIME,
    ColumnType,
    Feature,
    Read,
    Strict,
    one_or_many,
    parse_instant,
    split_ref,
)
from datagen.dsl.expressions import referenced_columns
from datagen.dsl.freq import checked_freq
from datagen.dsl.issues import allowed_list, did_you_mean
from datagen.dsl.limits import INT64_MAX, INT64_MIN
from datagen.dsl.units import TimeUnit
from datagen.errors import DatagenError

if TYPE_CHECKING:
    from datagen.dsl.models import Column, Node, Schema, Timeframe

Scalar = str | int | float | bool | None

# name -> (required params, optional params); values are checked for sign in `_check_param_values`.
DISTRIBUTION_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("mean", "std"), ()),
    "lognormal": (("mean", "sigma"), ()),
    "uniform": (("low", "high"), ()),
    "poisson": (("lambda",), ()),
    "beta": (("a", "b"), ()),
    "gamma": (("shape", "scale"), ()),
    "weibull": (("shape", "scale"), ()),
    "exponential": (("scale",), ()),
}
_POSITIVE = {"std", "sigma", "lambda", "a", "b", "shape", "scale"}
# Draws stay finite up to here (numpy returns inf past ~1.8e308, and refuses a Poisson lambda past ~9e18).
FINITE_LIMIT = 1e300
MAX_WEIGHT = 1e12  # relative weights; patterns multiply, so each stays far from overflow
# Rows a clamp's interval holds so little of that this many redraws miss it are left to the caller.
MAX_TRUNCATION_ROUNDS = 100

DistributionType = Literal[
    "normal", "lognormal", "uniform", "poisson", "beta", "gamma", "weibull", "exponential"
]


class Distribution(Strict):
    """A parametric distribution; parameter names are checked per type."""

    type: DistributionType
    params: dict[str, float] = Field(default_factory=dict)
    clamp: list[float | None] | None = Field(default=None, min_length=2, max_length=2)

    @field_validator("params", mode="after")
    @classmethod
    def _check_params(cls, params: dict[str, float], info: Any) -> dict[str, float]:
        kind = info.data.get("type")
        if kind not in DISTRIBUTION_PARAMS:
            return params
        required, optional = DISTRIBUTION_PARAMS[kind]
        expected = (*required, *optional)
        unknown = [k for k in params if k not in expected]
        if unknown:
            names = ", ".join(f"'{k}'{did_you_mean(k, expected)}" for k in unknown)
            raise ValueError(f"unknown key {names} for type '{kind}' (expected: {', '.join(expected)})")
        missing = [k for k in required if k not in params]
        if missing:
            raise ValueError(
                f"type '{kind}' needs {', '.join(repr(m) for m in missing)} (expected: {', '.join(expected)})"
            )
        bad = [k for k in params if k in _POSITIVE and not params[k] > 0]
        if bad:
            raise ValueError(f"{', '.join(repr(b) for b in bad)} must be > 0 for type '{kind}'")
        if kind == "uniform" and not params["low"] < params["high"]:
            raise ValueError(f"uniform needs low < high (got low={params['low']}, high={params['high']})")
        if problem := distribution_range_problem(kind, params):
            raise ValueError(problem)
        return params

    @field_validator("clamp", mode="after")
    @classmethod
    def _check_clamp(cls, clamp: list[float | None] | None) -> Any:
        if clamp and clamp[0] is not None and clamp[1] is not None and clamp[0] > clamp[1]:
            raise ValueError(f"clamp [min, max] needs min <= max (got {list(clamp)})")
        return clamp

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws, before any clamp: what each type and parameter means (log-space for lognormal's
        mean and sigma, numpy's shape for weibull, times the scale)."""
        p, kind = self.params, self.type
        if kind == "normal":
            return rng.normal(p["mean"], p["std"], n)
        if kind == "lognormal":
            return rng.lognormal(p["mean"], p["sigma"], n)
        if kind == "uniform":
            return rng.uniform(p["low"], p["high"], n)
        if kind == "poisson":
            return rng.poisson(p["lambda"], n).astype(float)
        if kind == "beta":
            return rng.beta(p["a"], p["b"], n)
        if kind == "gamma":
            return rng.gamma(p["shape"], p["scale"], n)
        if kind == "weibull":
            return rng.weibull(p["shape"], n) * p["scale"]
        return rng.exponential(p["scale"], n)

    @property
    def clamp_bounds(self) -> tuple[float, float]:
        """The clamp as [lo, hi], an open side as ∓inf (the whole line without a clamp)."""
        lo, hi = self.clamp or (None, None)
        return (-math.inf if lo is None else lo, math.inf if hi is None else hi)

    def sample_clamped(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws of the distribution truncated to its clamp: a draw outside is drawn again inside
        (`sample_within`), so no value piles up at a bound; only where the clamp holds too little of the
        distribution to reach is a value clipped to it."""
        values = self.sample(rng, n)
        if not self.clamp:
            return values
        lo, hi = self.clamp_bounds
        outside = np.flatnonzero((values < lo) | (values > hi))
        if len(outside):
            again = self.sample_within(rng, np.full(len(outside), lo), np.full(len(outside), hi))
            values[outside] = np.where(np.isnan(again), np.clip(values[outside], lo, hi), again)
        return values

    def sample_within(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """One draw per row from the distribution restricted to that row's [lo, hi] (±inf for an open
        side): by the inverse of the distribution function where it has a closed form (uniform,
        exponential, weibull), otherwise by drawing the rows still outside again, at most
        MAX_TRUNCATION_ROUNDS times. NaN where no draw lands inside (an interval holding next to none
        of the distribution, or none at all)."""
        n, p = len(lo), self.params
        if self.type == "uniform":
            a, b = np.maximum(lo, p["low"]), np.minimum(hi, p["high"])
            return np.where(a <= b, a + rng.random(n) * (b - a), np.nan)
        if self.type in ("exponential", "weibull"):
            # (x/scale)^shape is Exp(1): draw it truncated to [A, B], in log space so far tails stay exact.
            shape, scale = p.get("shape", 1.0), p["scale"]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                a = (np.maximum(lo, 0.0) / scale) ** shape
                span = (np.maximum(hi, 0.0) / scale) ** shape - a
                t = -np.log1p(-rng.random(n) * -np.expm1(-span))
                x = scale * (a + t) ** (1 / shape)
            ok = (span >= 0) & np.isfinite(x)
            return np.where(ok, np.clip(x, lo, hi), np.nan)
        out = np.full(n, np.nan)
        pending = np.arange(n)
        for _ in range(MAX_TRUNCATION_ROUNDS):
            if not len(pending):
                break
            x = self.sample(rng, len(pending))
            inside = (x >= lo[pending]) & (x <= hi[pending])
            out[pending[inside]] = x[inside]
            pending = pending[~inside]
        return out


def distribution_range_problem(kind: str, p: dict[str, float]) -> str | None:
    """Why draws from these parameters would not be finite numbers (None when they are): each rule
    bounds the value about six to ten standard deviations out, where a draw can still land."""
    limit = f"{FINITE_LIMIT:g}"
    if kind == "normal" and abs(p["mean"]) + 10 * p["std"] > FINITE_LIMIT:
        return f"normal draws reach ±inf: |mean| + 10·std must be <= {limit}"
    if kind == "lognormal" and p["mean"] + 6 * p["sigma"] > 690:
        return (
            "lognormal draws reach inf: mean + 6·sigma must be <= 690 (mean and sigma are on the log "
            "scale: the median is exp(mean), e.g. mean 3 gives about 20)"
        )
    if kind == "uniform" and max(abs(p["low"]), abs(p["high"])) > FINITE_LIMIT:
        return f"uniform low and high must be within ±{limit}"
    if kind == "poisson" and p["lambda"] > 1e18:
        return "poisson lambda must be <= 1e18 (the largest mean numpy can draw from)"
    if kind == "beta" and max(p["a"], p["b"]) > 1e15:
        return "beta a and b must be <= 1e15 (larger ones only give 0)"
    if kind == "gamma" and (p["shape"] + 10 * math.sqrt(p["shape"]) + 10) * p["scale"] > FINITE_LIMIT:
        return f"gamma draws reach inf: (shape + 10·sqrt(shape) + 10)·scale must be <= {limit}"
    if kind == "weibull" and math.log(p["scale"]) + math.log(50) / p["shape"] > math.log(FINITE_LIMIT):
        return "weibull draws reach inf: a shape this small (or scale this large) has no finite tail"
    if kind == "exponential" and 50 * p["scale"] > FINITE_LIMIT:
        return f"exponential scale must be <= {FINITE_LIMIT / 50:g}"
    return None


def distribution_median(kind: str, p: dict[str, float]) -> float:
    """The median draw (for a typical value: a median outside a column's range means most values are)."""
    medians: dict[str, Callable[[], float]] = {
        "normal": lambda: p["mean"],
        "lognormal": lambda: math.exp(p["mean"]) if p["mean"] <= 709 else math.inf,
        "uniform": lambda: (p["low"] + p["high"]) / 2,
        "poisson": lambda: p["lambda"],
        "beta": lambda: 0.5,
        "gamma": lambda: p["shape"] * p["scale"],
        "weibull": lambda: p["scale"] * math.log(2) ** (1 / p["shape"]),
        "exponential": lambda: p["scale"] * math.log(2),
    }
    return medians[kind]()


class SequenceArgs(Strict):
    start: int = Field(default=1, ge=INT64_MIN, le=INT64_MAX)
    step: int = Field(default=1, ge=INT64_MIN, le=INT64_MAX)

    @field_validator("step")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("step must not be 0 (keys would repeat)")
        return v


_WEIGHTS_KIND = re.compile(
    r"uniform|zipf@(?P<alpha>\d{1,6}(\.\d{1,12})?)|head_tail@\{(?P<head>0?\.\d{1,12}|1(\.0+)?|0),"
    r"(?P<tail>\d{1,6}(\.\d{1,12})?)\}",
    re.ASCII,
)


def parse_weights_kind(kind: str) -> tuple[str, tuple[float, ...]]:
    """'zipf@1.2' -> ('zipf', (1.2,)); 'head_tail@{0.6,1.1}' -> ('head_tail', (0.6, 1.1))."""
    m = _WEIGHTS_KIND.fullmatch(kind.replace(" ", ""))
    if not m:
        raise ValueError(
            f"weights_kind '{kind}' is not one of: 'uniform', 'zipf@<alpha>' (e.g. 'zipf@1.1'), "
            "'head_tail@{<head_share>,<tail_alpha>}' (e.g. 'head_tail@{0.6,1.2}')"
        )
    if m.group("alpha"):
        return "zipf", (float(m.group("alpha")),)
    if m.group("head"):
        return "head_tail", (float(m.group("head")), float(m.group("tail")))
    return "uniform", ()


class ChoiceArgs(Strict):
    choices: list[Scalar] | None = None
    choices_ref: str | None = None
    weights: list[float] | None = None
    weights_kind: str | None = None

    @field_validator("weights_kind")
    @classmethod
    def _kind(cls, v: str | None) -> str | None:
        if v is not None:
            parse_weights_kind(v)
        return v

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ChoiceArgs:
        if (self.choices is None) == (self.choices_ref is None):
            raise ValueError("give exactly one of 'choices' (a list) or 'choices_ref' ('table.column')")
        if self.choices is not None and len(self.choices) == 0:
            raise ValueError("'choices' is empty; list at least one value")
        if self.weights is not None and self.weights_kind is not None:
            raise ValueError("give 'weights' or 'weights_kind', not both")
        if self.weights is not None and self.choices is not None and len(self.weights) != len(self.choices):
            raise ValueError(
                f"{len(self.weights)} weights for {len(self.choices)} choices; give one weight per choice"
            )
        if self.weights is not None:
            if any(w < 0 for w in self.weights):
                raise ValueError("weights must be >= 0")
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be 0")
            if max(self.weights) > MAX_WEIGHT:
                raise ValueError(f"weights are relative; each must be <= {MAX_WEIGHT:g} (scale them down)")
        return self


PATTERN_LENGTHS = {"hour": 24, "dow": 7, "month": 12}


class PatternSpec(Strict):
    """A sampling pattern over one calendar dimension (hour: 24, dow: 7 Monday first, month: 12)."""

    dimension: Literal["hour", "dow", "month"]
    weights: list[float]

    @field_validator("weights")
    @classmethod
    def _nonneg(cls, v: list[float]) -> list[float]:
        if any(w < 0 for w in v) or sum(v) <= 0:
            raise ValueError("weights must be >= 0 and not all 0")
        if max(v) > MAX_WEIGHT:
            raise ValueError(f"weights are relative; each must be <= {MAX_WEIGHT:g} (scale them down)")
        return v

    @model_validator(mode="after")
    def _length(self) -> PatternSpec:
        need = PATTERN_LENGTHS[self.dimension]
        if len(self.weights) != need:
            order = " (Monday first)" if self.dimension == "dow" else ""
            raise ValueError(
                f"a '{self.dimension}' pattern needs {need} weights{order}; found {len(self.weights)}"
            )
        return self


class Window(Strict):
    """`within` as a window: each side an ISO-8601 instant (the same for every row) or a
    `table.column` of a related row (each row's own window, docs/schema-language.md §10.4)."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _instant_or_ref(cls, v: str) -> str:
        from datagen.dsl.models import checked_instant  # models imports this module

        if window_ref(v) is not None:
            return v
        try:
            return checked_instant(v)
        except ValueError as exc:
            raise ValueError(f"{exc}, or a column of a related row as 'table.column'") from None

    def side(self, which: Literal["start", "end"]) -> tuple[str, str] | None:
        """The `table.column` a side reads, or None when it is an instant."""
        return window_ref(getattr(self, which))


_REF = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def window_ref(value: str) -> tuple[str, str] | None:
    """`table.column` as a pair; None for anything else (an ISO instant such as "2024-01-01T00:00:00.5Z"
    also has one dot, but its parts are not identifiers)."""
    return split_ref(value) if _REF.fullmatch(value) else None


class BassCurve(Strict):
    """Bass diffusion: the share adopted by t is (1 − e^−(p+q)t) / (1 + (q/p)·e^−(p+q)t), t in
    `time_unit`s from the window start."""

    type: Literal["bass"]
    p: float = Field(gt=0, le=1)
    q: float = Field(ge=0, le=100)
    time_unit: TimeUnit = "year"

    def adopted(self, t: np.ndarray) -> np.ndarray:
        """F(t): the share adopted by t (in `time_unit`s, t >= 0)."""
        e = np.exp(-(self.p + self.q) * np.maximum(t, 0.0))
        return np.asarray((1 - e) / (1 + self.q / self.p * e))


class LogisticCurve(Strict):
    """A logistic S-curve: the share adopted by t is 1 / (1 + e^−k(t − midpoint)), k per year."""

    type: Literal["logistic"]
    midpoint: str
    steepness_per_year: float = Field(gt=0, le=1000)

    @field_validator("midpoint")
    @classmethod
    def _iso(cls, v: str) -> str:
        from datagen.dsl.models import checked_instant  # models imports this module

        return checked_instant(v)

    def adopted_at(self, years_from_midpoint: np.ndarray) -> np.ndarray:
        z = np.clip(self.steepness_per_year * years_from_midpoint, -700, 700)
        return np.asarray(1 / (1 + np.exp(-z)))


DiffusionCurve = Annotated[BassCurve | LogisticCurve, Field(discriminator="type")]


class DatetimeSeriesArgs(Strict):
    within: Literal["timeframe"] | Window = "timeframe"
    freq: str | None = None
    pattern: list[PatternSpec] = Field(default_factory=list, json_schema_extra=ONE_OR_MANY)
    curve: DiffusionCurve | None = None
    # Values exactly on the grid (daily snapshots, month starts) instead of an instant inside a cell.
    snap: bool = False
    # A regular fact's time: the start of the period its row belongs to (docs/schema-language.md §10.5).
    slot: bool = False

    @field_validator("freq")
    @classmethod
    def _freq(cls, v: str | None) -> str | None:
        return checked_freq(v)

    @field_validator("pattern", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return one_or_many(v)

    @field_validator("pattern", mode="after")
    @classmethod
    def _none_is_empty(cls, v: list[PatternSpec] | None) -> list[PatternSpec]:
        return v or []


class FakerArgs(Strict):
    method: str
    args: dict[str, Any] | None = None
    locale: str | None = None
    locale_from: str | None = None
    unique: bool = False
    # Columns of the same row the value is built from: a full name (or first and last name) for the
    # email methods, first and last name for `name`.
    from_: str | list[str] | None = Field(None, alias="from")

    @model_validator(mode="after")
    def _one_locale(self) -> FakerArgs:
        if self.locale and self.locale_from:
            raise ValueError("give 'locale' (fixed) or 'locale_from' (a column), not both")
        return self

    @property
    def sources(self) -> list[str]:
        """The `from` columns as a list (empty without `from`)."""
        if self.from_ is None:
            return []
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)


class LookupArgs(Strict):
    """`pick` "unique": the one source row whose `on` keys equal this row's (a join on a unique key);
    "random": a random source row among those whose `on` keys equal this row's (a scoped pick), or,
    without `on`, a random row of the whole table (what a lookup into another table does anyway; from
    the table the row is born from, a row other than its parent).
    Hint: a manager in the same department is a self-reference with `on` and "pick": "random" (a
    random earlier row with the same key; nullable: the first of each key has none); a call's callee is
    {"from": "subscribers.msisdn", "pick": "random"} on calls born from subscribers (another
    subscriber; without "pick", the caller's own)."""

    from_: str = Field(alias="from")
    on: dict[str, str] | None = None
    pick: Literal["unique", "random"] = "unique"

    @property
    def scoped(self) -> bool:
        """A random pick among the rows matching `on` (not a join on a unique key)."""
        return self.pick == "random" and bool(self.on)


class ExpressionArgs(Strict):
    code: str


class StateAtArgs(Strict):
    walk: str
    at: str = "end"

    @property
    def at_end(self) -> bool:
        """The latest state the walk entered (else: the state at the time in the column `at`)."""
        return self.at == "end"


RollupAgg = Literal["sum", "count", "mean", "min", "max", "first", "last"]
ROLLUP_ORDERED: tuple[RollupAgg, ...] = ("first", "last")  # aggregates that follow `order_by`


class RollupArgs(Strict):
    """One value per row from its children (docs/schema-language.md §10.4): `agg` over the child
    column `from` of the rows whose primary parent is this row, keeping those where `where` holds."""

    from_: str = Field(alias="from")
    agg: RollupAgg
    where: str | None = None
    default: Scalar = None
    order_by: str | None = None

    @model_validator(mode="after")
    def _order_only_for_first_last(self) -> RollupArgs:
        if self.order_by is not None and self.agg not in ROLLUP_ORDERED:
            raise ValueError(
                f"order_by decides which child is first or last; agg '{self.agg}' does not use it, "
                "so drop order_by (or use agg 'first' or 'last')"
            )
        return self

    @property
    def empty_value(self) -> Scalar:
        """The value of a row without (matching) children: `default`, else 0 for sum and count (an empty
        sum), else null."""
        if self.default is not None:
            return self.default
        return 0 if self.agg in ("sum", "count") else None

    @property
    def ordered(self) -> bool:
        return self.agg in ROLLUP_ORDERED

    def order_column(self, child: Node) -> str | None:
        """The child column first/last follow: `order_by`, else the child's first datetime column."""
        return self.order_by or child.first_time_column()


RunningAgg = Literal["sum", "count", "mean", "min", "max"]


class RunningArgs(Strict):
    """A running value over the rows of the same primary-parent row, in `order_by` order (ties by key):
    after each row, `agg` of `of` over that row and every earlier one; a sum starts at `start`."""

    of: str
    agg: RunningAgg = "sum"
    order_by: str
    start: str | None = None

    @model_validator(mode="after")
    def _start_only_for_sums(self) -> RunningArgs:
        if self.start is not None and self.agg != "sum":
            raise ValueError(
                f"start is the value before the first row, which only a running sum adds to; drop "
                f"start or use agg 'sum' (found agg '{self.agg}')"
            )
        return self


class EnumListArgs(Strict):
    values: list[Scalar]

    @field_validator("values")
    @classmethod
    def _nonempty(cls, v: list[Scalar]) -> list[Scalar]:
        if not v:
            raise ValueError("'values' is empty; list at least one value")
        return v


class GeneratorModel(Feature):
    """A generator's descriptor. Its one field holds the arguments and names it (`keyword`)."""

    column_types: ClassVar[tuple[ColumnType, ...] | None] = None  # the column types it fills; None: any
    random: ClassVar[bool] = False  # each row draws its value independently (so not in a vocab table)
    may_add_nulls: ClassVar[bool] = False  # a null in what it reads, or an undefined result, is a null
    # Computed when the table is finished, after its other columns and after the tables it summarises
    # (its `deferred_reads`), from the values as written: a relation that must hold exactly.
    deferred: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        names = [n for n in cls.model_fields if n != "comment"]
        if len(names) == 1:
            cls.keyword = names[0]

    @property
    def args(self) -> Strict:
        """The arguments object (`{"start": 1}` of `{"sequence": {"start": 1}}`)."""
        value = getattr(self, self.keyword)
        assert isinstance(value, Strict)
        return value

    def local_columns(self, column: str) -> set[str]:
        """Columns of the same row it reads, so they are generated first."""
        return set()

    def always_distinct(self) -> bool:
        """Whether no two rows of a table can get the same value (a join on it is unambiguous)."""
        return False

    def deferred_reads(self, node: Node, schema: Schema) -> list[Read]:
        """Columns of tables generated after `node` that a deferred generator summarises (its own
        children): they order the table's finishing, not its generation."""
        return []

    def deferred_on(self, node: Node) -> bool:
        """Whether it is computed when `node` is finished (`deferred`; a lookup decides per table)."""
        return self.deferred


class SequenceGen(GeneratorModel):
    column_types = ("int", "string")
    sequence: SequenceArgs = Field(default_factory=SequenceArgs)

    @property
    def args(self) -> SequenceArgs:
        return self.sequence

    def always_distinct(self) -> bool:
        return True


class ChoiceGen(GeneratorModel):
    random = True
    choice: ChoiceArgs

    @property
    def args(self) -> ChoiceArgs:
        return self.choice

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        # every distinct value of the source is a choice, so its whole table matters
        return Read.of(self.choice.choices_ref, whole_table=True) if self.choice.choices_ref else []


class DistributionGen(GeneratorModel):
    column_types = NUMERIC
    random = True
    distribution: Distribution

    @property
    def args(self) -> Distribution:
        return self.distribution


class DatetimeSeriesGen(GeneratorModel):
    column_types = TIME
    random = True
    datetime_series: DatetimeSeriesArgs

    @property
    def args(self) -> DatetimeSeriesArgs:
        return self.datetime_series

    def window(self, timeframe: Timeframe) -> tuple[datetime, datetime]:
        """[start, end) the times are drawn in, the same for every row: the timeframe's, or the series'
        own `within` (a side that reads a related row is the timeframe's there; the row's own value
        narrows it, see `related_window`)."""
        within = self.datetime_series.within
        if not isinstance(within, Window):
            return timeframe.start_dt, timeframe.end_dt
        start = timeframe.start_dt if within.side("start") else parse_instant(within.start)
        end = timeframe.end_dt if within.side("end") else parse_instant(within.end)
        return start, end

    def related_window(self) -> list[tuple[Literal["lo", "hi"], tuple[str, str]]]:
        """The sides of `within` read from a related row: ("lo", start) — never before it — and
        ("hi", end) — always before it (the end is exclusive)."""
        within = self.datetime_series.within
        if not isinstance(within, Window):
            return []
        out: list[tuple[Literal["lo", "hi"], tuple[str, str]]] = []
        if (start := within.side("start")) is not None:
            out.append(("lo", start))
        if (end := within.side("end")) is not None:
            out.append(("hi", end))
        return out

    def snapped(self, column_type: ColumnType) -> bool:
        """Values on the grid itself: `snap`, a regular fact's `slot`, or a `date` column (a day)."""
        args = self.datetime_series
        return args.snap or args.slot or column_type == "date"

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        return [Read(*ref) for _, ref in self.related_window() if ref[0] != node.id]

    def freq(self, timeframe: Timeframe, column_type: ColumnType) -> str:
        """The grid step: the series' own, else the timeframe's, else a day (dates) or a second."""
        return self.datetime_series.freq or timeframe.freq or ("D" if column_type == "date" else "s")

    def patterns(self, column: Column) -> list[PatternSpec]:
        """Every sampling pattern of the column: the series' own and those of modifiers that shape it
        (a `seasonality` without a time column); their weights multiply."""
        found = [m.sampling_pattern(column) for m in column.modifiers]
        return [*self.datetime_series.pattern, *(p for p in found if p is not None)]


class FakerGen(GeneratorModel):
    random = True
    faker: FakerArgs

    @property
    def args(self) -> FakerArgs:
        return self.faker

    def local_columns(self, column: str) -> set[str]:
        return {c for c in (self.faker.locale_from, *self.faker.sources) if c}

    def always_distinct(self) -> bool:
        return self.faker.unique


class LookupGen(GeneratorModel):
    may_add_nulls = True
    lookup: LookupArgs

    @property
    def args(self) -> LookupArgs:
        return self.lookup

    @property
    def source(self) -> tuple[str, str] | None:
        """(table, column) the values come from; None when `from` is not of that form."""
        return split_ref(self.lookup.from_)

    def local_columns(self, column: str) -> set[str]:
        return set(self.lookup.on or {})

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        source = self.source
        if source is None:
            return []
        keys = [Read(source[0], key) for key in (self.lookup.on or {}).values()]
        return [Read(*source), *keys]

    def deferred_on(self, node: Node) -> bool:
        """A random earlier row of its own table with the same `on` values: that row may be in any
        earlier block, so the pick waits until every row of the table is generated."""
        return self.lookup.scoped and self.source is not None and self.source[0] == node.id

    def picks_another_row(self, node: Node) -> bool:
        """`"pick": "random"` without `on` from the table `node` is born from: a random row of it other
        than the row's own parent (a callee among subscribers), not the related row, so neither its key
        nor a copy of its values."""
        lookup = self.lookup
        return (
            lookup.pick == "random"
            and not lookup.on
            and self.source is not None
            and (self.source[0] == node.primary_parent)
        )

    def is_key_into(self, schema: Schema) -> bool:
        """Copies another table's primary key (a foreign key, or a self-reference)."""
        source = self.source
        target = schema.node(source[0]) if source else None
        return source is not None and target is not None and target.pk == source[1]


class RollupGen(GeneratorModel):
    may_add_nulls = True  # a row without children and no default is null
    deferred = True
    rollup: RollupArgs

    @property
    def args(self) -> RollupArgs:
        return self.rollup

    @property
    def source(self) -> tuple[str, str] | None:
        """(child table, column) summarised; None when `from` is not of that form."""
        return split_ref(self.rollup.from_)

    def child_columns(self, child: Node) -> list[str]:
        """The child's columns the rollup reads: the summarised one, those of `where`, the order (and the
        key, which breaks ties)."""
        assert self.source is not None
        names = [self.source[1]]
        if self.rollup.where:
            with contextlib.suppress(DatagenError):
                names += sorted(referenced_columns(self.rollup.where))
        if self.rollup.ordered and (order := self.rollup.order_column(child)):
            names += [order, *([child.pk] if child.pk else [])]  # ties go by key
        return list(dict.fromkeys(names))

    def deferred_reads(self, node: Node, schema: Schema) -> list[Read]:
        source = self.source
        child = schema.node(source[0]) if source else None
        if source is None or child is None:
            return []
        return [Read(child.id, c) for c in self.child_columns(child)]


class RunningGen(GeneratorModel):
    column_types = NUMERIC
    may_add_nulls = True  # before the first non-null value, a running min/max/mean is null
    deferred = True  # a parent's rows may span blocks: computed once they are all generated
    running: RunningArgs

    @property
    def args(self) -> RunningArgs:
        return self.running

    def local_columns(self, column: str) -> set[str]:
        return {self.running.of, self.running.order_by}

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        return Read.of(self.running.start) if self.running.start else []


class ExpressionGen(GeneratorModel):
    may_add_nulls = True
    expression: ExpressionArgs

    @property
    def args(self) -> ExpressionArgs:
        return self.expression

    def local_columns(self, column: str) -> set[str]:
        with contextlib.suppress(DatagenError):  # a syntax error is the checker's to report
            return referenced_columns(self.expression.code)
        return set()


class EnumListGen(GeneratorModel):
    enum_list: EnumListArgs

    @property
    def args(self) -> EnumListArgs:
        return self.enum_list

    def always_distinct(self) -> bool:
        values = self.enum_list.values
        return len(set(map(str, values))) == len(values)


class StateAtGen(GeneratorModel):
    """The state a walk of this row's parent (or of this row itself, on an entity) was in at a time."""

    column_types = ("string",)
    state_at: StateAtArgs

    @property
    def args(self) -> StateAtArgs:
        return self.state_at

    def local_columns(self, column: str) -> set[str]:
        return set() if self.state_at.at_end else {self.state_at.at}


GENERATOR_MODELS: dict[str, type[GeneratorModel]] = {
    m.keyword: m
    for m in (
        SequenceGen,
        ChoiceGen,
        DistributionGen,
        DatetimeSeriesGen,
        FakerGen,
        LookupGen,
        ExpressionGen,
        EnumListGen,
        StateAtGen,
        RollupGen,
        RunningGen,
    )
}


def _generator_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in value if k != "comment"]
        return keys[0] if len(keys) == 1 and keys[0] in GENERATOR_MODELS else None
    return value.keyword if isinstance(value, GeneratorModel) else None


def generator_shape_problem(value: Any) -> str | None:
    """Why a raw generator is not `{<one generator name>: {...}}`, in words that say how to fix it."""
    names = list(GENERATOR_MODELS)
    example = 'e.g. {"sequence": {"start": 1}} or {"choice": {"choices": ["a", "b"]}}'
    if not isinstance(value, dict):
        return f"a generator is an object with exactly one key naming it ({allowed_list(names)}); {example}"
    keys = [k for k in value if k != "comment"]
    if "type" in keys and isinstance(value.get("type"), str) and value["type"] in GENERATOR_MODELS:
        t = value["type"]
        return f'write the generator as {{"{t}": {{...arguments...}}}} instead of {{"type": "{t}", ...}}'
    if len(keys) != 1:
        found = ", ".join(repr(k) for k in keys) or "no key"
        return (
            f"a generator has exactly one key naming it (found {found}); "
            f"allowed: {allowed_list(names)}; {example}"
        )
    key = keys[0]
    if key not in GENERATOR_MODELS:
        return f"unknown generator '{key}'{did_you_mean(key, names)} (expected one of: {allowed_list(names)})"
    return None


Generator = Annotated[
    Annotated[SequenceGen, Tag("sequence")]
    | Annotated[ChoiceGen, Tag("choice")]
    | Annotated[DistributionGen, Tag("distribution")]
    | Annotated[DatetimeSeriesGen, Tag("datetime_series")]
    | Annotated[FakerGen, Tag("faker")]
    | Annotated[LookupGen, Tag("lookup")]
    | Annotated[ExpressionGen, Tag("expression")]
    | Annotated[EnumListGen, Tag("enum_list")]
    | Annotated[StateAtGen, Tag("state_at")]
    | Annotated[RollupGen, Tag("rollup")]
    | Annotated[RunningGen, Tag("running")],
    Discriminator(
        _generator_tag,
        custom_error_type="generator_kind",
        custom_error_message="a generator is an object with exactly one key naming it",
    ),
]
