"""Expected calendar shares of a datetime_series (calendar.py): grid points per stratum, weights,
per-row bounds and time jitter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datagen.validate.calendar import INT_MAX, Bounds, Series, expected_shares, fields


def us(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1000)


def series(start: str, end: str, freq: str = "h", *patterns: tuple[str, tuple[float, ...]]) -> Series:
    """A snapped series (values on grid points)."""
    return Series(us(start), us(end), freq, tuple(patterns))


def continuous(start: str, end: str, freq: str = "h", *patterns: tuple[str, tuple[float, ...]]) -> Series:
    """A continuous series (a uniform instant inside each cell)."""
    return Series(us(start), us(end), freq, tuple(patterns), snapped=False)


def test_fields_monday_first_january_first() -> None:
    f = fields(np.array([us("2024-01-01T00:00"), us("2024-03-10T17:30"), us("1970-01-01T00:00")]))
    assert f["dow"].tolist() == [0, 6, 3]  # Monday, Sunday, Thursday
    assert f["hour"].tolist() == [0, 17, 0]
    assert f["month"].tolist() == [0, 2, 0]


def test_whole_weeks_are_uniform() -> None:
    shares = expected_shares(series("2024-01-01", "2024-12-30"), None, ["dow"])["dow"]
    assert shares == pytest.approx([1 / 7] * 7)


def test_a_window_of_part_weeks_counts_grid_points() -> None:
    """Monday 1st to Wednesday 10th: Monday to Wednesday appear twice, the other days once."""
    shares = expected_shares(series("2024-01-01", "2024-01-11"), None, ["dow"])["dow"]
    assert shares == pytest.approx([0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1])


def test_month_lengths() -> None:
    shares = expected_shares(series("2024-01-01", "2025-01-01", "D"), None, ["month"])["month"]
    assert shares[1] == pytest.approx(29 / 366) and shares[0] == pytest.approx(31 / 366)


def test_weights_multiply_grid_counts() -> None:
    w = (1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0)
    shares = expected_shares(series("2024-01-01", "2024-01-11", "h", ("dow", w)), None, ["dow"])["dow"]
    counts = np.array([2, 2, 2, 1, 1, 1, 1]) * np.array(w)
    assert shares == pytest.approx(counts / counts.sum())


def test_bounds_restrict_each_rows_slice() -> None:
    """Rows drawn after the 8th only see Monday 8th to Wednesday 10th."""
    bounds = Bounds(np.array([us("2024-01-08")]), np.array([INT_MAX]), np.array([500.0]))
    shares = expected_shares(series("2024-01-01", "2024-01-11"), bounds, ["dow"])["dow"]
    assert shares == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0])


def test_jitter_spreads_an_hour_over_its_neighbours() -> None:
    """Times on 12:00 shifted by N(0, 30 min): about 48 % land in 11h, 48 % in 12h, 2 % in 10h and 13h."""
    weights = tuple(1.0 if h == 12 else 0.0 for h in range(24))
    s = series("2024-01-01", "2024-01-29", "h", ("hour", weights))
    shares = expected_shares(s, None, ["hour"], jitter_minutes=30)["hour"]
    assert shares.sum() == pytest.approx(1.0)
    assert shares[11] == pytest.approx(0.4772, abs=0.002) and shares[12] == pytest.approx(0.4772, abs=0.002)
    assert shares[10] == pytest.approx(0.0228, abs=0.002) and shares[13] == pytest.approx(0.0228, abs=0.002)


def test_fine_grids_are_bucketed_by_hour() -> None:
    """Seconds over two years are too many points to list: hour buckets give the same shares."""
    w = (3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    shares = expected_shares(series("2024-01-01", "2025-12-29", "s", ("dow", w)), None, ["dow"])["dow"]
    assert shares == pytest.approx(np.array(w) / sum(w), rel=1e-6)


def test_a_continuous_day_cell_spreads_its_mass_evenly_over_its_hours() -> None:
    """freq D: a day is one cell, so an hour pattern has a day's resolution (hours even) while a
    weekday pattern holds."""
    hours = tuple(0.0 if h < 12 else 1.0 for h in range(24))
    dow = (1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0)
    s = continuous("2024-01-01", "2024-12-30", "D", ("hour", hours), ("dow", dow))
    shares = expected_shares(s, None, ["hour", "dow"])
    assert shares["hour"] == pytest.approx([1 / 24] * 24)
    assert shares["dow"] == pytest.approx(np.array(dow) / sum(dow))


def test_a_continuous_month_cell_weighs_its_days() -> None:
    w = tuple(2.0 if m == 1 else 1.0 for m in range(12))  # February counts double
    shares = expected_shares(continuous("2024-01-01", "2025-01-01", "MS", ("month", w)), None, ["month"])[
        "month"
    ]
    days = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) * np.array(w)
    assert shares == pytest.approx(days / days.sum())


def test_continuous_bounds_cut_hours_at_the_microsecond() -> None:
    """Rows inside [10:30, 12:30]: the first and last hour count half (10h weighs 1, 11h 2, 12h 4)."""
    hours = tuple({10: 1.0, 11: 2.0, 12: 4.0}.get(h, 1.0) for h in range(24))
    bounds = Bounds(np.array([us("2024-01-01T10:30")]), np.array([us("2024-01-01T12:30")]), np.array([10.0]))
    shares = expected_shares(continuous("2024-01-01", "2024-01-08", "h", ("hour", hours)), bounds, ["hour"])[
        "hour"
    ]
    assert shares[[10, 11, 12]] == pytest.approx(np.array([0.5, 2.0, 2.0]) / 4.5)
    assert shares.sum() == pytest.approx(1.0)
