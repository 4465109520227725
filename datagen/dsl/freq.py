"""Time-grid frequencies: legacy pandas aliases normalised, everything else must parse in pandas."""

from __future__ import annotations

import re

from datagen.dsl.limits import shown

# Old pandas spellings whose meaning is unambiguous (docs/schema-language.md §1); the value is today's alias.
LEGACY_ALIASES = {
    "H": "h",
    "T": "min",
    "S": "s",
    "L": "ms",
    "U": "us",
    "M": "ME",
    "Q": "QE",
    "Y": "YE",
    "A": "YE",
}
_ALIAS = re.compile(r"(\d*)([A-Za-z]+)", re.ASCII)
MAX_STEP_NS = 100 * 366 * 86_400 * 10**9
MAX_CALENDAR_PERIODS = 10_000


def normalise_freq(freq: str) -> tuple[str, str | None]:
    """Return (alias pandas accepts, note or None). `2H` -> ('2h', "…"). Unknown stays as given."""
    m = _ALIAS.fullmatch(freq.strip())
    if not m:
        return freq, None
    count, unit = m.groups()
    new = LEGACY_ALIASES.get(unit)
    if new is None:
        return freq, None
    return f"{count}{new}", f"legacy frequency alias '{freq}' normalised to '{count}{new}'"


def checked_freq(freq: str | None) -> str | None:
    """For validators: the alias unchanged, or ValueError with `freq_problem`'s message."""
    if freq is not None and (problem := freq_problem(freq)):
        raise ValueError(problem)
    return freq


def freq_problem(freq: str) -> str | None:
    """None when the alias is one the time grid can use: pandas parses it, it steps forward, and a
    fixed step lies between a microsecond (timestamps are stored in microseconds) and 100 years."""
    import pandas as pd  # pandas is slow to import; models need it rarely
    from pandas.tseries.frequencies import to_offset

    try:
        offset = to_offset(freq)
    except (ValueError, TypeError, OverflowError):
        return (
            f"frequency {shown(freq)} is not a pandas alias "
            "(use e.g. 's', 'min', '15min', 'h', 'D', 'W', 'MS', 'ME', 'QE', 'YE')"
        )
    if freq != freq.strip():
        return f"frequency {shown(freq)} has spaces or line breaks around it; write {shown(freq.strip())}"
    if offset.n <= 0:
        return f"frequency '{freq}' does not step forward in time; use a positive one such as 'h' or '15min'"
    try:
        step_ns = pd.Timedelta(offset).value
    except ValueError:  # a calendar frequency (month end, week, …): no fixed length
        if offset.n > MAX_CALENDAR_PERIODS:
            return f"frequency '{freq}' is more than {MAX_CALENDAR_PERIODS:,} calendar periods long"
        return None
    except OverflowError:
        step_ns = MAX_STEP_NS + 1
    if step_ns > MAX_STEP_NS:
        return f"frequency '{freq}' is longer than 100 years"
    if step_ns < 1000 or step_ns % 1000:
        return f"frequency '{freq}' is not a whole number of microseconds (the finest step is 'us')"
    return None
