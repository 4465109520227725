"""The schema models (docs/schema-language.md §2–8): a schema, its tables and their columns. Shape and
local rules only; cross-references live in checks/. The features (generators, modifiers, behaviour
blocks, targets) are in modules of their own, each model its feature's descriptor."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from datagen.dsl.base import TIME, ColumnType, Read, Strict, parse_instant
from datagen.dsl.behaviours import (
    ActiveIn,
    Activity,
    Attribution,
    BehaviourBlock,
    Lifetime,
    SegmentBehavior,
    StageConfig,
    StateTransitionModel,
    VintageBehavior,
    WalkBlock,
)
from datagen.dsl.expressions import expression_problems, referenced_columns
from datagen.dsl.freq import checked_freq
from datagen.dsl.generators import EnumListGen, Generator, Scalar, generator_shape_problem
from datagen.dsl.limits import MAX_IDENTIFIER, MAX_ROWS, instant_problem, regex_problem, shown
from datagen.dsl.modifiers import Effect, Modifier
from datagen.dsl.targets import Targets

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)  # always with fullmatch: `$` accepts "id\n"
SUPPORTED_VERSIONS = ("1.0", "1.1")
__all__ = ["Column", "ColumnType", "Node", "Schema", "Targets", "parse_instant"]


def identifier_problem(value: str, what: str) -> str | None:
    """Why `value` cannot name a table or column: it becomes a file name and an SQL name."""
    if len(value) > MAX_IDENTIFIER:
        return (
            f"{what} '{value[:20]}…' is {len(value)} characters long; the limit is {MAX_IDENTIFIER} "
            "(it becomes a file or field name)"
        )
    if not IDENT.fullmatch(value):
        return f"{what} {shown(value)} must match [A-Za-z_][A-Za-z0-9_]* (letters, digits, underscore)"
    return None


def checked_instant(value: str) -> str:
    """For validators: an ISO-8601 timestamp inside the supported range, or ValueError saying why."""
    try:
        moment = parse_instant(value)
    except (ValueError, OverflowError):
        raise ValueError(
            f"{shown(value)} is not an ISO-8601 date or timestamp (e.g. 2024-01-01T00:00:00Z)"
        ) from None
    if problem := instant_problem(moment, value):
        raise ValueError(problem)
    return value


class Metadata(Strict):
    """Free-form beyond `name` (v1 schemas carry owners, tags, dates…)."""

    model_config = ConfigDict(extra="allow")
    name: str
    description: str | None = None


class Timeframe(Strict):
    start: str
    end: str
    freq: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _iso(cls, v: str) -> str:
        return checked_instant(v)

    @field_validator("freq")
    @classmethod
    def _freq(cls, v: str | None) -> str | None:
        return checked_freq(v)

    @model_validator(mode="after")
    def _ordered(self) -> Timeframe:
        if parse_instant(self.start) >= parse_instant(self.end):
            raise ValueError(f"timeframe start ({self.start}) must be before end ({self.end})")
        return self

    @property
    def start_dt(self) -> datetime:
        return parse_instant(self.start)

    @property
    def end_dt(self) -> datetime:
        return parse_instant(self.end)


def _compiles(regex: str) -> str:
    """The validator matches patterns in DuckDB, whose engine (RE2) has no lookaround or
    back-references; a regex is checked by that engine itself, so what passes here can run there."""
    try:
        re.compile(regex)
    except re.error as exc:
        raise ValueError(f"regex '{regex}' does not compile: {exc}") from None
    if problem := regex_problem(regex):
        raise ValueError(problem)
    return regex


Regex = Annotated[str, AfterValidator(_compiles)]


class ColumnConstraints(Strict):
    pattern: Regex | None = None
    enum: list[Scalar] | None = None
    enum_ref: str | None = None


MAX_DECIMALS = 12  # a float64 holds about 15 significant digits; more would only round noise


class Column(Strict):
    name: str
    type: ColumnType
    description: str | None = None
    nullable: bool = False
    null_rate: float = Field(default=0.0, ge=0, le=1)
    generator: Generator
    modifiers: list[Modifier] = Field(default_factory=list)
    constraints: ColumnConstraints | None = None
    # Rounds a float column to this many decimals once its value is final (money in cents: 2), so every
    # later column and the file read the value as written.
    decimals: int | None = Field(default=None, ge=0, le=MAX_DECIMALS)
    # A hidden helper (false): generated and read by other columns, never written.
    output: bool = True

    @field_validator("name")
    @classmethod
    def _ident(cls, v: str) -> str:
        if problem := identifier_problem(v, "column name"):
            raise ValueError(problem)
        return v

    @field_validator("generator", mode="before")
    @classmethod
    def _generator_shape(cls, v: Any) -> Any:
        problem = generator_shape_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _null_rate_needs_nullable(self) -> Column:
        if self.null_rate > 0 and not self.nullable:
            raise ValueError(
                f"null_rate {self.null_rate} is set but nullable is false; "
                'add "nullable": true or drop null_rate'
            )
        return self

    @model_validator(mode="after")
    def _decimals_on_floats(self) -> Column:
        if self.decimals is not None and self.type != "float":
            raise ValueError(
                f"decimals rounds float columns; '{self.name}' is {self.type}"
                + (" (its values are whole numbers already)" if self.type == "int" else "")
                + "; drop decimals or make the column a float"
            )
        return self

    @property
    def kind(self) -> str:
        """The generator's keyword (`sequence`, `lookup`, …), for messages."""
        return self.generator.keyword

    @property
    def may_add_nulls(self) -> bool:
        """Its generator or a modifier can produce nulls beyond the declared null_rate."""
        return self.generator.may_add_nulls or any(m.may_add_nulls for m in self.modifiers)


def _legacy_keys(schema: dict[str, Any]) -> None:
    """The check step reads v1's `lam` as `lambda` (load.py); editors must not flag what it accepts."""
    for old, new in Fanout.LEGACY_KEYS.items():
        schema["properties"][old] = {
            "type": "number",
            "minimum": 0,
            "deprecated": True,
            "description": f"v1 spelling of '{new}'",
        }


class Fanout(Strict):
    """Children per row of the primary parent (docs/schema-language.md §5): a count drawn from a
    distribution (or a `constant`), only for parents where `where` holds, and with `every` that many
    per period of the parent's life (§10.5)."""

    model_config = ConfigDict(json_schema_extra=_legacy_keys)
    LEGACY_KEYS: ClassVar[dict[str, str]] = {"lam": "lambda"}  # v1's spelling, read by the check step

    distribution: Literal["poisson", "uniform", "negative_binomial", "constant"] = "poisson"
    # Children per parent are bounded like a table's rows; below a dispersion of 1e-4 the negative
    # binomial's tail is beyond what can be drawn.
    lambda_: float | None = Field(default=None, alias="lambda", ge=0, le=MAX_ROWS)
    dispersion: float | None = Field(default=None, ge=1e-4)
    min: int | None = Field(default=None, ge=0, le=MAX_ROWS)
    max: int | None = Field(default=None, ge=0, le=MAX_ROWS)
    count: int | None = Field(default=None, ge=0, le=MAX_ROWS)  # `constant`: children per parent
    where: str | None = None  # an expression over the parent's columns; other parents get none
    every: str | None = None  # a pandas alias: the count is per period of the parent's life

    @model_validator(mode="before")
    @classmethod
    def _constant_by_default(cls, data: Any) -> Any:
        """`count` alone, or `every` without a distribution's parameters, is a constant count."""
        if isinstance(data, dict) and "distribution" not in data:
            params = ("lambda", "lambda_", "lam", "min", "max", "dispersion")
            if "count" in data or ("every" in data and not any(k in data for k in params)):
                return {**data, "distribution": "constant"}
        return data

    @field_validator("every")
    @classmethod
    def _every(cls, v: str | None) -> str | None:
        return checked_freq(v)

    @field_validator("where")
    @classmethod
    def _where(cls, v: str | None) -> str | None:
        if v is not None and (problems := expression_problems(v, None)):
            raise ValueError("; ".join(p.message for p in problems))
        return v

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        """Columns of the parent row the count is drawn from: those `where` tests, and the parent's life
        when the count is per period."""
        parent = schema.node(node.primary_parent or "")
        if parent is None:
            return []
        names = set(referenced_columns(self.where)) if self.where else set()
        if self.every:
            names |= {c for c in (parent.life_start_column(), parent.life_end_column()) if c}
        return [Read(parent.id, c) for c in sorted(names) if parent.column(c) is not None]

    @property
    def constant_count(self) -> int:
        """Children per parent (per period with `every`) of a `constant` fanout: `count`, else 1."""
        return 1 if self.count is None else self.count

    @property
    def mean(self) -> float:
        """Children per parent (per period with `every`) before any multiplier or min/max: lambda,
        the constant count, or the middle of [min, max]."""
        if self.distribution == "constant":
            return float(self.constant_count)
        if self.lambda_ is not None:
            return self.lambda_
        assert self.min is not None and self.max is not None  # a uniform fanout has both
        return (self.min + self.max) / 2

    @model_validator(mode="after")
    def _params(self) -> Fanout:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"fanout min ({self.min}) must be <= max ({self.max})")
        if self.distribution in ("poisson", "negative_binomial") and self.lambda_ is None:
            raise ValueError(
                f"fanout distribution '{self.distribution}' needs 'lambda' (mean children per parent)"
            )
        if self.distribution == "uniform" and (self.min is None or self.max is None):
            raise ValueError("fanout distribution 'uniform' needs 'min' and 'max'")
        if self.distribution == "constant" and (self.lambda_ is not None or self.dispersion is not None):
            raise ValueError(
                "a constant fanout has exactly 'count' children per parent (default 1); drop "
                "'lambda' and 'dispersion', or use distribution 'poisson' for a random count"
            )
        if self.count is not None and self.distribution != "constant":
            raise ValueError(
                f"'count' is the number of children of a constant fanout; with distribution "
                f'\'{self.distribution}\' drop it, or write "distribution": "constant"'
            )
        return self


class Node(Strict):
    id: str
    kind: Literal["entity", "fact", "vocab"]
    description: str | None = None
    pk: str | None = None
    rows: int | None = None
    parents: list[str] | None = None
    fanout: Fanout | None = None
    columns: list[Column] = Field(min_length=1)
    modifiers: list[Effect] = Field(default_factory=list)
    segment_behavior: SegmentBehavior | None = None
    vintage_behavior: VintageBehavior | None = None
    stage_config: StageConfig | None = None
    state_transition_model: StateTransitionModel | None = None
    lifetime: Lifetime | None = None
    activity: Activity | None = None
    active_in: ActiveIn | None = None
    attribution: Attribution | None = None

    DEFAULT_ROWS: ClassVar[int] = 1000

    @field_validator("id")
    @classmethod
    def _ident(cls, v: str) -> str:
        if problem := identifier_problem(v, "table id"):
            raise ValueError(problem)
        return v

    @field_validator("rows")
    @classmethod
    def _rows(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError(f"rows must be >= 0 (got {v})")
        if v is not None and v > MAX_ROWS:
            raise ValueError(f"rows must be <= {MAX_ROWS:,} (the per-table limit; got {v:.3g})")
        return v

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def first_time_column(self, exclude: str | None = None) -> str | None:
        """The table's first datetime or date column: where a feature that reads time and names no
        column reads it (the check step notes the choice)."""
        return next((c.name for c in self.columns if c.type in TIME and c.name != exclude), None)

    @property
    def behaviours(self) -> list[BehaviourBlock]:
        """The behaviour blocks declared on this table, in field order."""
        blocks = (getattr(self, name) for name in BEHAVIOUR_FIELDS)
        return [b for b in blocks if b is not None]

    @property
    def walk(self) -> WalkBlock | None:
        """The stage or state walk this fact is born from, if any."""
        return self.stage_config if self.stage_config is not None else self.state_transition_model

    def life_start_column(self) -> str | None:
        """The column holding when a row begins: its lifetime's start, else its vintage creation time,
        else its first datetime column. A walk over this row's children starts there."""
        if self.lifetime is not None:
            return self.lifetime.start
        if self.vintage_behavior is not None:
            return self.vintage_behavior.created_at_column
        return self.first_time_column()

    def life_end_column(self) -> str | None:
        """The column holding when a row ends (None: every row lives to the timeframe's end). With
        `life_start_column`, the one place a row's life is read from (a regular series counts its
        periods inside it)."""
        return self.lifetime.end_column if self.lifetime is not None else None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def output_columns(self) -> list[Column]:
        """The columns written to the table's files, in declared order (hidden helpers left out)."""
        return [c for c in self.columns if c.output]

    @property
    def output_column_names(self) -> list[str]:
        return [c.name for c in self.output_columns]

    @property
    def primary_parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    @property
    def row_count(self) -> int:
        return Node.DEFAULT_ROWS if self.rows is None else self.rows

    def scaled_rows(self, scale: float) -> int:
        """`rows` x `--scale`, at least one row: a scale shrinks a table, never empties it (4 regions at
        0.1 keep 1, so the rows that pick a region still find one)."""
        return max(1, round(self.row_count * scale)) if self.row_count > 0 else 0

    @property
    def vocab_size(self) -> int:
        """Rows of a vocab table: the length of its (first) enum_list."""
        return next(
            len(c.generator.enum_list.values) for c in self.columns if isinstance(c.generator, EnumListGen)
        )


def _behaviour_fields() -> tuple[str, ...]:
    """Node fields that hold a behaviour block (each block's keyword is its field name)."""
    found = []
    for name, field in Node.model_fields.items():
        blocks = [
            a for a in get_args(field.annotation) if isinstance(a, type) and issubclass(a, BehaviourBlock)
        ]
        if blocks:
            assert blocks[0].keyword == name, f"{blocks[0].__name__}.keyword must be '{name}'"
            found.append(name)
    return tuple(found)


BEHAVIOUR_FIELDS = _behaviour_fields()


class ForeignKey(Strict):
    from_: str = Field(alias="from")
    to: str


class RangeConstraint(Strict):
    attr: str
    min: float | str | None = None
    max: float | str | None = None


class Inequality(Strict):
    left: str
    op: Literal["<", "<=", ">", ">=", "=="]
    right: str


class PatternConstraint(Strict):
    attr: str
    regex: Regex


class EnumConstraint(Strict):
    attr: str
    values: list[Scalar] | None = None
    enum_ref: str | None = None

    @model_validator(mode="after")
    def _one(self) -> EnumConstraint:
        if (self.values is None) == (self.enum_ref is None):
            raise ValueError("give exactly one of 'values' (a list) or 'enum_ref' ('table.column')")
        return self


class Constraints(Strict):
    unique: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    ranges: list[RangeConstraint] = Field(default_factory=list)
    inequalities: list[Inequality] = Field(default_factory=list)
    pattern: list[PatternConstraint] = Field(default_factory=list)
    enum: list[EnumConstraint] = Field(default_factory=list)


class Schema(Strict):
    schema_: str | None = Field(default=None, alias="$schema")
    version: str
    metadata: Metadata
    timeframe: Timeframe
    nodes: list[Node] = Field(min_length=1)
    constraints: Constraints
    targets: Targets | None = None
    dag: list[list[str]] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, v: Any) -> Any:
        if isinstance(v, int | float) and not isinstance(v, bool):
            raise ValueError(f'version is text in quotes, e.g. "version": "1.0" (found the number {v})')
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        if v not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"version '{v}' is not supported by this engine "
                f'(supported: {", ".join(SUPPORTED_VERSIONS)}); use "1.0"'
            )
        return v

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @property
    def node_ids(self) -> list[str]:
        return [n.id for n in self.nodes]
