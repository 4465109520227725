"""What every DSL object shares: the strict base model, and the vocabulary a feature's descriptor is
written in (column types, table.column references, algebraic roles, reads of other rows).

A *feature* is a generator, a modifier, a behaviour block or a target kind. Its model is its descriptor:
the args it takes (pydantic fields), the keyword a schema spells it with, what it reads, its defaults
(resolved by properties of the model, so callers never see an unset optional) and its algebraic role.
Every layer (engine, validator, cheat sheet, TUI outline) keys its own registry on the model type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from datagen.dsl.models import Node, Schema

# Marks a list field that also accepts a single object; the JSON Schema export widens it to match.
ONE_OR_MANY: dict[str, Any] = {"x-one-or-many": True}

ColumnType = Literal["int", "float", "string", "bool", "datetime", "date"]
NUMERIC: tuple[ColumnType, ...] = ("int", "float")
TIME: tuple[ColumnType, ...] = ("datetime", "date")


def one_or_many(value: Any) -> Any:
    return value if value is None or isinstance(value, list) else [value]


def parse_instant(value: str) -> datetime:
    """ISO-8601 to an aware UTC datetime; naive values are taken as UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def split_ref(ref: str) -> tuple[str, str] | None:
    """'table.column' -> (table, column); None when it is not of that form."""
    parts = ref.split(".")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


class Strict(BaseModel):
    """Every DSL object: unknown keys are errors (load.py turns them into 'did you mean' messages that
    list the allowed keys), and `comment` documents any object."""

    # NaN/Infinity are not JSON (Python's json module reads them anyway) and would poison generation.
    # Strict types: "10" is not a row count and "yes" not a bool, as in the JSON Schema export.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=False, allow_inf_nan=False, strict=True
    )

    comment: str | None = None


class Role(Enum):
    """What a modifier does to the values it is given — the algebra the validator's expectations rest on
    (a value is `base × Π multipliers` only while nothing adds to it after the first multiplier)."""

    SCALES = "scales"  # v · f, f a declared multiplier of the row (mean 1 for a multiplicative jitter)
    ADDS = "adds"  # v + x
    CLIPS = "clips"  # v bounded to [min, max]
    RELABELS = "relabels"  # a categorical remap: nothing numeric survives it
    SPIKES = "spikes"  # a random share of the rows scaled by a random magnitude
    SNAPS = "snaps"  # v moved to the nearest of a set of values (price points): by under half a step
    PLACES_IN_TIME = "places in time"  # shapes where times are drawn, or moves them


@dataclass(frozen=True)
class Read:
    """A column a feature reads from rows other than the one being generated: another table's (which is
    therefore generated first) or the same table's, read by its children. The engine keeps such columns
    in memory. `whole_table`: every row of the table may matter (effect windows, the distinct values of
    a `choices_ref`), not only the one row related to each generated row."""

    table: str
    column: str
    whole_table: bool = False

    @classmethod
    def of(cls, ref: str, *, whole_table: bool = False) -> list[Read]:
        """A `table.column` reference as a read (none when it is not of that form)."""
        parts = split_ref(ref)
        return [cls(parts[0], parts[1], whole_table)] if parts else []


class Feature(Strict):
    """A generator, modifier, behaviour block or target kind. `keyword` is how a schema names it."""

    keyword: ClassVar[str]

    def reads(self, node: Node, schema: Schema) -> list[Read]:
        """Columns of other rows this feature reads when it is declared on (a column of) `node`."""
        return []
