"""Snapshots of the main screens at fixed sizes (pytest-textual-snapshot). Everything shown is
deterministic: a scripted conversation, a seeded sample, relative paths, no cursor blink, no clock.
Update after an intended change with `pytest tests/tui --snapshot-update` and look at the SVGs."""

from __future__ import annotations

import json
from pathlib import Path

from textual.pilot import Pilot

from datagen.nl.turns import Question
from datagen.settings import Settings
from tests.tui.conftest import SHOP
from tests.tui.scripted import ScriptedBackend, ask, propose
from tui import create_app

WIDE = (120, 40)
SMALL = (80, 24)


async def settle(pilot: Pilot) -> None:
    for _ in range(6):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def show(tab: str):
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        pilot.app.query_one("#side").active = tab
        await settle(pilot)

    return run_before


def test_opened_schema(snap_compare, settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=Path(shop_file.name))
    assert snap_compare(app, terminal_size=WIDE, run_before=show("tab-schema"))


def test_preview(snap_compare, settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=Path(shop_file.name))
    assert snap_compare(app, terminal_size=WIDE, run_before=show("tab-preview"))


def test_quality_with_failures_and_a_chart(snap_compare, settings: Settings, tmp_path: Path) -> None:
    failing = json.loads(json.dumps(SHOP))
    failing["constraints"]["ranges"] = [{"attr": "orders.amount", "min": 10, "max": 50}]
    failing["targets"] = {"mean_in_range": {"table": "orders", "column": "amount", "min": 40, "max": 45}}
    (tmp_path / "failing.json").write_text(json.dumps(failing), encoding="utf-8")
    app = create_app(ScriptedBackend(), settings, schema_path=Path("failing.json"))
    assert snap_compare(app, terminal_size=WIDE, run_before=show("tab-quality"))


def test_questions_in_the_chat(snap_compare, settings: Settings) -> None:
    weekends = Question(id="weekends", text="Should weekends be busier?", kind="yes_no", default="yes")
    span = Question(
        id="span", text="How much history?", kind="choice", options=["1 year", "2 years"], default="2 years"
    )
    app = create_app(ScriptedBackend([ask(weekends, span), propose(SHOP)]), settings)

    async def run_before(pilot: Pilot) -> None:
        pilot.app.query_one("#chat-input").value = "an online shop with customers and orders"
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_small_terminal(snap_compare, settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=Path(shop_file.name))
    assert snap_compare(app, terminal_size=SMALL, run_before=show("tab-schema"))
