"""The bounds a schema and its data must stay within, in one place: the checker refuses a schema that
crosses them, the engine's final cast refuses a value outside them, and the README states them.

Each bound is where something real stops working: a table id becomes a file name, an `int` column is
stored as a 64-bit integer, timestamps are computed in pandas' nanosecond calendar, and a schema file
is read whole into memory."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

MAX_SCHEMA_BYTES = 4 * 1024 * 1024  # a real schema is a few KB; /dev/zero is endless
MAX_NESTING = 64  # JSON depth (the bundled examples reach 10)
MAX_NUMBER_DIGITS = 30  # an integer literal longer than this is no count or value a schema needs
MAX_IDENTIFIER = 64  # table ids become file names; column names become Parquet fields and SQL names
MAX_ROWS = 10_000_000_000  # per table, before and after --scale

MAX_ECHO = 60  # characters of a schema's text quoted back in a message

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Floats at or above 2**63 do not fit an int64 (2**63 - 1 itself rounds up to 2**63 as a float).
INT64_FLOAT_LIMIT = 2.0**63

# Timestamps are computed in pandas' nanosecond calendar (1677-09-21 .. 2262-04-11); whole years inside.
EARLIEST = datetime(1678, 1, 1, tzinfo=UTC)
LATEST = datetime(2261, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
DATETIME_RANGE = "1678-01-01 .. 2261-12-31"


def shown(value: object) -> str:
    """A value from the schema as a message quotes it: its repr, cut to MAX_ECHO characters (a
    megabyte of text in a schema must not become a megabyte of error message)."""
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1] + "…"


def instant_problem(moment: datetime, text: str) -> str | None:
    """Why a timestamp is outside the range the engine can compute with (None when inside)."""
    if EARLIEST <= moment <= LATEST:
        return None
    return f"{shown(text)} is outside the supported date range {DATETIME_RANGE}"


_regex_lock = threading.Lock()


@lru_cache(maxsize=256)
def regex_problem(regex: str) -> str | None:
    """Why `regex` cannot run where patterns are checked: DuckDB's RE2 engine, asked directly (RE2 has
    no lookahead, lookbehind or back-references, and caps repetition counts at 1000)."""
    import duckdb  # only schemas with patterns pay for the import

    with _regex_lock:
        try:
            _regex_connection().execute("SELECT regexp_full_match('', ?)", [regex]).fetchall()
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0].removeprefix("Invalid Input Error: ")[:MAX_ECHO]
            return (
                f"regex {shown(regex)} cannot be used: {reason} — patterns are matched by RE2 (DuckDB's "
                "engine), which has no lookahead/lookbehind or back-references; rewrite it without them"
            )
    return None


@lru_cache(maxsize=1)
def _regex_connection() -> Any:  # duckdb is imported lazily
    import duckdb

    return duckdb.connect()
