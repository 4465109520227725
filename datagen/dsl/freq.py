"""Time-grid frequencies: legacy pandas aliases normalised, everything else must parse in pandas."""

from __future__ import annotations

import re

# Old pandas spellings whose meaning is unambiguous (DSL.md §1); the value is today's alias.
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
_ALIAS = re.compile(r"^(\d*)([A-Za-z]+)$")


def normalise_freq(freq: str) -> tuple[str, str | None]:
    """Return (alias pandas accepts, note or None). `2H` -> ('2h', "…"). Unknown stays as given."""
    m = _ALIAS.match(freq.strip())
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
    """None when pandas can parse the alias; otherwise a message listing common valid ones."""
    from pandas.tseries.frequencies import to_offset  # pandas is slow to import; models need it rarely

    try:
        to_offset(freq)
    except (ValueError, TypeError):
        return (
            f"frequency '{freq}' is not a pandas alias "
            "(use e.g. 's', 'min', '15min', 'h', 'D', 'W', 'MS', 'ME', 'QE', 'YE')"
        )
    return None
