"""The chat column: the transcript, the questions as clickable options, and the input box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from datagen.terminal import safe

ROLE_LABEL = {"user": "You", "assistant": "Datagen", "note": "", "error": "Problem"}


@dataclass(frozen=True)
class QuestionView:
    """A question as the chat shows it; `default` is one of `options` and starts highlighted."""

    id: str
    text: str
    options: list[str]
    default: str


class ChatMessage(Static):
    """One line of the transcript. Text is shown as typed (never parsed as markup), secrets redacted."""

    def __init__(self, role: str, text: str) -> None:
        label = ROLE_LABEL.get(role, "")
        text = safe(text)
        body = Text.assemble((label + "\n", "bold"), text) if label else Text(text)
        super().__init__(body, classes=f"message {role}")
        self.role = role
        self.text = text


class QuestionCard(Vertical):
    """One or two questions; each answered by a click or arrows + Enter. When the last one is
    answered the card posts `Answered` and locks, showing what was chosen."""

    class Answered(Message):
        def __init__(self, card: QuestionCard, answers: dict[str, str]) -> None:
            super().__init__()
            self.card = card
            self.answers = answers

    def __init__(self, questions: list[QuestionView]) -> None:
        super().__init__(classes="questions")
        self.questions = questions
        self.answers: dict[str, str] = {}
        self.border_title = "A quick question" if len(questions) == 1 else f"{len(questions)} quick questions"

    def compose(self) -> ComposeResult:
        for i, q in enumerate(self.questions):
            yield Label(safe(q.text), classes="question-text", markup=False)
            options = [Option(_option_label(safe(o), o == q.default)) for o in q.options]
            yield OptionList(*options, id=f"q{i}", classes="question-options", markup=False)
        yield Button("Use suggestions", id="use-defaults", compact=True)

    def on_mount(self) -> None:
        for i, q in enumerate(self.questions):
            options = self.query_one(f"#q{i}", OptionList)
            options.highlighted = q.options.index(q.default) if q.default in q.options else 0
        self.call_after_refresh(self.focus_first)

    def focus_first(self) -> None:
        """Keys answer at once: the first open question takes the focus (none once all are answered)."""
        open_lists = self.query(OptionList)
        if open_lists:
            open_lists.first().focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        question = self.questions[int((event.option_list.id or "q0")[1:])]
        self.answers[question.id] = question.options[event.option_index]
        open_lists = [
            o for o, q in zip(self.query(OptionList), self.questions, strict=True) if q.id not in self.answers
        ]
        if open_lists:
            open_lists[0].focus()
        else:
            self._finish()

    @on(Button.Pressed, "#use-defaults")
    def _defaults(self, event: Button.Pressed) -> None:
        event.stop()
        for q in self.questions:
            self.answers.setdefault(q.id, q.default)
        self._finish()

    def _finish(self) -> None:
        chosen = safe("\n".join(f"{q.text} → {self.answers[q.id]}" for q in self.questions))
        self.remove_children()
        self.mount(Static(chosen, markup=False, classes="answered"))
        self.add_class("done")
        self.post_message(self.Answered(self, dict(self.answers)))


def _option_label(option: str, default: bool) -> str:
    return f"{option}  (suggested)" if default else option


class ChatInput(Input):
    """The input box; Enter sends (shown in the footer, unlike a plain Input's Enter)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Send", show=True)]


class ChatLog(VerticalScroll):
    """The transcript; keeps the newest line in view."""

    can_focus = False

    def add(self, role: str, text: str) -> ChatMessage:
        message = ChatMessage(role, text)
        self.mount(message)
        self.scroll_end(animate=False)
        return message

    def ask(self, questions: list[QuestionView]) -> QuestionCard:
        card = QuestionCard(questions)
        self.mount(card)
        self.call_after_refresh(self.scroll_end, animate=False)
        return card

    def clear(self) -> None:
        self.remove_children()
