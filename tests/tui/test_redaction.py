"""The chat app over the real conversation core and a real HTTP endpoint on 127.0.0.1: a key the
person pastes or the model echoes reaches no chat line and no session file; text with markup in it
(a summary, a generated value) shows as written; the turn's time limit holds here too."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import instructor  # noqa: F401  (imported here, so the timed turn below does not pay for it)
import openai  # noqa: F401
import pytest
from textual.widgets import DataTable

from datagen.settings import Settings
from tests.nl.fake_endpoint import FakeEndpoint, Model, Silent
from tests.nl.scenarios import turn
from tests.nl.wire import Reply
from tests.tui.conftest import SHOP
from tests.tui.scripted import ScriptedBackend
from tests.tui.test_app import SIZE, lines, send, settle
from tui import create_app
from tui.llm import LLMBackend
from tui.widgets.chat import FoldedNote

pytestmark = pytest.mark.anyio
KEY = "tui-gateway-0a1b2c3d4e5f-secret"  # not sk-shaped: only the remembered value can catch it


def files_under(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file())


async def test_a_key_in_the_chat_or_echoed_by_the_model_reaches_no_line_or_session_file(
    settings: Settings,
) -> None:
    def echo(doc: dict[str, Any]) -> None:
        doc["metadata"]["description"] = f"Made with {KEY}."

    reply = turn("bookshop", echo, summary=f"A bookshop ({KEY}) [red]with[/] [/bold]markup.")
    with FakeEndpoint(Model(Reply(reply))) as endpoint:
        backend = LLMBackend(Settings(api_key=KEY, base_url=endpoint.url, model="m"))
        app = create_app(backend, settings)
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, f"A bookshop for 2024; my key is {KEY}")
            assert app.conversation is not None and app.conversation.state == "ready"
            chat = "\n".join(lines(app))
            assert "A bookshop (<redacted>) [red]with[/] [/bold]markup." in chat  # literal, redacted
            assert "my key is <redacted>" in chat
            assert KEY not in chat
    saved = files_under(settings.sessions_dir)
    assert "session.json" in {p.name for p in settings.sessions_dir.rglob("*")} and "conversation.jsonl" in {
        p.name for p in settings.sessions_dir.rglob("*")
    }
    assert "<redacted>" in saved and KEY not in saved


async def test_generated_values_with_markup_show_as_written_in_the_preview(
    settings: Settings, tmp_path: Path
) -> None:
    shop = copy.deepcopy(SHOP)
    shop["nodes"][0]["columns"][1]["generator"]["choice"]["choices"] = ["[/bold]", "[red]vip"]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(shop), encoding="utf-8")
    app = create_app(ScriptedBackend(), settings, schema_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = app.query_one("#preview-customers", DataTable)
        segment = [str(c.label) for c in grid.ordered_columns].index("segment")
        shown = {str(grid.get_cell_at((row, segment))) for row in range(grid.row_count)}
        assert shown == {"[/bold]", "[red]vip"}
        await pilot.pause()  # rendered without a markup error


async def test_the_turn_time_limit_holds_in_the_chat(settings: Settings) -> None:
    with FakeEndpoint(Silent()) as endpoint:
        backend = LLMBackend(Settings(api_key=KEY, base_url=endpoint.url, model="m", llm_timeout=2))
        app = create_app(backend, settings)
        async with app.run_test(size=SIZE) as pilot:
            started = time.monotonic()
            await send(pilot, "A bookshop for 2024.")
            for _ in range(60):
                if not app.thinking:
                    break
                await pilot.pause(0.1)
            seconds = time.monotonic() - started
            [error] = lines(app, "error")
            details = app.query_one(FoldedNote).details
            retry = [str(b.label) for b in app.query("Button.chat-action")]
    assert error.startswith("The model did not finish in time. Try again;")  # plain words, and what to do
    assert "did not finish answering within" in details and "(2.0 s) is used up" in details
    assert retry == ["Try again"]
    assert seconds < 2 + 10  # far below a turn that would wait for the silent server (default 180 s)
