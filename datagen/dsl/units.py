"""The language's units of time, in microseconds (the resolution of every timestamp the engine writes).

One home for them: the engine places times with these numbers and the validator reads times back with
the same ones, so a month is the same length on both sides. A `month` is the average Gregorian month
(30.436875 days) and a `year` the average Gregorian year (365.2425 days), so ages and periods measured
in them do not depend on which calendar month a row falls in (the schema language reference,
docs/schema-language.md §8.2)."""

from __future__ import annotations

from typing import Literal

TimeUnit = Literal["day", "week", "month", "year"]

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US
MONTH_US = int(30.436875 * DAY_US)
YEAR_US = int(365.2425 * DAY_US)

UNIT_US: dict[TimeUnit, int] = {"day": DAY_US, "week": WEEK_US, "month": MONTH_US, "year": YEAR_US}
