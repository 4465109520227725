"""What a person who never set up a model goes through, driven with Pilot: connecting a model found on
this computer (a server this test starts on 127.0.0.1), the key kept out of sight, Esc that keeps the
open questions, the conversations list, saving the data as CSV or Excel and opening its folder, keys
that say why they cannot act, and the safety nets (no terminal, an unexpected error)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import openpyxl
import pytest
from textual.widgets import Input, OptionList

from datagen import connection
from datagen.nl.discovery import ServerKind, find_local_servers
from datagen.settings import Settings
from tests.nl.local_server import LocalModelServer
from tests.tui.conftest import SHOP
from tests.tui.scripted import ScriptedBackend, ask, propose
from tests.tui.test_app import SPAN, WEEKEND, lines, send, settle
from tui import create_app, launch
from tui.app import DatagenApp
from tui.connect import ConnectScreen
from tui.screens import ConfirmScreen, SaveDataScreen, SessionsScreen
from tui.widgets.chat import ChatLog, QuestionCard

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


async def test_first_start_without_a_model_connects_one_found_on_this_computer(settings: Settings) -> None:
    with LocalModelServer(["llama3.1:8b", "qwen2.5"], ollama=True) as server:
        kinds = (ServerKind("Ollama", server.port, "JSON_SCHEMA"),)
        backend = ScriptedBackend(connected=False)
        app = create_app(backend, settings, find_servers=lambda: find_local_servers(kinds=kinds))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ConnectScreen)  # first thing on screen
            models = app.screen.query_one("#local-models", OptionList)
            assert [str(models.get_option_at_index(i).prompt) for i in range(models.option_count)] == [
                f"llama3.1:8b  ·  Ollama ({server.url})",
                f"qwen2.5  ·  Ollama ({server.url})",
            ]
            app.screen.query_one("#connect-test").press()  # the highlighted one: llama3.1:8b
            await settle(pilot)
            assert not isinstance(app.screen, ConnectScreen)
            assert server.requests.count(("POST", "/v1/chat/completions")) == 1  # the one-request test
            assert lines(app)[:2] == ["Connected: llama3.1:8b on Ollama.", lines(app, "assistant")[0]]
    saved = connection.load()
    assert saved is not None and (saved.base_url, saved.model, saved.llm_mode) == (
        server.url,
        "llama3.1:8b",
        "JSON_SCHEMA",
    )
    assert [s.base_url for s in backend.used] == [server.url]  # the next conversation uses it


async def test_a_failed_test_says_why_saves_nothing_and_keeps_the_screen(settings: Settings) -> None:
    with LocalModelServer(["m"], key="the-right-key-0123456789") as server:
        app = create_app(ScriptedBackend(connected=False), settings, find_servers=lambda: [])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.screen.query_one("#connect-tabs").active = "tab-custom"
            app.screen.query_one("#custom-url", Input).value = server.url
            app.screen.query_one("#custom-model", Input).value = "m"
            app.screen.query_one("#custom-key", Input).value = "a-wrong-key-0123456789"
            app.screen.query_one("#connect-test").press()
            await settle(pilot)
            result = str(app.screen.query_one("#connect-result").render())
            assert result == "✗ The key was refused. Check that it is complete and still valid."
            assert isinstance(app.screen, ConnectScreen) and connection.load() is None


async def test_an_openai_key_is_saved_out_of_sight_and_shown_again_only_masked(settings: Settings) -> None:
    key = "sk-proj-pasted0123456789abcdWXYZ"
    with LocalModelServer(["gpt-4o-mini"], key=key) as openai_like:
        app = create_app(
            ScriptedBackend(connected=False), settings, find_servers=lambda: [], openai_url=openai_like.url
        )
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.screen.query_one("#connect-tabs").active == "tab-openai"  # nothing local: OpenAI
            field = app.screen.query_one("#openai-key", Input)
            assert field.password  # typed as dots
            field.value = key
            app.screen.query_one("#connect-test").press()
            await settle(pilot)
            assert "The key is kept in a file only you can read." in lines(app)[0]  # no keyring here
            await pilot.press("ctrl+k")  # connect again: the key is masked, never shown whole
            await settle(pilot)
            assert str(app.screen.query_one("#openai-saved").render()) == (
                "A key is saved (sk-…WXYZ); paste one to replace it."
            )
            assert key not in "\n".join(lines(app))
    assert connection.load().key_store == connection.IN_FILE
    assert key not in "".join(p.read_text(encoding="utf-8") for p in settings.sessions_dir.rglob("*.json"))


async def test_esc_while_the_answers_are_sent_keeps_the_questions(settings: Settings) -> None:
    release = threading.Event()

    def slow(conversation):
        release.wait(30)
        return []

    backend = ScriptedBackend([ask(WEEKEND, SPAN), slow])
    app = create_app(backend, settings)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, "a shop")
            await pilot.click("#use-defaults")
            await pilot.pause(0.3)
            assert app.thinking
            await pilot.press("escape")
            await settle(pilot)
            assert not app.thinking
            assert [str(p) for p in backend.resumed] == [str(app._checkpoint)]  # from before the answers
            cards = list(app.query(QuestionCard))
            assert len(cards) == 2 and not cards[-1].has_class("done")  # asked again, still open
            assert [q.id for q in cards[-1].questions] == ["weekends", "span"]
    finally:
        release.set()


async def test_the_conversations_list_opens_one_and_deletes_only_after_asking(settings: Settings) -> None:
    app = create_app(ScriptedBackend([propose(SHOP, "The shop.")]), settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        first = app.session.id
        await pilot.press("ctrl+n")
        await send(pilot, "a second idea")  # no model step left: that turn fails; still a session
    app = create_app(ScriptedBackend(), settings, offer_resume=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, SessionsScreen)
        assert next(s.id for s, _ in picker.sessions) == first  # the one with a schema comes first
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep it
        await settle(pilot)
        assert len(picker.sessions) == 2
        await pilot.press("enter")  # open the highlighted one
        await settle(pilot)
        assert app.session.id == first and app.checked is not None and app.checked.ok
        assert lines(app, "assistant")[-1].startswith("The shop.")


async def test_save_as_csv_into_a_folder_and_open_it(
    settings: Settings, shop_file: Path, tmp_path: Path
) -> None:
    opened: list[Path] = []
    app = create_app(
        ScriptedBackend(), settings, schema_path=shop_file, open_folder=lambda p: opened.append(p) or True
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SaveDataScreen)
        assert dialog.query_one("#path", Input).value == str(tmp_path / "home")  # the default folder
        await pilot.click("#csv")
        await pilot.click("#ok")
        for _ in range(3):
            await settle(pilot)
        folder = tmp_path / "home" / "tiny_shop"
        assert sorted(p.name for p in folder.glob("*.csv")) == ["customers.csv", "orders.csv"]
        assert (settings.data_dir / "tiny_shop").is_dir()  # the full data was made first
        assert lines(app, "note")[-1] == f"Saved 814 rows as 2 CSV file(s) in {folder}"
        await pilot.click("Button.chat-action")  # "Open the folder"
        assert opened == [folder]


async def test_save_as_excel_writes_a_workbook(settings: Settings, shop_file: Path, tmp_path: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        await pilot.click("#ok")  # Excel is the default
        for _ in range(3):
            await settle(pilot)
    book = openpyxl.load_workbook(tmp_path / "home" / "tiny_shop" / "tiny_shop.xlsx", read_only=True)
    assert book.sheetnames == ["customers", "orders"]
    assert next(book["orders"].iter_rows(values_only=True)) == (
        "order_id",
        "customer_id",
        "ordered_at",
        "amount",
    )


async def test_keys_that_cannot_act_yet_say_why(settings: Settings) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in ("ctrl+g", "ctrl+t", "ctrl+e"):
            await pilot.press(key)
            await pilot.pause()
        said = [n.message for n in app._notifications]
        assert said == [
            "There is no schema to make data from yet: describe your data, or open one (ctrl+o).",
            "There is no data to export yet: describe your data, or open a schema (ctrl+o).",
            "There is no data to save yet: describe your data, or open a schema (ctrl+o).",
        ]


async def test_escape_closes_the_keys_panel_and_f_keys_switch_tabs(settings: Settings) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_show_help_panel()
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")
        await pilot.press("f4")
        assert app.query_one("#side").active == "tab-quality"
        await pilot.press("f3")
        assert app.query_one("#side").active == "tab-preview"


async def test_the_chat_follows_the_newest_message(settings: Settings) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for i in range(12):
            app.say("note", f"line {i}\n" * 3)
            await pilot.pause()
        await settle(pilot)
        log = app.query_one(ChatLog)
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y


async def test_an_unexpected_error_outside_a_worker_ends_with_a_readable_message(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(DatagenApp, "reraise_unexpected", False)

    def broken() -> None:
        raise ValueError("a bug in a handler")

    app = create_app(ScriptedBackend(), settings)
    monkeypatch.setattr(app, "action_sessions", broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")
        await pilot.pause(0.2)
    assert app.return_code == 1
    said = " ".join(capsys.readouterr().err.split())  # printed when the app ends
    assert said.startswith(
        "Datagen stopped because of a bug (not your input): ValueError: a bug in a handler"
    )
    assert "Traceback" not in said and "start datagen tui again" in said
    crash = (settings.sessions_dir / "crash.log").read_text(encoding="utf-8")
    assert "Traceback" in crash and "a bug in a handler" in crash  # the details, for a bug report


def test_without_a_terminal_it_says_so_and_exits(capsys: pytest.CaptureFixture[str]) -> None:
    assert not launch.has_terminal(io.StringIO(), io.StringIO())
    assert launch.run() == 2  # pytest's captured streams are not a terminal
    err = capsys.readouterr().err
    assert err.startswith("error: datagen tui needs an interactive terminal") and "\x1b" not in err
