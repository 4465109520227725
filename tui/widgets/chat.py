"""The chat column: the transcript, the questions as clickable options, and the input box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Collapsible, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from datagen.terminal import safe

ROLE_LABEL = {"user": "You", "assistant": "Datagen", "note": "", "error": "Problem"}
HINTS = "↑ ↓ choose · Enter picks · or click"


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


class FoldedNote(Collapsible):
    """A note whose particulars are one click (or Enter) away: "I fixed a mistake in my draft", with
    what the checks found folded under it."""

    def __init__(self, text: str, details: str) -> None:
        super().__init__(Static(safe(details), markup=False), title=safe(text), collapsed=True)
        self.add_class("message", "note", "folded")
        self.text = safe(text)
        self.details = safe(details)


class ActionBar(Horizontal):
    """Buttons under a message (Try again, Connect a model, Open the folder): each runs an app action."""

    def __init__(self, actions: list[tuple[str, str]]) -> None:
        super().__init__(classes="message-actions")
        self.actions = actions

    def compose(self) -> ComposeResult:
        for label, action in self.actions:
            yield Button(label, action=f"app.{action}", compact=True, classes="chat-action")


class QuestionCard(Vertical):
    """One or two questions; each answered by a click or arrows + Enter. An answered question shows
    its answer with a mark at once (nothing is removed, so the card never blanks); when the last one is
    answered the card posts `Answered` and locks."""

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
        self.border_subtitle = HINTS

    def compose(self) -> ComposeResult:
        for i, q in enumerate(self.questions):
            yield Label(safe(q.text), classes="question-text", markup=False)
            options = [Option(_option_label(safe(o), o == q.default)) for o in q.options]
            yield OptionList(*options, id=f"q{i}", classes="question-options", markup=False)
            yield Static("", id=f"a{i}", classes="question-answer", markup=False)
        yield Button("Use suggestions", id="use-defaults", compact=True)

    def on_mount(self) -> None:
        for i, q in enumerate(self.questions):
            options = self.query_one(f"#q{i}", OptionList)
            options.highlighted = q.options.index(q.default) if q.default in q.options else 0
            self.query_one(f"#a{i}").display = False
        self.call_after_refresh(self.focus_first)

    def focus_first(self) -> None:
        """Keys answer at once: the first open question takes the focus (none once all are answered)."""
        open_lists = [o for o in self.query(OptionList) if o.display]
        if open_lists:
            open_lists[0].focus()

    def _show_answer(self, index: int) -> None:
        question = self.questions[index]
        self.query_one(f"#q{index}").display = False
        answer = self.query_one(f"#a{index}", Static)
        answer.update(Text.assemble(("✓ ", "bold green"), safe(self.answers[question.id])))
        answer.display = True

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int((event.option_list.id or "q0")[1:])
        question = self.questions[index]
        self.answers[question.id] = question.options[event.option_index]
        self._show_answer(index)
        if len(self.answers) < len(self.questions):
            self.focus_first()
        else:
            self._finish()

    @on(Button.Pressed, "#use-defaults")
    def _defaults(self, event: Button.Pressed) -> None:
        event.stop()
        for i, q in enumerate(self.questions):
            if q.id not in self.answers:
                self.answers[q.id] = q.default
                self._show_answer(i)
        self._finish()

    def _finish(self) -> None:
        self.query_one("#use-defaults").display = False
        self.border_subtitle = ""
        self.add_class("done")
        self.post_message(self.Answered(self, dict(self.answers)))


def _option_label(option: str, default: bool) -> str:
    return f"{option}  (suggested)" if default else option


class ChatInput(TextArea):
    """The message box: several lines, so a long request stays in view. Enter sends; ctrl+j (or
    shift+enter / alt+enter where the terminal tells them apart) starts a new line."""

    # Shown in the footer; the keys themselves are handled in `_on_key`, in order with the typed
    # characters (a priority binding would run before characters still queued, cutting a fast paste).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", show=True),
        Binding("ctrl+j", "newline", "New line", show=False),
    ]
    NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")

    class Submitted(Message):
        def __init__(self, input: ChatInput, value: str) -> None:
            super().__init__()
            self.input = input
            self.value = value

        @property
        def control(self) -> ChatInput:
            return self.input

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            compact=True,
            placeholder=placeholder,
            tab_behavior="focus",
        )
        self.highlight_cursor_line = False

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        self.insert("\n")

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" or event.key in self.NEWLINE_KEYS:
            event.prevent_default()
            event.stop()
            if event.key == "enter":
                self.action_submit()
            else:
                self.action_newline()
            return
        await super()._on_key(event)


class ChatLog(VerticalScroll):
    """The transcript; anchored, so it keeps the newest line in view (until the person scrolls up)."""

    can_focus = False

    def on_mount(self) -> None:
        self.anchor()

    def _follow(self) -> None:
        self.anchor()
        self.call_after_refresh(self.scroll_end, animate=False)

    def add(self, role: str, text: str) -> ChatMessage:
        message = ChatMessage(role, text)
        self.mount(message)
        self._follow()
        return message

    def add_folded(self, text: str, details: str) -> FoldedNote:
        note = FoldedNote(text, details)
        self.mount(note)
        self._follow()
        return note

    def add_actions(self, actions: list[tuple[str, str]]) -> ActionBar:
        bar = ActionBar(actions)
        self.mount(bar)
        self._follow()
        return bar

    def ask(self, questions: list[QuestionView]) -> QuestionCard:
        card = QuestionCard(questions)
        self.mount(card)
        self._follow()
        return card

    def clear(self) -> None:
        self.remove_children()
