"""Snapshots of the main screens at fixed sizes (pytest-textual-snapshot). Everything shown is
deterministic: a scripted conversation, a seeded sample, relative paths, no cursor blink, a frozen
clock for the waiting timer, fixed dates and time zone for the saved conversations.
Update after an intended change with `pytest tests/tui --snapshot-update` and look at the SVGs."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from textual.pilot import Pilot

from datagen.nl.discovery import LocalServer
from datagen.nl.events import Event
from datagen.nl.turns import Question
from datagen.settings import Settings
from tests.tui.conftest import SHOP
from tests.tui.scripted import ScriptedBackend, ask, failed, propose
from tui import create_app
from tui.session import Entry, Session, SessionStore
from tui.widgets.chat import ChatMessage

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


# ----- the screens of a person who never set up a model ---------------------------------------------

SERVERS = [
    LocalServer("Ollama", "http://127.0.0.1:11434/v1", "JSON_SCHEMA", ["llama3.1:8b", "qwen2.5:14b"]),
    LocalServer("LM Studio", "http://127.0.0.1:1234/v1", "JSON_SCHEMA", ["mistral-small"]),
]


def _not_connected(settings: Settings, servers: list[LocalServer]):
    return create_app(ScriptedBackend(connected=False), settings, find_servers=lambda: servers)


def test_connect_screen_with_local_models(snap_compare, settings: Settings) -> None:
    assert snap_compare(_not_connected(settings, SERVERS), terminal_size=WIDE, run_before=settle)


def test_connect_screen_with_no_local_server_small(snap_compare, settings: Settings) -> None:
    assert snap_compare(_not_connected(settings, []), terminal_size=SMALL, run_before=settle)


class FrozenClock:
    """The waiting timer reads this; a snapshot shows the same seconds on every run."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _waiting(settings: Settings, steps, clock: FrozenClock):
    return create_app(ScriptedBackend(steps), settings, clock=clock)


def test_waiting_shows_what_happens_and_for_how_long(snap_compare, settings: Settings) -> None:
    release = threading.Event()

    def slow(conversation):
        conversation.on_event(
            Event("progress", "asking the model (request 1 of 8)", {"stage": "request", "request": 1})
        )
        release.wait(30)
        return []

    clock = FrozenClock()

    async def run_before(pilot: Pilot) -> None:
        pilot.app.query_one("#chat-input").value = "a dog-walking business: owners, dogs and walks"
        await pilot.press("enter")
        await pilot.pause(0.3)
        clock.now += 75  # 1:15 later
        pilot.app._tick()
        await pilot.pause()

    try:
        assert snap_compare(_waiting(settings, [slow], clock), terminal_size=WIDE, run_before=run_before)
    finally:
        release.set()


def test_the_schema_appears_as_the_model_writes_it(snap_compare, settings: Settings) -> None:
    release = threading.Event()
    partial = {
        "nodes": [SHOP["nodes"][0], {"id": "orders", "columns": [{"name": "order_id"}, {"name": "cust"}]}]
    }

    def writing(conversation):
        conversation.on_partial({"nodes": [{"id": "customers"}]})
        conversation.on_partial(partial)
        release.wait(30)
        return []

    clock = FrozenClock()

    async def run_before(pilot: Pilot) -> None:
        pilot.app.query_one("#chat-input").value = "a shop"
        await pilot.press("enter")
        await pilot.pause(0.3)
        clock.now += 12
        pilot.app._tick()
        await pilot.pause()

    try:
        assert snap_compare(_waiting(settings, [writing], clock), terminal_size=WIDE, run_before=run_before)
    finally:
        release.set()


def test_quality_in_plain_words(snap_compare, settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=Path(shop_file.name))
    assert snap_compare(app, terminal_size=WIDE, run_before=show("tab-quality"))


def test_a_failed_turn_in_plain_words_with_try_again(snap_compare, settings: Settings) -> None:
    timeout = failed(
        "stopped: this turn used its 180 s time limit",
        hint="check that the server is running and not overloaded",
        reason="timeout",
    )
    app = create_app(ScriptedBackend([timeout]), settings)

    async def run_before(pilot: Pilot) -> None:
        pilot.app.query_one("#chat-input").value = "a shop"
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_conversations_picker(snap_compare, settings: Settings, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    store = SessionStore(settings.sessions_dir)
    sessions = [
        Session(id="a", transcript=[Entry("user", "A dog-walking business")], document=SHOP),
        Session(
            id="b", transcript=[Entry("user", "A bakery's sales"), Entry("error", "The model did not answer")]
        ),
        Session(
            id="c", transcript=[Entry("user", "Clinic appointments"), Entry("assistant", "Two questions")]
        ),
    ]
    for i, session in enumerate(sessions):
        store.save(session)
        stamp = 1_733_000_000 + 3600 * i
        os.utime(store.folder(session) / "session.json", (stamp, stamp))
    app = create_app(ScriptedBackend(), settings, offer_resume=False)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)

    try:
        assert snap_compare(app, terminal_size=WIDE, run_before=run_before)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_save_the_data_dialog(snap_compare, settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=Path(shop_file.name))

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        field = pilot.app.screen.query_one("#path")
        field.value = "home"  # relative: the same on every machine

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_saved_as_excel_with_the_folder_to_open(snap_compare, settings: Settings, shop_file: Path) -> None:
    app = create_app(
        ScriptedBackend(), settings, schema_path=Path(shop_file.name), open_folder=lambda p: False
    )

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        pilot.app.screen.query_one("#path").value = "home"
        await pilot.click("#ok")
        for _ in range(3):
            await settle(pilot)
        for message in pilot.app.query(ChatMessage):  # the absolute path differs per machine
            if str(Path.cwd()) in message.text:
                message.update(message.text.replace(str(Path.cwd()), "/home/me/work"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
