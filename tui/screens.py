"""Small modal dialogs: open a schema file, save the schema, resume the last session."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from datagen.resources import list_examples


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


class ResumeScreen(ModalScreen[bool]):
    """Offer the last session; Enter resumes, Escape starts afresh."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(False)", "Start new")]

    def __init__(self, title: str, lines: int) -> None:
        super().__init__(classes="dialog")
        self.session_title = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Pick up where you left off?", classes="dialog-title")
            yield Label(f"“{self.session_title}” — {self.lines} message(s)", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume", variant="primary", id="resume", compact=True)
                yield Button("Start new", id="new", compact=True)

    def on_mount(self) -> None:
        self.query_one("#resume", Button).focus()

    @on(Button.Pressed)
    def _choose(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "resume")
