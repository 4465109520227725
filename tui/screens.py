"""Small modal dialogs: open a schema file, save the schema, save the data as CSV or Excel, resume
the last conversation, pick one of the saved conversations, confirm before anything is discarded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from datagen.resources import list_examples
from tui.session import Session, SessionStore


class PathScreen(ModalScreen[Path | None]):
    """Ask for a file path; Enter confirms, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, default: str, action: str) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.default = default
        self.action_label = action

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Input(self.default, id="path", select_on_focus=False)
            yield from self.extra()
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.action_label, variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def extra(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        field = self.query_one("#path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#ok")
    def _confirm(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class SaveScreen(PathScreen):
    def __init__(self, default: Path) -> None:
        super().__init__("Save the schema as", str(default), "Save")


class OpenScreen(PathScreen):
    """A path, or one of the bundled examples picked from a list."""

    def __init__(self) -> None:
        super().__init__("Open a schema file (JSON), or pick an example below", "", "Open")

    def extra(self) -> ComposeResult:
        examples = list_examples()
        if examples:
            width = max(len(e.name) for e in examples)
            yield OptionList(
                *[Option(f"{e.name:<{width}}  {e.summary}", id=str(e.path)) for e in examples],
                id="examples",
                markup=False,
            )

    @on(OptionList.OptionSelected, "#examples")
    def _example(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Path(str(event.option.id)))


class ResumeScreen(ModalScreen[str]):
    """Offer the last conversation worth resuming. Dismissed with "resume", "all" (show the list) or
    "new"; Escape is "new", and the app says where the earlier conversation still is."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss('new')", "Start new")]

    def __init__(self, session: Session) -> None:
        super().__init__(classes="dialog")
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Pick up where you left off?", classes="dialog-title")
            yield Static(describe(self.session), markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume", variant="primary", id="resume", compact=True)
                yield Button("All conversations", id="all", compact=True)
                yield Button("Start new", id="new", compact=True)

    def on_mount(self) -> None:
        self.query_one("#resume", Button).focus()

    @on(Button.Pressed)
    def _choose(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "new")


def describe(session: Session, when: datetime | None = None) -> str:
    """`“a shop with weekends”` and, on the next line,
    `2 table(s): customers, orders · has a schema · 12 Mar 14:05`."""
    tables = session.tables
    parts = []
    if tables:
        shown = ", ".join(tables[:4]) + (", …" if len(tables) > 4 else "")
        parts.append(f"{len(tables)} table(s): {shown}")
    parts.append(session.state)
    if when is not None:
        parts.append(when.astimezone().strftime("%d %b %H:%M"))
    return f"“{session.title}”\n" + " · ".join(parts)


class SessionsScreen(ModalScreen[Session | None]):
    """Every saved conversation, the ones worth going back to first; failed and empty ones are marked
    and listed after them. Enter opens one; Delete asks before removing it; Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("delete", "delete", "Delete"),
    ]

    def __init__(self, store: SessionStore, current: str | None = None) -> None:
        super().__init__(classes="dialog")
        self.store = store
        self.current = current
        self.sessions: list[tuple[Session, datetime]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Your conversations", classes="dialog-title")
            yield OptionList(id="sessions", markup=False)
            yield Static("", id="sessions-empty", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Open", variant="primary", id="open", compact=True)
                yield Button("Delete…", id="delete", compact=True)
                yield Button("Close", id="close", compact=True)

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#sessions").focus()

    def refresh_list(self) -> None:
        self.sessions = [(s, w) for s, w in self.store.saved() if s.id != self.current]
        options = self.query_one("#sessions", OptionList)
        options.clear_options()
        for session, when in self.sessions:
            mark = "✗ " if session.state in ("failed", "empty") else "  "
            title, details = describe(session, when).split("\n", 1)
            options.add_option(Option(f"{mark}{title}\n    {details}", id=session.id))
        if self.sessions:
            options.highlighted = 0
        self.query_one("#sessions-empty", Static).update(
            "" if self.sessions else "No other conversation is saved yet."
        )

    def _chosen(self) -> Session | None:
        index = self.query_one("#sessions", OptionList).highlighted
        return self.sessions[index][0] if index is not None and index < len(self.sessions) else None

    @on(OptionList.OptionSelected, "#sessions")
    @on(Button.Pressed, "#open")
    def _open(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self.dismiss(chosen)

    @on(Button.Pressed, "#delete")
    def action_delete(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store.delete(chosen)
                self.refresh_list()

        self.app.push_screen(ConfirmScreen(f"Delete “{chosen.title}” for good?", "Delete"), confirmed)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before something is discarded; Escape (or Keep) says no."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(False)", "Keep")]

    def __init__(self, question: str, yes: str) -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.question, classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error", id="yes", compact=True)
                yield Button("Keep it", variant="primary", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _choose(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


@dataclass(frozen=True)
class DataDestination:
    folder: Path
    excel: bool


class SaveDataScreen(ModalScreen[DataDestination | None]):
    """Where the CSV files or the Excel workbook go: a folder (the dataset gets its own folder inside
    it) and the format."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, default: Path, name: str) -> None:
        super().__init__(classes="dialog")
        self.default = default
        self.name_ = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Save the data to open it elsewhere", classes="dialog-title")
            with RadioSet(id="format"):
                yield RadioButton("Excel workbook (one sheet per table)", value=True, id="excel")
                yield RadioButton("CSV files (one per table)", id="csv")
            yield Label(f"In this folder (a folder “{self.name_}” is made inside it):", markup=False)
            yield Input(str(self.default), id="path", select_on_focus=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#ok")
    def _confirm(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        if not value:
            return
        excel = self.query_one("#format", RadioSet).pressed_button is self.query_one("#excel")
        self.dismiss(DataDestination(Path(value).expanduser(), excel))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
