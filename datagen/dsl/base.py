"""The strict base model: unknown keys are errors with a 'did you mean', `comment` is allowed anywhere."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# Marks a list field that also accepts a single object; the JSON Schema export widens it to match.
ONE_OR_MANY = {"x-one-or-many": True}


def one_or_many(value: Any) -> Any:
    return value if value is None or isinstance(value, list) else [value]


class Strict(BaseModel):
    """Every DSL object: unknown keys are errors (load.py turns them into 'did you mean' messages that
    list the allowed keys), and `comment` documents any object."""

    # NaN/Infinity are not JSON (Python's json module reads them anyway) and would poison generation.
    # Strict types: "10" is not a row count and "yes" not a bool, as in the JSON Schema export.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=False, allow_inf_nan=False, strict=True
    )

    comment: str | None = None
