"""Time-grid frequencies: the spellings people and models write — old pandas letters, words such as
`hourly` or `every 10 minutes` — read as today's pandas alias; everything else must parse in pandas."""

from __future__ import annotations

import re

from datagen.dsl.limits import shown

# Old pandas spellings whose meaning is unambiguous (docs/schema-language.md §1); the value is today's
# alias. Lower-case `d`, `w` and `b` are ones pandas deprecates.
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
    "AS": "YS",
    "BA": "BYE",
    "BY": "BYE",
    "BAS": "BYS",
    "BM": "BME",
    "BQ": "BQE",
    "SM": "SME",
    "BH": "bh",
    "d": "D",
    "w": "W",
    "b": "B",
}
_ALIAS = re.compile(r"(\d*)([A-Za-z]+)(-[A-Za-z]{3})?", re.ASCII)

# A unit written as a word (any case, spaces and hyphens ignored): (periods, alias). Months, quarters
# and years become the calendar periods that start them.
_UNIT_WORDS = {
    ("second", "seconds", "sec", "secs", "secondly"): (1, "s"),
    ("minute", "minutes", "min", "mins", "minutely"): (1, "min"),
    ("hour", "hours", "hr", "hrs", "hourly"): (1, "h"),
    ("day", "days", "daily"): (1, "D"),
    ("week", "weeks", "wk", "wks", "weekly"): (1, "W"),
    ("month", "months", "mo", "mos", "monthly"): (1, "MS"),
    ("quarter", "quarters", "quarterly"): (1, "QS"),
    ("year", "years", "yr", "yrs", "yearly", "annual", "annually"): (1, "YS"),
    ("fortnight", "fortnights", "fortnightly", "biweekly"): (2, "W"),
    ("halfhour", "halfhourly"): (30, "min"),
    ("quarterhour", "quarterhourly"): (15, "min"),
    ("semiannual", "semiannually", "halfyear", "halfyearly"): (6, "MS"),
    ("weekday", "weekdays", "workday", "workdays", "businessday", "businessdays"): (1, "B"),
}
FREQ_WORDS = {word: value for words, value in _UNIT_WORDS.items() for word in words}
_WORDS = re.compile(r"(?:every|each|per|once an?|once per)?\s*(\d*)[\s-]*([a-z][a-z -]*)", re.ASCII)
MAX_STEP_NS = 100 * 366 * 86_400 * 10**9
MAX_CALENDAR_PERIODS = 10_000


def normalise_freq(freq: str) -> tuple[str, str | None]:
    """Return (alias pandas accepts, note or None): `2H` -> ('2h', "…"), `every 15 minutes` ->
    ('15min', "…"). A current alias, or anything not recognised, stays as given without a note."""
    text = freq.strip()
    m = _ALIAS.fullmatch(text)
    if m and (new := LEGACY_ALIASES.get(m.group(2))) is not None:
        count, _, anchor = m.groups()
        alias = f"{count}{new}{(anchor or '').upper()}"
        return alias, f"legacy frequency alias '{freq}' normalised to '{alias}'"
    w = _WORDS.fullmatch(text.lower())
    unit = FREQ_WORDS.get(re.sub(r"[ -]", "", w.group(2))) if w else None
    if w is None or unit is None:
        return freq, None
    periods = int(w.group(1) or 1) * unit[0]
    alias = unit[1] if periods == 1 and not w.group(1) else f"{periods}{unit[1]}"
    if alias == freq:
        return freq, None
    return alias, f"frequency '{freq}' read as the alias '{alias}'"


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

    m = _ALIAS.fullmatch(freq.strip())
    if m and m.group(2) == "m":  # minutes or months: refused with both readings rather than guessed
        n = m.group(1)
        return f"frequency {shown(freq)} is ambiguous: write '{n}min' for minutes or '{n}MS' for months"
    try:
        offset = to_offset(freq)
    except (ValueError, TypeError, OverflowError):
        return (
            f"frequency {shown(freq)} is not a pandas alias "
            "(use e.g. 's', 'min', '15min', 'h', 'D', 'W', 'MS', 'ME', 'QE', 'YE', or a word such as 'daily')"
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
