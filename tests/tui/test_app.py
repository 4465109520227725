"""The real app driven with Pilot over a scripted conversation: what the person sees after each step."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Tree

from datagen.errors import LLMError
from datagen.nl.turns import Question
from datagen.settings import Settings
from tests.tui.conftest import SHOP
from tests.tui.scripted import ScriptedBackend, ask, fail, failed, propose
from tui import create_app
from tui.app import DatagenApp
from tui.connect import ConnectScreen
from tui.widgets.chat import ChatMessage, FoldedNote, QuestionCard

pytestmark = pytest.mark.anyio
SIZE = (120, 40)
WEEKEND = Question(id="weekends", text="Should weekends be busier?", kind="yes_no", default="yes")
SPAN = Question(
    id="span",
    text="How much history?",
    kind="choice",
    options=["1 year", "2 years", "5 years"],
    default="2 years",
)


async def settle(pilot: Pilot) -> None:
    """Until every worker is done and every message they posted is handled."""
    for _ in range(6):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def lines(app: DatagenApp, role: str | None = None) -> list[str]:
    return [m.text for m in app.query(ChatMessage) if role is None or m.role == role]


def tree_labels(app: DatagenApp) -> list[str]:
    tree = app.query_one("#schema-tree", Tree)
    out = []

    def walk(node) -> None:
        for child in node.children:
            out.append(str(child.label))
            walk(child)

    walk(tree.root)
    return out


async def send(pilot: Pilot, text: str) -> None:
    """Type into the chat input (set at once: key by key is slow and tests Textual, not us) and Enter."""
    await pilot.click("#chat-input")
    pilot.app.query_one("#chat-input").value = text
    await pilot.press("enter")
    await settle(pilot)


async def test_input_has_focus_at_start_and_the_welcome_is_shown(settings: Settings) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.focused is app.query_one("#chat-input")
        assert "Describe the data you need" in lines(app, "assistant")[0]


async def test_opening_a_schema_file_shows_it_without_a_language_model(
    settings: Settings, shop_file: Path
) -> None:
    backend = ScriptedBackend(error=LLMError("no model configured"))
    app = create_app(backend, settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        labels = tree_labels(app)  # in plain words first
        assert any(label.startswith("customers") and "200 customers" in label for label in labels)
        assert any("each customer has about 3 orders" in label for label in labels)
        assert "every order belongs to a real customer" in labels
        app.query_one("#schema-mode").active = "outline"  # the technical view
        await settle(pilot)
        labels = tree_labels(app)
        assert any("~3 per row of customers" in label for label in labels)
        assert "orders.customer_id → customers.customer_id" in labels
        grids = {str(g.id): g.row_count for g in app.query(DataTable)}
        assert grids == {"preview-customers": 50, "preview-orders": 100}  # shown rows are capped
        assert str(app.query_one("#preview-tables").get_tab("pane-orders").label) == "orders (150)"
        assert lines(app, "error") == []
        assert backend.made == []


async def test_ask_answer_by_click_then_propose_shows_schema_and_preview(settings: Settings) -> None:
    backend = ScriptedBackend([ask(WEEKEND, SPAN), propose(SHOP, "A small shop with weekend peaks.")])
    app = create_app(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "an online shop")
        card = app.query_one(QuestionCard)
        options = card.query(OptionList)
        assert [o.highlighted for o in options] == [0, 1]  # each default highlighted
        assert app.focused is options.first()
        await pilot.press("down", "enter")  # weekends: no
        await pilot.click("#q1", offset=(4, 2))  # history: the third option, "5 years"
        await settle(pilot)
        conversation = backend.made[0]
        assert conversation.calls == [
            ("send", "an online shop"),
            ("answer", {"weekends": "no", "span": "5 years"}),
        ]
        [ready] = lines(app, "assistant")[1:]
        assert ready.startswith("A small shop with weekend peaks.\nSchema ready: 2 table(s)")
        assert "customers.customer_id" not in lines(app)
        assert any(label.startswith("orders") for label in tree_labels(app))
        assert app.query_one("#preview-orders", DataTable).row_count == 100
        assert app.session.answers == {"weekends": "no", "span": "5 years"}
        app.query_one("#side").active = "tab-quality"
        await settle(pilot)
        assert str(app.query_one("#quality-score").value) == "100"  # the sample's checks all pass
        assert "everything checks out" in str(app.query_one("#quality-verdict").render())


async def test_use_the_suggested_answers_button_sends_the_defaults(settings: Settings) -> None:
    backend = ScriptedBackend([ask(WEEKEND, SPAN), propose(SHOP)])
    app = create_app(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        await pilot.click("#use-defaults")
        await settle(pilot)
        assert backend.made[0].calls[-1] == ("answer", {"weekends": "yes", "span": "2 years"})
        assert app.query_one(QuestionCard).has_class("done")


async def test_a_repair_is_shown_in_the_chat(settings: Settings) -> None:
    backend = ScriptedBackend([propose(SHOP, repaired="the model fixed the problems in 1 repair round(s)")])
    app = create_app(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        [note] = app.query(FoldedNote)
        assert note.text == "I fixed a mistake in my draft." and note.collapsed
        assert "The model fixed the problems in 1 repair round(s)" in note.details  # one click away


async def test_an_endpoint_failure_is_a_readable_message_and_the_chat_goes_on(settings: Settings) -> None:
    down = failed(
        "cannot reach the language model endpoint (connection refused); gave up after 8 request(s)",
        hint="try again in a minute; check that the endpoint is up (OPENAI_BASE_URL)",
    )
    backend = ScriptedBackend([down, propose(SHOP, "Second try worked.")])
    app = create_app(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        [error] = lines(app, "error")
        assert error == (
            "The language model's server refused the request. Check the connection (ctrl+k), then try again."
        )
        [details] = app.query(FoldedNote)
        assert details.details == (
            "Cannot reach the language model endpoint (connection refused); gave up after 8 request(s)."
            "\nWhat to do: try again in a minute; check that the endpoint is up (OPENAI_BASE_URL)"
        )
        assert not app.thinking and not app.query_one("#status").display
        await pilot.click("Button.chat-action")  # "Try again": the same message once more
        await settle(pilot)
        assert backend.made[0].calls == [("send", "a shop"), ("send", "a shop")]
        assert lines(app, "assistant")[-1].startswith("Second try worked.")


async def test_a_message_without_a_model_offers_to_connect_one_and_keeps_the_text(
    settings: Settings, shop_file: Path
) -> None:
    app = create_app(ScriptedBackend(connected=False), settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "add a discount column")
        assert lines(app, "error")[-1] == "No language model is connected yet, so I cannot read your request."
        assert isinstance(app.screen, ConnectScreen)  # the way to fix it, opened at once
        await pilot.press("escape")
        await settle(pilot)
        assert app.query_one("#chat-input").value == "add a discount column"  # nothing typed is lost


async def test_a_bug_in_a_worker_is_a_message_not_a_traceback(settings: Settings) -> None:
    app = create_app(ScriptedBackend([fail(RuntimeError("boom"))]), settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        [error] = lines(app, "error")
        assert "Something went wrong inside Datagen" in error and "boom" in error
        assert app.is_running and not app.thinking


async def test_save_writes_the_schema_file(settings: Settings, tmp_path: Path) -> None:
    app = create_app(ScriptedBackend([propose(SHOP)]), settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        await pilot.press("ctrl+s")
        await pilot.pause()
        field = app.screen.query_one("#path")
        assert field.value == "tiny_shop.json"
        field.value = str(tmp_path / "out" / "shop.json")
        await pilot.press("enter")
        await settle(pilot)
        assert json.loads((tmp_path / "out" / "shop.json").read_text(encoding="utf-8")) == SHOP
        assert any("Saved the schema" in line for line in lines(app, "note"))


async def test_resume_restores_transcript_schema_and_pending_questions(settings: Settings) -> None:
    first = ScriptedBackend([propose(SHOP, "Here it is."), ask(WEEKEND)])
    app = create_app(first, settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
        await send(pilot, "make weekends matter")
        before = lines(app)
    second = ScriptedBackend([propose(SHOP, "Weekends doubled.")])
    app = create_app(second, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Pick up where you left off" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("enter")
        await settle(pilot)
        assert lines(app) == before
        assert any(label.startswith("customers") for label in tree_labels(app))
        assert len(second.resumed) == 1
        assert app.query_one(QuestionCard).questions[0].id == "weekends"
        await pilot.press("enter")  # answer the restored question with its default
        await settle(pilot)
        assert second.made[0].calls[-1] == ("answer", {"weekends": "yes"})
        assert lines(app, "assistant")[-1].startswith("Weekends doubled.")


async def test_start_new_instead_of_resuming(settings: Settings) -> None:
    app = create_app(ScriptedBackend([propose(SHOP)]), settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "a shop")
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert lines(app)[-1] == "Your earlier conversations are kept: ctrl+l lists them."  # not silent
        assert app.checked is None and next(s.title for s, _ in app.store.saved()) == "a shop"


async def test_generate_writes_the_dataset_and_export_writes_csv(settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        data = settings.data_dir / "tiny_shop"
        assert sorted(p.name for p in data.glob("*.parquet")) == ["customers.parquet", "orders.parquet"]
        assert any(line.startswith("Wrote ") and "2 table(s)" in line for line in lines(app, "note"))
        assert not app.query_one("#status").display
        verdict = app.query_one("#quality-verdict")
        assert f"checked on {data}" in str(verdict.render())  # validated right after writing
        verdict.update("")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert f"checked on {data}" in str(verdict.render())
        assert app.query_one("#side").active == "tab-quality"
        await pilot.press("ctrl+t")
        await settle(pilot)
        export = settings.export_dir / "tiny_shop"
        assert (export / "orders.csv").exists() and (export / "dataset.json").exists()


async def test_actions_need_a_schema_and_say_so(settings: Settings) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert not (settings.data_dir).exists()
        assert app.check_action("generate", ()) is None  # shown greyed out in the footer


async def test_every_action_is_in_the_command_palette_and_the_footer(settings: Settings) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Generate the dataset",
            "Validate",
            "Save the schema",
            "Export CSV",
            "Open a schema",
            "New conversation",
            "Quit",
        ):
            assert title in titles
        keys = {b.key for _, b, *_ in app.screen.active_bindings.values()}
        assert {"ctrl+g", "ctrl+r", "ctrl+s", "ctrl+t", "ctrl+o", "ctrl+n", "ctrl+q", "enter"} <= keys


async def test_new_conversation_clears_everything(settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        old = app.session.id
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.checked is None and tree_labels(app) == [] and list(app.query(DataTable)) == []
        assert len(lines(app)) == 1 and app.session.id != old


async def test_a_schema_opened_first_is_what_the_conversation_edits(
    settings: Settings, shop_file: Path
) -> None:
    backend = ScriptedBackend([propose(SHOP, "Added nothing, really.")])
    app = create_app(backend, settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "add a discount column")
        calls = backend.made[0].calls
        assert [kind for kind, _ in calls] == ["load_schema", "send"]
        assert calls[0][1] == SHOP
        assert not any(line.startswith("Schema ready") for line in lines(app))  # the load is not announced


async def test_the_open_dialog_takes_a_path(settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press(*shop_file.name, "enter")
        await settle(pilot)
        assert app.checked is not None and app.checked.ok
        assert lines(app, "assistant")[-1].startswith(f"Opened {shop_file.name}.")


async def test_an_older_schema_is_opened_in_the_current_form_and_the_chat_lists_the_changes(
    settings: Settings, tmp_path: Path
) -> None:
    old = json.loads(json.dumps(SHOP))
    old["timeframe"]["freq"] = "Hours"
    del old["constraints"]
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    app = create_app(ScriptedBackend(), settings, schema_path=Path("old.json"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.checked is not None and app.checked.ok
        said = lines(app, "assistant")
        opened = next(i for i, line in enumerate(said) if line.startswith("Opened old.json."))
        changes = said[opened + 1]
        assert changes.startswith("It is written in an older form; I read it as:")
        assert "- timeframe.freq: frequency 'Hours' read as the alias 'h'" in changes
        assert "- constraints: no 'constraints' block: read as {}" in changes
        assert app.checked.document["timeframe"]["freq"] == "h"  # what the app shows and edits


async def test_a_missing_or_broken_file_is_a_message(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"version": "1.0",', encoding="utf-8")
    app = create_app(ScriptedBackend(), settings, schema_path=Path("broken.json"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        [error] = lines(app, "error")
        assert "broken.json:1:19: not valid JSON" in error and "What to do: fix the JSON syntax" in error
        assert app.checked is None and not app.query_one("#status").display


async def test_an_invalid_schema_shows_its_problems_in_the_schema_tab(
    settings: Settings, tmp_path: Path
) -> None:
    bad = json.loads(json.dumps(SHOP))
    bad["nodes"][1]["columns"][1]["generator"] = {"lookup": {"from": "clients.id"}}
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    app = create_app(ScriptedBackend(), settings, schema_path=Path("bad.json"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert lines(app, "error") == ["The schema has 1 problem(s); see the Schema tab."]
        summary = str(app.query_one("#schema-summary").render())
        assert "clients" in summary
        assert list(app.query(DataTable)) == [] and app.check_action("generate", ()) is None


async def test_quitting_does_not_wait_for_a_slow_model(settings: Settings) -> None:
    release = threading.Event()

    def slow(conversation):
        release.wait(30)
        return []

    app = create_app(ScriptedBackend([slow]), settings)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#chat-input")
            await pilot.press(*"a shop", "enter")
            await pilot.pause(0.2)
            assert app.thinking and app.query_one("#status").display
            started = time.perf_counter()
            await pilot.press("ctrl+q")
            await app.workers.wait_for_complete()
            assert time.perf_counter() - started < 3
    finally:
        release.set()


async def test_esc_stops_waiting_for_the_model_and_the_next_message_starts_afresh(
    settings: Settings, shop_file: Path
) -> None:
    release = threading.Event()

    def slow(conversation):
        release.wait(30)
        return list(propose(SHOP, "Too late.")(conversation))

    backend = ScriptedBackend([slow, propose(SHOP, "Fresh start.")])
    app = create_app(backend, settings, schema_path=shop_file)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.query_one("#chat-input").value = "add a discount"
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.check_action("cancel", ()) is True
            await pilot.press("escape")
            await settle(pilot)
            assert not app.thinking and app.conversation is None
            assert lines(app, "note")[-1].startswith("Stopped waiting for the model")
            release.set()  # the abandoned request answers late: nothing of it reaches the screen
            await send(pilot, "add a discount, please")
            assert [kind for kind, _ in backend.made[1].calls] == ["load_schema", "send"]
            assert lines(app, "assistant")[-1].startswith("Fresh start.")
            assert not any("Too late." in line for line in lines(app))
    finally:
        release.set()


async def test_a_resumed_session_keeps_its_generated_dataset(settings: Settings, shop_file: Path) -> None:
    app = create_app(ScriptedBackend(), settings, schema_path=shop_file)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
    app = create_app(ScriptedBackend(), settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # resume
        await settle(pilot)
        assert app.dataset == settings.data_dir / "tiny_shop"
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert (settings.export_dir / "tiny_shop" / "customers.csv").exists()


async def test_preview_problems_are_shown_and_the_checks_wait_for_a_clean_sample(
    settings: Settings, tmp_path: Path
) -> None:
    broken = json.loads(json.dumps(SHOP))
    ratio = {"expression": {"code": "amount / (customer_id - customer_id)"}}
    broken["nodes"][1]["columns"].append({"name": "ratio", "type": "float", "generator": ratio})
    (tmp_path / "ratio.json").write_text(json.dumps(broken), encoding="utf-8")
    app = create_app(ScriptedBackend(), settings, schema_path=Path("ratio.json"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        summary = str(app.query_one("#preview-summary").render())
        assert "1 problem(s) in the sample" in summary and "orders.ratio: " in summary
        assert "values are infinite" in summary
        assert str(app.query_one("#quality-score").value) == ""


async def test_the_input_takes_several_lines_and_sends_once_with_everything_typed(settings: Settings) -> None:
    backend = ScriptedBackend([propose(SHOP)])
    app = create_app(backend, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#chat-input")
        await pilot.press(*"a shop", "ctrl+j", *"with weekends", "enter")  # no pause: keys queue up
        await settle(pilot)
        assert backend.made[0].calls == [("send", "a shop\nwith weekends")]
        assert app.query_one("#chat-input").value == ""
