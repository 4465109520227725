"""Frequencies as people and models write them (docs/schema-language.md §1): old pandas letters and
words are read as today's alias with a note, current aliases pass untouched, and a spelling that
could mean two units is refused with both readings."""

from __future__ import annotations

import pandas as pd
import pytest

from datagen.dsl import check
from datagen.dsl.freq import freq_problem, normalise_freq
from tests.engine.conftest import entity, fact, generate, schema, times, values

CURRENT = ["h", "1h", "15min", "s", "D", "W", "W-MON", "MS", "ME", "QS", "QE", "YS", "YE", "B", "2W"]


@pytest.mark.parametrize("alias", CURRENT)
def test_a_current_alias_is_kept_without_a_note(alias: str) -> None:
    assert normalise_freq(alias) == (alias, None)
    assert freq_problem(alias) is None


@pytest.mark.parametrize(
    ("written", "alias"),
    [("H", "h"), ("2H", "2h"), ("T", "min"), ("15T", "15min"), ("M", "ME"), ("Q", "QE"), ("Y", "YE"),
     ("A", "YE"), ("AS", "YS"), ("A-DEC", "YE-DEC"), ("BM", "BME"), ("d", "D"), ("1d", "1D"), ("w", "W")],
)  # fmt: skip
def test_old_pandas_letters_become_todays_alias(written: str, alias: str) -> None:
    new, note = normalise_freq(written)
    assert new == alias and freq_problem(new) is None
    assert note == f"legacy frequency alias '{written}' normalised to '{alias}'"


@pytest.mark.parametrize(
    ("written", "alias"),
    [("hourly", "h"), ("Hourly", "h"), ("daily", "D"), ("weekly", "W"), ("monthly", "MS"),
     ("quarterly", "QS"), ("yearly", "YS"), ("annual", "YS"), ("15 minutes", "15min"), ("15 min", "15min"),
     ("10-minute", "10min"), ("every 10 minutes", "10min"), ("every 2 hours", "2h"), ("1 hr", "1h"),
     ("30sec", "30s"), ("once a week", "W"), ("per day", "D"), ("fortnightly", "2W"), ("biweekly", "2W"),
     ("half-hourly", "30min"), ("semiannual", "6MS"), ("weekdays", "B"), ("3 months", "3MS")],
)  # fmt: skip
def test_words_become_aliases(written: str, alias: str) -> None:
    new, note = normalise_freq(written)
    assert new == alias and freq_problem(new) is None
    assert note == f"frequency '{written}' read as the alias '{alias}'"


@pytest.mark.parametrize("written", ["every other day", "sometimes", "10 parsecs"])
def test_an_unknown_spelling_is_left_for_the_check_to_refuse(written: str) -> None:
    assert normalise_freq(written) == (written, None)
    assert f"'{written}' is not a pandas alias" in (freq_problem(written) or "")


@pytest.mark.parametrize("written", ["m", "10m"])
def test_a_bare_m_is_refused_with_both_readings(written: str) -> None:
    count = written[:-1]
    assert normalise_freq(written) == (written, None)
    problem = freq_problem(written) or ""
    assert (
        "ambiguous" in problem
        and f"'{count}min' for minutes" in problem
        and f"'{count}MS' for months" in problem
    )


def _series(every: str) -> dict:
    machines = entity(
        "machines", [times("installed", within={"start": "2023-01-01", "end": "2024-01-01"})], rows=3
    )
    readings = fact("readings", ["machines"], [times("read_at", slot=True)], fanout={"every": every})
    return schema(
        machines, readings, timeframe={"start": "2024-01-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
    )


@pytest.mark.parametrize(
    ("every", "alias", "per_machine"),
    [
        ("monthly", "MS", 3),
        ("M", "ME", 3),
        ("weekly", "W", 13),
        ("every 12 hours", "12h", 182),
        ("daily", "D", 91),
    ],
)
def test_a_regular_series_reads_the_word_or_letter_a_model_writes(
    every: str, alias: str, per_machine: int
) -> None:
    """`every` goes through the same reading, with a note, and the series has one row per period."""
    doc = _series(every)
    result = check(doc)
    assert result.ok, [str(e) for e in result.errors]
    assert result.document["nodes"][1]["fanout"]["every"] == alias
    assert [n.path for n in result.notes if n.code == "legacy_freq"] == ["nodes[1].fanout.every"]
    at = pd.DatetimeIndex(values(generate(doc)["readings"], "read_at"))
    assert len(at) == 3 * per_machine and len(set(at)) == per_machine  # the same slots for each machine
