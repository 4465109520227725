"""Targets (docs/schema-language.md §7): what an analyst should find in the data. They are checks,
not instructions: the engine never reads them, the check step warns when one cannot be met and the
validator measures each. Each kind's model is its descriptor: `keyword` is its key in `targets`, and
`table` the table it is measured on."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from datagen.dsl.base import ONE_OR_MANY, Feature, Strict, one_or_many

# A composite_effect metric naming no column: the table's row count per stratum (a column of that
# name, if the table has one, is the metric instead).
COUNT_METRIC = "rows"


class TargetModel(Feature):
    """A target kind's descriptor."""

    table: str
    columns: ClassVar[tuple[str, ...]]  # the fields that name a column of `table`


class Tolerance(Strict):
    mae: float | None = Field(default=None, ge=0)
    mape: float | None = Field(default=None, ge=0)


class WeekendShareTarget(TargetModel):
    # The share of non-null times on a Saturday or Sunday (UTC).
    keyword = "weekend_share"
    columns = ("timestamp",)
    timestamp: str
    min: float = Field(ge=0, le=1)
    max: float = Field(ge=0, le=1)


class MeanInRangeTarget(TargetModel):
    # The mean of the non-null values; of a bool column, the share of true values.
    keyword = "mean_in_range"
    columns = ("column",)
    column: str
    min: float
    max: float


class CompositeEffectTarget(TargetModel):
    # The lift of `metric` per stratum of the influences, against the declared multipliers; with `metric`
    # "rows" (and no such column), the table's row count per stratum against the declared weights.
    keyword = "composite_effect"
    columns = ("metric",)
    metric: str
    influences: list[str] = Field(min_length=1)
    tolerance: Tolerance = Field(default_factory=lambda: Tolerance(mape=0.1))

    def counts_rows(self, column_names: list[str]) -> bool:
        """Whether the metric is the table's row count (the word "rows", naming no column)."""
        return self.metric == COUNT_METRIC and COUNT_METRIC not in column_names


class Targets(Strict):
    """Each kind takes one object or a list of them."""

    weekend_share: list[WeekendShareTarget] = Field(default_factory=list, json_schema_extra=ONE_OR_MANY)
    mean_in_range: list[MeanInRangeTarget] = Field(default_factory=list, json_schema_extra=ONE_OR_MANY)
    composite_effect: list[CompositeEffectTarget] = Field(default_factory=list, json_schema_extra=ONE_OR_MANY)

    @field_validator("weekend_share", "mean_in_range", "composite_effect", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return one_or_many(v)
