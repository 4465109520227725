"""The app over the real conversation core and the real OpenAI client, replaying recorded exchanges
(cassettes/) with the network blocked: what a person sees from the first sentence to the quality score."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, OptionList

from datagen.settings import Settings
from tests.nl.recording import CASSETTES, VCR_CONFIG
from tests.tui.test_app import SIZE, lines, send, settle, tree_labels
from tui import create_app
from tui.llm import LLMBackend
from tui.widgets.chat import FoldedNote, QuestionCard
from tui.widgets.quality_view import QualityView

pytestmark = pytest.mark.anyio
KEY = "sk-test-not-a-real-key"


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return dict(VCR_CONFIG)


def replay(name: str):
    marks = (pytest.mark.vcr, pytest.mark.default_cassette(f"{name}.yaml"), pytest.mark.block_network)

    def mark(test):
        for m in marks:
            test = m(test)
        return test

    return mark


@replay("ask_two_questions")
async def test_describe_answer_by_click_preview_and_score(settings: Settings) -> None:
    app = create_app(LLMBackend(Settings(api_key=KEY, llm_mode="JSON_SCHEMA")), settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Marketing data: campaigns, clicks and conversions.")
        card = app.query_one(QuestionCard)
        assert [q.id for q in card.questions] == ["period", "funnel"]
        assert [o.highlighted for o in card.query(OptionList)] == [0, 0]  # the defaults
        await pilot.click("#q0", offset=(4, 1))  # "half a year"
        await pilot.press("enter")  # the funnel: its default, yes
        await settle(pilot)
        assert app.conversation is not None and app.conversation.state == "ready"
        assert app.session.answers == {"period": "half a year", "funnel": "yes"}
        ready = lines(app, "assistant")[-1]
        assert "Schema ready:" in ready
        tables = [t.id for t in app.checked.schema.nodes]
        assert any(label.startswith(tables[0]) for label in tree_labels(app))
        grids = list(app.query(DataTable))
        assert len(grids) == len(tables) and all(g.row_count > 0 for g in grids)
        quality = app.query_one(QualityView)
        assert str(quality.query_one("#quality-score").value).isdigit()
        assert lines(app, "error") == []


@replay("check_error_then_repaired")
async def test_a_repair_by_the_model_is_shown_in_the_chat(settings: Settings) -> None:
    app = create_app(LLMBackend(Settings(api_key=KEY, llm_mode="TOOLS")), settings)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "An online course platform for one school year: students, courses and enrollments.")
        [note] = app.query(FoldedNote)
        assert note.text == "I fixed a mistake in my draft." and "repair round" in note.details
        assert app.checked is not None and app.checked.ok
