"""Re-create docs/tui.svg, the README's screenshot of the chat app:

    .venv/bin/python -m tests.tui.make_screenshot

A scripted conversation (no model, no network) asks two questions, proposes the bundled e-commerce
example with one repair round, and the Quality tab shows the checks of the preview sample."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

from datagen.nl.turns import Question
from datagen.resources import examples_dir
from datagen.settings import Settings
from tests.tui.scripted import ScriptedBackend, ask, propose
from tui import create_app

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "tui.svg"
PERIOD = Question(
    id="period",
    text="What period should the data cover?",
    kind="choice",
    options=["the last 12 months", "the last 2 years", "the last 5 years"],
    default="the last 2 years",
)
VIP = Question(id="vip", text="Should VIP customers order more often?", kind="yes_no", default="yes")


async def shoot(target: Path) -> None:
    shop = json.loads((examples_dir() / "ecommerce.json").read_text(encoding="utf-8"))
    summary = "Two years of an online shop: customers, products, promotions, orders and order lines."
    steps = [
        ask(PERIOD, VIP),
        propose(
            shop,
            summary,
            repaired="the model fixed the problems in 1 repair round(s)",
            assumptions=("3,000 customers", "prices in EUR"),
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(sessions_dir=Path(tmp), data_dir=Path(tmp) / "data", cursor_blink=False)
        app = create_app(ScriptedBackend(steps), settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press(*"An online shop: customers, products and orders, with VIPs and busy weekends")
            await pilot.press("enter")
            await _settle(pilot)
            await pilot.press("enter", "enter")  # the suggested answers (each default is highlighted)
            await _settle(pilot)
            app.query_one("#side").active = "tab-quality"
            await _settle(pilot)
            app.save_screenshot(str(target.name), path=str(target.parent))


async def _settle(pilot) -> None:
    for _ in range(6):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


if __name__ == "__main__":
    asyncio.run(shoot(TARGET))
    print(f"wrote {TARGET}")
