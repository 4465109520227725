"""The preflight (`datagen generate --sample N`, and every schema the language model proposes): problems
that stop a schema, and warnings about what it may not have meant — a clamp that piles values up at
its bounds (docs/schema-language.md §10.6)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from datagen import cli
from datagen.engine.preflight import preflight
from tests.engine.conftest import checked, col, dist, entity, fact, one_table, schema


def mod(transform: str, **args) -> dict:
    return {"transform": transform, "args": args}


def test_a_clamp_modifier_that_clips_a_fifth_of_a_column_is_warned_about() -> None:
    doc = one_table([dist("x", "uniform", low=0.0, high=10.0) | {"modifiers": [mod("clamp", max=8.0)]}])
    result = preflight(checked(doc), rows=500)
    assert result.ok
    [warning] = result.warnings
    assert warning.startswith("t.x: the clamp (modifiers[0]) clipped ")
    assert "pile up" in warning


def test_a_clamp_modifier_that_bounds_only_rare_values_is_not() -> None:
    doc = one_table([dist("x", "normal", mean=0.0, std=1.0) | {"modifiers": [mod("clamp", max=6.0)]}])
    assert preflight(checked(doc), rows=500).warnings == []


def _vintage_shop(minutes: dict) -> dict:
    """Users whose sessions get longer with age (a vintage value curve), and the sessions' minutes."""
    users = entity(
        "users",
        [col("signed_up_at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}})],
        rows=300,
        vintage_behavior={
            "created_at_column": "signed_up_at",
            "age_based_multipliers": {
                "depth": {
                    "curve": [1.0, 2.0, 3.0, 4.0],
                    "time_unit": "month",
                    "applies_to": ["sessions.minutes"],
                }
            },
        },
    )
    sessions = fact(
        "sessions",
        ["users"],
        [col("at", "datetime", {"datetime_series": {"within": "timeframe", "freq": "h"}}), minutes],
        fanout={"distribution": "poisson", "lambda": 8},
    )
    return schema(
        users,
        sessions,
        constraints={"inequalities": [{"left": "sessions.at", "op": ">=", "right": "users.signed_up_at"}]},
    )


def test_a_clamp_after_a_vintage_multiplier_is_flagged() -> None:
    """The evaluation's case: values scaled by a vintage curve, then clipped by a clamp modifier."""
    minutes = dist("minutes", "gamma", shape=4.0, scale=5.0) | {"modifiers": [mod("clamp", max=40.0)]}
    result = preflight(checked(_vintage_shop(minutes)), rows=100)
    assert any(w.startswith("sessions.minutes: the clamp (modifiers[0]) clipped") for w in result.warnings)


def test_the_same_bound_as_a_distribution_clamp_truncates_and_is_not_flagged() -> None:
    minutes = dist("minutes", "gamma", clamp=[None, 40.0], shape=4.0, scale=5.0)
    result = preflight(checked(_vintage_shop(minutes)), rows=100)
    assert result.warnings == []
    values = result.tables["sessions"].column("minutes").to_numpy()
    assert values.max() <= 40.0 and (values == 40.0).sum() == 0


def test_a_distribution_clamp_no_draw_reaches_is_flagged() -> None:
    doc = one_table([dist("x", "normal", clamp=[50.0, 60.0], mean=0.0, std=1.0)])
    [warning] = preflight(checked(doc), rows=100).warnings
    assert warning.startswith("t.x: 100.0% of the sample's values (100 of 100) could not be drawn inside")


def test_the_sample_command_prints_the_warning(tmp_path) -> None:
    doc = one_table([dist("x", "uniform", low=0.0, high=10.0) | {"modifiers": [mod("clamp", max=8.0)]}])
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["generate", str(path), "--sample", "200"])
    assert result.exit_code == 0, result.output
    assert "warning t.x: the clamp (modifiers[0]) clipped" in " ".join(result.output.split())


def test_hidden_columns_are_not_in_the_preview() -> None:
    doc = one_table(
        [
            dist("noise", "uniform", low=0.9, high=1.1) | {"output": False},
            col("y", "float", {"expression": {"code": "noise * 10"}}),
        ]
    )
    result = preflight(checked(doc), rows=20)
    assert result.ok and result.tables["t"].column_names == ["id", "y"]
