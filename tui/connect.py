"""Connect a model: the screen a person sees first when no language model is set up (and from the
command palette any time). Three ways, one tab each: a server found on this computer (the usual local
ports are probed and their models listed), an OpenAI key, or any other address. "Test and save" makes
one request and says in a sentence whether it worked; only then is the connection saved (per user:
datagen/connection.py), the key kept in the system keyring or a private file and shown again only
masked. "Open an example" works without any model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from datagen import connection
from datagen.nl.discovery import ConnectionTest, LocalServer, guess_mode, list_models, try_connection
from datagen.settings import DEFAULT_MODEL, OPENAI_ENDPOINT
from datagen.terminal import safe

INTRO = (
    "Datagen needs a language model to turn your words into tables. Pick one that runs on this computer, "
    "paste an OpenAI key, or give the address of another server."
)
NONE_FOUND = (
    "No model server answers on this computer's usual ports (Ollama 11434, LM Studio 1234, vLLM 8000, "
    "llama.cpp 8080, Jan 1337). Start one, then press Look again."
)


@dataclass(frozen=True)
class Connected:
    """What the screen returns after a test that worked (and the save)."""

    description: str  # "llama3.1 on Ollama", "gpt-4o-mini at OpenAI"
    where_key: str | None  # "your system keyring", "a file only you can read", or None (no key)


@dataclass(frozen=True)
class Candidate:
    base_url: str | None  # None: OpenAI
    model: str
    mode: str
    key: str | None
    label: str


class ConnectScreen(ModalScreen[Connected | str | None]):
    """Dismissed with `Connected`, with "example" (open an example instead), or None (not now)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Not now")]

    def __init__(
        self,
        find_servers: Callable[[], list[LocalServer]],
        openai_url: str = OPENAI_ENDPOINT,
    ) -> None:
        super().__init__(classes="dialog")
        self.find_servers = find_servers
        self.openai_url = openai_url
        self.servers: list[LocalServer] = []
        saved = connection.load()
        self.saved_key = connection.mask(connection.read_key(saved.key_store)) if saved else ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="connect-box"):
            yield Label("Connect a language model", classes="dialog-title")
            yield Static(INTRO, id="connect-intro", markup=False)
            with TabbedContent(id="connect-tabs"):
                with TabPane("On this computer", id="tab-local"):
                    yield Static(
                        "Looking for model servers on this computer…", id="local-status", markup=False
                    )
                    yield OptionList(id="local-models", markup=False)
                    yield Button("Look again", id="look-again", compact=True)
                with TabPane("OpenAI", id="tab-openai"):
                    key_hint = (
                        f"A key is saved ({self.saved_key}); paste one to replace it."
                        if self.saved_key
                        else ""
                    )
                    yield Label("Your OpenAI API key (starts with sk-)", markup=False)
                    yield Input(placeholder="sk-…", password=True, id="openai-key", compact=True)
                    yield Static(key_hint, id="openai-saved", markup=False)
                    yield Label("Model", markup=False)
                    yield Input(DEFAULT_MODEL, id="openai-model", compact=True)
                with TabPane("Another server", id="tab-custom"):
                    yield Label("Address of an OpenAI-compatible API (ends in /v1)", markup=False)
                    yield Input(placeholder="http://my-server:8000/v1", id="custom-url", compact=True)
                    yield Label("Model", markup=False)
                    yield Input(id="custom-model", compact=True)
                    yield Label("Key (if the server needs one)", markup=False)
                    yield Input(password=True, id="custom-key", compact=True)
            yield Static("", id="connect-result", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test and save", variant="primary", id="connect-test", compact=True)
                yield Button("Open an example without a model", id="connect-example", compact=True)
                yield Button("Not now", id="connect-later", compact=True)

    def on_mount(self) -> None:
        self.query_one("#local-models").display = False
        self.look()

    # ----- local servers -------------------------------------------------------------------------

    @on(Button.Pressed, "#look-again")
    def look(self) -> None:
        self.query_one("#local-status", Static).update("Looking for model servers on this computer…")
        self._probe()

    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def _probe(self) -> None:
        servers = self.find_servers()
        self.app.call_from_thread(self._found, servers)

    def _found(self, servers: list[LocalServer]) -> None:
        self.servers = servers
        models = self.query_one("#local-models", OptionList)
        models.clear_options()
        status = self.query_one("#local-status", Static)
        choices = [(s, m) for s in servers for m in s.models]
        if not servers:
            status.update(NONE_FOUND)
            self.query_one("#connect-result", Static).update(
                "No model server runs on this computer; paste an OpenAI key, or use another server."
            )
            self.query_one("#connect-tabs", TabbedContent).active = "tab-openai"
        elif not choices:
            names = ", ".join(s.name for s in servers)
            status.update(f"Found {names}, but it has no models yet (for Ollama: ollama pull llama3.1).")
        else:
            status.update("Pick a model (↑ ↓, then Test and save):")
            for i, (server, model) in enumerate(choices):
                models.add_option(Option(f"{model}  ·  {server.name} ({server.base_url})", id=str(i)))
            models.highlighted = 0
        models.display = bool(choices)
        self._choices = choices

    # ----- test and save -------------------------------------------------------------------------

    def candidate(self) -> Candidate | str:
        """What the active tab describes, or what is missing from it (a sentence)."""
        tab = self.query_one("#connect-tabs", TabbedContent).active
        if tab == "tab-local":
            models = self.query_one("#local-models", OptionList)
            if not getattr(self, "_choices", None) or models.highlighted is None:
                return "No local model to pick yet: start a server, or use another tab."
            server, model = self._choices[models.highlighted]
            return Candidate(server.base_url, model, server.mode, None, f"{model} on {server.name}")
        if tab == "tab-openai":
            key = self.query_one("#openai-key", Input).value.strip()
            if not key:
                saved = connection.load() if self.saved_key else None
                key = (connection.read_key(saved.key_store) if saved else None) or ""
            if not key:
                return "Paste your OpenAI key first (it starts with sk-)."
            model = self.query_one("#openai-model", Input).value.strip() or DEFAULT_MODEL
            url = None if self.openai_url == OPENAI_ENDPOINT else self.openai_url
            return Candidate(url, model, "TOOLS", key, f"{model} at OpenAI")
        url = self.query_one("#custom-url", Input).value.strip()
        model = self.query_one("#custom-model", Input).value.strip()
        if not url.startswith(("http://", "https://")):
            return "Give the server's address, starting with http:// or https://."
        if not model:
            listed = list_models(url, self.query_one("#custom-key", Input).value.strip() or None, timeout=3)
            hint = f" It lists: {', '.join(listed[:6])}." if listed else ""
            return "Name the model to use." + hint
        custom_key = self.query_one("#custom-key", Input).value.strip() or None
        return Candidate(url, model, guess_mode(url), custom_key, f"{model} at {url}")

    @on(Button.Pressed, "#connect-test")
    @on(OptionList.OptionSelected, "#local-models")
    @on(Input.Submitted)
    def test(self) -> None:
        chosen = self.candidate()
        result = self.query_one("#connect-result", Static)
        if isinstance(chosen, str):
            result.update(chosen)
            result.set_classes("-problem")
            return
        result.update(f"Testing {chosen.label}… (one short request)")
        result.set_classes("-testing")
        self.query_one("#connect-test", Button).disabled = True
        self._test(chosen)

    @work(thread=True, exclusive=True, group="test", exit_on_error=False)
    def _test(self, chosen: Candidate) -> None:
        outcome = try_connection(chosen.base_url or self.openai_url, chosen.model, chosen.key)
        saved = None
        if outcome.ok:
            saved = connection.save(chosen.base_url, chosen.model, chosen.mode, chosen.key)
        self.app.call_from_thread(self._tested, chosen, outcome, saved)

    def _tested(
        self, chosen: Candidate, outcome: ConnectionTest, saved: connection.SavedConnection | None
    ) -> None:
        self.query_one("#connect-test", Button).disabled = False
        result = self.query_one("#connect-result", Static)
        result.update(("✓ " if outcome.ok else "✗ ") + safe(outcome.message))
        result.set_classes("-ok" if outcome.ok else "-problem")
        if outcome.ok and saved is not None:
            where = {
                connection.IN_KEYRING: "your system keyring",
                connection.IN_FILE: "a file only you can read",
            }
            self.dismiss(Connected(chosen.label, where.get(saved.key_store or "")))

    @on(Button.Pressed, "#connect-example")
    def _example(self) -> None:
        self.dismiss("example")

    @on(Button.Pressed, "#connect-later")
    def _later(self) -> None:
        self.dismiss(None)
