"""The one-shot front end's terminal side: questions by menu or typed line, and how events print."""

from __future__ import annotations

import io

from rich.console import Console

from datagen.nl.console import OWN_WORDS, EventPrinter, ask_questions
from datagen.nl.events import Event
from datagen.nl.turns import Question

PERIOD = Question(id="period", text="Which period?", kind="choice", options=["2023", "2024"], default="2024")
FUNNEL = Question(id="funnel", text="A funnel?", kind="yes_no", default="no")


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=120, highlight=False, color_system=None), buffer


def test_typed_answers_empty_lines_and_end_of_input_take_the_default() -> None:
    c, out = console()
    answers = ask_questions([PERIOD, FUNNEL], c, stream=io.StringIO("1\n"))
    assert answers == {"period": "1", "funnel": "no"}  # "1" is read as an option by the conversation
    assert "2. 2024  (default)" in out.getvalue() and "? A funnel?" in out.getvalue()


def test_the_menu_picks_an_option_or_lets_the_person_type_one() -> None:
    c, _ = console()
    picks = iter([1, len(PERIOD.options)])  # "2024", then "something else (type it)"
    shown: list[list[str]] = []

    def menu(_: Console, options: list[str], default: int) -> int:
        shown.append(options)
        assert options[default] == "2024"
        return next(picks)

    assert ask_questions([PERIOD], c, menu=menu) == {"period": "2024"}
    assert ask_questions([PERIOD], c, stream=io.StringIO("only Q3 2024\n"), menu=menu) == {
        "period": "only Q3 2024"
    }
    assert shown[0] == ["2023", "2024", OWN_WORDS]


def test_ready_prints_summary_diff_and_assumptions_failed_prints_problems() -> None:
    c, out = console()
    printer = EventPrinter(c)
    printer(Event("progress", "asking the model"))
    printer(
        Event(
            "ready",
            "schema ready: 1 table(s) (t)",
            {"summary": "S", "diff_lines": ["+ table t"], "assumptions": ["A"]},
        )
    )
    printer(Event("failed", "no luck", {"problems": ["nodes[0].id: bad"]}))
    text = out.getvalue()
    assert "asking the model" not in text  # progress only with --verbose
    assert "✓ schema ready" in text and "+ table t" in text and "assumed: A" in text
    assert "• nodes[0].id: bad" in text and "no luck" not in text  # the command ends with the failure's text
