"""Per-row multipliers as SQL (factors.py): effect windows and the expected outlier magnitude."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

from datagen.dsl.modifiers import EffectArgs, OutliersArgs
from datagen.validate.factors import effect_intervals, expected_magnitude


def intervals(rows: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE eff (k VARCHAR, s TIMESTAMPTZ, e TIMESTAMPTZ, f DOUBLE)")
    for k, s, e, f in rows:
        con.execute("INSERT INTO eff VALUES (?, to_timestamp(?), to_timestamp(?), ?)", [k, s, e, f])
    args = EffectArgs.model_validate(
        {"effect_table": "eff", "on": {"key": "k"}, "window": {"start_col": "s", "end_col": "e"},
         "map": {"field": "f", "op": "mul"}}
    )  # fmt: skip
    table = effect_intervals(SimpleNamespace(con=con), args)
    cols = [table[c].to_pylist() for c in ("k", "t0", "t1", "f")]
    out = zip(*cols, strict=True)
    return sorted((k, int(t0.timestamp()), int(t1.timestamp()), round(f, 9)) for k, t0, t1, f in out)


def test_overlapping_windows_multiply() -> None:
    assert intervals([("a", 0, 10, 2.0), ("a", 5, 15, 3.0), ("b", 0, 10, 0.5)]) == [
        ("a", 0, 5, 2.0),
        ("a", 5, 10, 6.0),
        ("a", 10, 15, 3.0),
        ("b", 0, 10, 0.5),
    ]


def test_zero_negative_and_empty_windows() -> None:
    assert intervals([("a", 0, 10, 0.0), ("a", 5, 15, -2.0), ("a", 20, 20, 9.0), ("a", 30, 25, 9.0)]) == [
        ("a", 0, 5, 0.0),
        ("a", 5, 10, 0.0),
        ("a", 10, 15, -2.0),
    ]


def test_expected_magnitude() -> None:
    default = OutliersArgs(rate=0.1)
    assert expected_magnitude(default, "spike") == pytest.approx(6.5, rel=0.01)  # 1 + E[uniform(2, 9)]
    near_one = {"type": "uniform", "params": {"low": 1.0, "high": 1.0000001}}
    assert expected_magnitude(OutliersArgs(rate=0.1, magnitude_dist=near_one), "drop") == pytest.approx(
        0.5, rel=1e-3
    )
