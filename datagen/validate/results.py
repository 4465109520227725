"""One check's outcome, in the shape the report, the console and the front ends all read."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np

Bucket = Literal["structural", "value", "behavioural"]
Status = Literal["pass", "fail", "skip"]
BUCKETS: tuple[Bucket, ...] = ("structural", "value", "behavioural")
MAX_EXAMPLES = 5


@dataclass
class Result:
    """A named check on one table (and usually one column).

    `hard` results decide the exit code on their own (declared things: keys, nulls, constraints);
    the others only feed the score. `skip` means the check could not apply (the message says why) and
    counts nowhere. `examples` are up to five violating rows (or, for statistics, the worst strata)."""

    check: str
    bucket: Bucket
    table: str
    column: str | None
    status: Status
    message: str
    hard: bool = False
    examples: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "bucket": self.bucket,
            "table": self.table,
            "column": self.column,
            "status": self.status,
            "hard": self.hard,
            "message": self.message,
            "examples": [jsonable(e) for e in self.examples[:MAX_EXAMPLES]],
            "details": jsonable(self.details),
            "fix": self.fix,
        }


def verdict(ok: bool) -> Status:
    return "pass" if ok else "fail"


def jsonable(value: Any) -> Any:
    """Values from DuckDB/numpy as plain JSON: timestamps as ISO text, NaN/inf as null, numpy scalars
    as Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
