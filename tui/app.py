"""The Datagen chat app. Presentation only: the conversation comes from an injected `Backend`, the
data work from `tui.jobs`; long work runs in thread workers that post `tui.messages` back.

Everything that would make a test depend on the machine is injected: the clock (the waiting timer),
how a folder is opened, how local model servers are found, and the OpenAI address."""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, ProgressBar, TabbedContent, TabPane, Tabs
from textual.worker import Worker, WorkerState, get_current_worker

from datagen import connection
from datagen.dsl import CheckResult
from datagen.errors import DatagenError
from datagen.io.manifest import CSV_EXPORT, DATASET
from datagen.io.names import default_file, default_output_dir
from datagen.nl.discovery import LocalServer, find_local_servers
from datagen.settings import OPENAI_ENDPOINT, Settings
from datagen.terminal import safe
from tui import jobs
from tui import messages as m
from tui.backend import Backend, ConversationLike, EventLike, OnEvent
from tui.connect import Connected, ConnectScreen
from tui.opener import open_folder
from tui.quality import from_report
from tui.screens import DataDestination, OpenScreen, ResumeScreen, SaveDataScreen, SaveScreen, SessionsScreen
from tui.session import Entry, Session, SessionStore
from tui.views import (
    RETRYABLE,
    detail_text,
    failed_text,
    phase,
    plain_failure,
    plain_repair,
    question_views,
    ready_text,
)
from tui.widgets.chat import ChatInput, ChatLog, QuestionCard, QuestionView
from tui.widgets.preview import PreviewView
from tui.widgets.quality_view import QualityView
from tui.widgets.schema_view import SchemaView

WELCOME = (
    "Hi! Describe the data you need in a sentence or two: what it is about, roughly how big, and what "
    "should show in it (seasons, growth, customer segments…). I may ask up to two quick questions first."
)
OPENED = "Opened {path}. Generate it (ctrl+g), or tell me what to change."
BUG = "Something went wrong inside Datagen (a bug, not your input)."
NEXT_STEPS = (
    "The Preview and Quality tabs show sample rows and checks; ctrl+g makes the full data, ctrl+e saves "
    "it as Excel or CSV."
)
NOT_CONNECTED = "No language model is connected yet, so I cannot read your request."
NO_MODEL_LATER = (
    "No model is connected. You can still open an example (ctrl+o) and make its data; connect a model "
    "any time with ctrl+k."
)
KEPT = "Your earlier conversations are kept: ctrl+l lists them."
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
NEEDS_SCHEMA = {
    "generate": "There is no schema to make data from yet: describe your data, or open one (ctrl+o).",
    "validate": "There is no schema to check yet: describe your data, or open one (ctrl+o).",
    "save": "There is no schema to save yet: describe your data first.",
    "save_data": "There is no data to save yet: describe your data, or open a schema (ctrl+o).",
    "export": "There is no data to export yet: describe your data, or open a schema (ctrl+o).",
}
KEYS = {
    "ctrl+g": "generate",
    "ctrl+r": "validate",
    "ctrl+s": "save",
    "ctrl+e": "save_data",
    "ctrl+t": "export",
}


def _display_path(path: Path) -> Path:
    """Relative to the working folder when it is inside it (shorter to read)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def default_save_folder(settings: Settings) -> Path:
    """Where "Save as Excel / CSV" offers to save: the setting, else Documents, else the working folder."""
    if settings.save_dir is not None:
        return settings.save_dir.expanduser().absolute()
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.cwd()


class DatagenApp(App[None]):
    CSS_PATH = "datagen.tcss"
    TITLE = "Datagen"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "generate", "Make data", tooltip="Generate the full dataset"),
        # priority: the input box would take ctrl+e (end of line) and ctrl+k (delete to the end)
        Binding("ctrl+e", "save_data", "Save data", tooltip="Save the data as Excel or CSV", priority=True),
        Binding("ctrl+r", "validate", "Check", show=False),
        Binding("ctrl+s", "save", "Save schema", show=False),
        Binding("ctrl+t", "export", "Keboola export", show=False),
        Binding("ctrl+o", "open", "Open", show=False),
        Binding("ctrl+n", "new", "New", show=False),
        Binding("ctrl+l", "sessions", "Conversations", show=False),
        Binding("ctrl+k", "connect", "Connect a model", show=False, priority=True),
        Binding("f2,alt+1", "tab('tab-schema')", "Schema tab", show=False),
        Binding("f3,alt+2", "tab('tab-preview')", "Preview tab", show=False),
        Binding("f4,alt+3", "tab('tab-quality')", "Quality tab", show=False),
        Binding("escape", "cancel", "Stop"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]
    # Tests set this to see an unexpected error as a failure, not as a chat message.
    reraise_unexpected: ClassVar[bool] = False

    def __init__(
        self,
        backend: Backend | None,
        settings: Settings,
        *,
        schema_path: Path | None = None,
        offer_resume: bool = True,
        clock: Callable[[], float] = time.monotonic,
        open_folder: Callable[[Path], bool] = open_folder,
        find_servers: Callable[[], list[LocalServer]] = find_local_servers,
        openai_url: str = OPENAI_ENDPOINT,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.settings = settings
        self.store = SessionStore(settings.sessions_dir)
        self.session = Session()
        self.conversation: ConversationLike | None = None
        self.checked: CheckResult | None = None
        self.dataset: Path | None = None
        self.schema_path = schema_path
        self.offer_resume = offer_resume
        self.clock = clock
        self.open_folder = open_folder
        self.find_servers = find_servers
        self.openai_url = openai_url
        self.thinking = False
        self.generating = False
        self.saved_data: Path | None = None  # the last folder the data was saved to (for "open it")
        self._muted = False  # while a schema opened earlier is handed to a new conversation
        self._generation = 0  # one per conversation; ctrl+n starts the next
        self._shown_document: Any = None
        self._drafting = False  # the Schema tab shows the model's draft, not `_shown_document`
        self._waiting_since: float | None = None
        self._phase = ""
        self._last_step: tuple[str, Any] | None = None  # ("send", text) or ("answer", answers): retry
        self._checkpoint: Path | None = None  # the conversation as it was before the running turn
        self._scratch: Path | None = None
        self._report: tuple[Any, str] | None = None
        self._quality_plain = True
        self._pending_save: DataDestination | None = None

    # ----- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield ChatLog(id="chat-log")
                with Vertical(id="status"):
                    yield Label("", id="status-text", markup=False)
                    yield ProgressBar(id="status-bar", show_eta=False)
                yield ChatInput(
                    placeholder="Describe the data you need…  (Enter sends, ctrl+j: new line)",
                    id="chat-input",
                )
            with TabbedContent(id="side"):
                with TabPane("Schema", id="tab-schema"):
                    yield SchemaView(id="schema")
                with TabPane("Preview", id="tab-preview"):
                    yield PreviewView(id="preview")
                with TabPane("Quality", id="tab-quality"):
                    yield QualityView(id="quality")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ChatInput).cursor_blink = self.settings.cursor_blink
        self.query_one(ChatInput).focus()
        self.query_one("#status").display = False
        self.set_interval(0.5, self._tick)
        if self.schema_path is not None:
            self.open_file(self.schema_path)
            return
        previous = self.store.latest() if self.offer_resume and self.settings.autosave else None
        if previous is not None:
            self.push_screen(ResumeScreen(previous), lambda choice: self._resume_choice(choice, previous))
        elif self.backend is not None and not self.backend.configured():
            self.action_connect(first=True)
        else:
            self.say("assistant", WELCOME)

    def on_resize(self) -> None:
        """Small terminals give every cell to what matters: below 70 columns the footer keeps the actions
        and drops the palette's hint (ctrl+p still opens it); below 32 rows the schema's description
        yields to the tree."""
        self.query_one(Footer).show_command_palette = self.size.width >= 70
        self.query_one("#schema-description").display = self.size.height >= 32

    @property
    def chat(self) -> ChatLog:
        return self.query_one(ChatLog)

    def say(self, role: str, text: str) -> None:
        """Add a line to the chat and to the session (autosaved); secrets never reach either."""
        text = safe(text)
        self.chat.add(role, text)
        self.session.transcript.append(Entry(role, text))
        self.autosave()

    def fold(self, text: str, details: str) -> None:
        """A note with its particulars folded under it (the transcript keeps both)."""
        text, details = safe(text), safe(details)
        self.chat.add_folded(text, details)
        self.session.transcript.append(Entry("note", f"{text}\n{details}"))
        self.autosave()

    def autosave(self) -> None:
        """Saved after every step; a session with nothing of the person's in it yet is not (so a start
        that only showed the welcome leaves nothing behind)."""
        if not self.settings.autosave or self.session.state == "empty":
            return
        try:
            self.store.save(self.session)
            if self.conversation is not None and not self.thinking:  # mid-turn it is the worker's
                self.conversation.save(self.store.conversation_path(self.session))
        except (OSError, DatagenError) as exc:
            self.notify(safe(f"Could not autosave the session: {exc}"), severity="warning", markup=False)

    def set_status(self, text: str, total: float | None = None, progress: float | None = None) -> None:
        self.query_one("#status").display = True
        self.query_one("#status-text", Label).update(text)
        bar = self.query_one("#status-bar", ProgressBar)
        bar.display = total is not None or progress is not None
        bar.update(total=total, progress=progress or 0)

    def clear_status(self) -> None:
        self.query_one("#status").display = False

    def _tick(self) -> None:
        """The waiting line: what is happening, for how long, and how to stop it."""
        if self._waiting_since is None or not self.thinking:
            return
        seconds = self.clock() - self._waiting_since
        spin = SPINNER[int(seconds * 2) % len(SPINNER)]
        self.set_status(f"{spin} {self._phase} · {_elapsed(seconds)} · Esc stops waiting")

    # ----- connecting a model --------------------------------------------------------------------

    def action_connect(self, first: bool = False) -> None:
        self.push_screen(
            ConnectScreen(self.find_servers, self.openai_url), lambda r: self._connected(r, first)
        )

    def _connected(self, result: Connected | str | None, first: bool) -> None:
        if isinstance(result, Connected):
            self._use_saved_connection()
            where = f" The key is kept in {result.where_key}." if result.where_key else ""
            self.say("note", f"Connected: {result.description}.{where}")
            if first:
                self.say("assistant", WELCOME)
        elif result == "example":
            if first:
                self.say("assistant", NO_MODEL_LATER)
            self.action_open()
        elif first:
            self.say("assistant", NO_MODEL_LATER)
        self.query_one(ChatInput).focus()

    def _use_saved_connection(self) -> None:
        saved = connection.load()
        if saved is None or self.backend is None:
            return
        values: dict[str, Any] = {"base_url": None, "model": None, **saved.settings_values()}
        if "api_key" in values:
            values["api_key"] = SecretStr(values["api_key"])
        else:
            values["api_key"] = None
        self.settings = self.settings.model_copy(update=values)
        self.backend.use(self.settings)

    # ----- the conversation ----------------------------------------------------------------------

    @on(ChatInput.Submitted, "#chat-input")
    def _send(self, event: ChatInput.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.thinking:
            self.notify("Still working on your last message… (Esc stops waiting)")
            return
        event.input.clear()
        self.say("user", text)
        self.converse("send", text)

    @on(QuestionCard.Answered)
    def _answered(self, event: QuestionCard.Answered) -> None:
        self.session.answers.update(event.answers)
        for q in event.card.questions:  # the card shows them; the transcript keeps them for a resume
            self.session.transcript.append(Entry("answer", f"{q.text} → {event.answers[q.id]}"))
        self.autosave()
        self.query_one(ChatInput).focus()
        self.converse("answer", event.answers)

    def converse(self, kind: str, value: Any) -> None:
        """Start a turn: the person's words (`send`) or answers (`answer`). The conversation as it was
        is kept aside first, so Esc can go back to it (its open questions included)."""
        self._last_step = (kind, value)
        self._checkpoint = self._save_checkpoint()
        self.thinking = True
        self.refresh_bindings()
        self._waiting_since = self.clock()
        self._phase = "Sending your message to the model"
        self._tick()
        step: Callable[[ConversationLike], Sequence[EventLike]]
        step = (lambda c: c.send(value)) if kind == "send" else (lambda c: c.answer(value))
        self._turn(step)

    def _save_checkpoint(self) -> Path | None:
        if self.conversation is None:
            return None
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="datagen-tui-"))
        path = self._scratch / "before-turn.jsonl"
        try:
            self.conversation.save(path)
        except (OSError, DatagenError):
            return None
        return path

    def action_retry(self) -> None:
        """Send the last message (or answers) again."""
        if self._last_step is None or self.thinking:
            return
        kind, value = self._last_step
        self.say("note", "Trying again…")
        self.converse(kind, value)

    def _listener(self) -> tuple[OnEvent, Callable[[dict[str, Any]], None]]:
        """The `on_event` and `on_partial` of a new conversation, called in a worker thread as each
        step happens. Events of a conversation the person has left (ctrl+n, Esc) are dropped."""
        generation = self._generation

        def listen(event: EventLike) -> None:
            if self._muted or generation != self._generation:
                return
            if event.kind in ("progress", "proposed"):
                data = event.data if isinstance(event.data, dict) else {}
                self.post_message(m.ConversationLive(phase(event.kind, event.text, data)))
            else:
                self.post_message(m.ConversationEvents([event]))

        def draft(document: dict[str, Any]) -> None:
            if not self._muted and generation == self._generation:
                self.post_message(m.DraftSchema(document))

        return listen, draft

    def _start_conversation(self) -> ConversationLike:
        if self.backend is None or not self.backend.configured():
            raise NotConnected
        conversation = self.backend.new(*self._listener())
        if self._shown_document is not None:  # a schema opened before the first message: edit that one
            self._muted = True
            try:
                conversation.load_schema(self._shown_document)
            finally:
                self._muted = False
        return conversation

    @work(thread=True, exclusive=True, exit_on_error=False, group="llm")
    def _turn(self, step: Callable[[ConversationLike], Sequence[EventLike]]) -> None:
        """One turn; its events reach the app through the listener as they happen. The model is waited
        for in a daemon thread, so quitting (or ctrl+n) never waits for a slow endpoint."""
        worker = get_current_worker()
        generation = self._generation
        try:
            conversation = self.conversation
            if conversation is None:
                conversation = jobs.wait_for(self._start_conversation, cancelled=lambda: worker.is_cancelled)
                self.call_from_thread(self._attach_conversation, conversation)
            jobs.wait_for(lambda: step(conversation), cancelled=lambda: worker.is_cancelled)
        except jobs.Cancelled:
            return
        except NotConnected:
            self.post_message(m.NeedsModel())
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))
        finally:
            if generation == self._generation:
                self.post_message(m.TurnFinished())

    def _attach_conversation(self, conversation: ConversationLike) -> None:
        self.conversation = conversation

    def on_conversation_live(self, message: m.ConversationLive) -> None:
        if self.thinking:
            self._phase = safe(message.text)
            self._tick()

    def on_draft_schema(self, message: m.DraftSchema) -> None:
        if not self.thinking:
            return
        self._drafting = True
        self.query_one(SchemaView).show_draft(message.document)
        nodes = message.document.get("nodes") or []
        ids = [str(n["id"]) for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)]
        self._phase = "The model is writing the schema" + (f": {', '.join(ids)}" if ids else "")
        self._tick()

    def on_turn_finished(self, _: m.TurnFinished) -> None:
        self.thinking = False
        self._waiting_since = None
        self.refresh_bindings()
        if not self.generating:
            self.clear_status()
        if self._drafting:  # the turn ended without a new schema: show the one from before again
            self._drafting = False
            self.query_one(SchemaView).show(self.checked, self._shown_document)
        self.autosave()

    def on_needs_model(self, _: m.NeedsModel) -> None:
        self.say("error", NOT_CONNECTED)
        self.chat.add_actions([("Connect a model", "connect")])
        self._give_back_text()
        self.action_connect()

    def on_conversation_events(self, message: m.ConversationEvents) -> None:
        for event in message.events:
            data = event.data if isinstance(event.data, dict) else {}
            if event.kind == "asked":
                questions = data.get("questions") or (
                    self.conversation.pending_questions if self.conversation else []
                )
                self.ask(question_views(questions))
            elif event.kind == "ready":
                first = not any(
                    e.role == "assistant" and e.text.endswith(NEXT_STEPS) for e in self.session.transcript
                )
                self.say("assistant", ready_text(event.text, data) + (f"\n{NEXT_STEPS}" if first else ""))
                self._drafting = False
                self.refresh_schema()
            elif event.kind == "failed":
                said, details = plain_failure(event.text, data)
                self.say("error", said)
                if details:
                    self.fold("Details", details)
                if data.get("reason") in RETRYABLE:
                    actions = [("Try again", "retry")]
                    if data.get("reason") in ("endpoint", "connection", "unreadable"):
                        actions.append(("Connect another model", "connect"))
                    self.chat.add_actions(actions)
            elif event.kind in ("repaired", "simplified"):
                self.fold(plain_repair(event.kind, event.text, data), detail_text(event.text, data))
            elif event.kind == "message":
                self.say("note", detail_text(event.text, data))
            elif event.text:
                self.say("assistant", event.text)

    def ask(self, questions: list[QuestionView]) -> None:
        if questions:
            self.chat.ask(questions)

    def refresh_schema(self) -> None:
        """Show the conversation's schema if it changed (checked again here: cheap, and the Schema tab
        shows what `dsl.check` says, whoever produced the document)."""
        document = self.conversation.document if self.conversation is not None else None
        if document is None or document == self._shown_document:
            if document is not None:
                self.query_one(SchemaView).show(self.checked, self._shown_document)
            return
        self.show_checked(jobs.check_document(document), document)

    def on_problem(self, message: m.Problem) -> None:
        self.say("error", failed_text(message.message, {"hint": message.hint}))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The safety net: an unexpected exception in a worker is a chat message, never a traceback."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.say("error", f"{BUG}\n{type(error).__name__}: {error}")
            self.thinking = False
            self.generating = False
            self._waiting_since = None
            self.clear_status()
            self.refresh_bindings()

    def _handle_exception(self, error: Exception) -> None:
        """The safety net outside workers. Textual stops the message loop an unhandled error came from,
        so the app cannot go on; it ends as it would (the session is autosaved after every step), but
        with a readable message and the details in a crash file instead of a traceback on the screen.
        (`_handle_exception` is where Textual sends every unhandled error; there is no public hook.)"""
        if self.reraise_unexpected:
            super()._handle_exception(error)
            return
        where = self._crash_report(error)
        self._return_code = 1
        self._exit_renderables.append(
            Text(
                safe(
                    f"Datagen stopped because of a bug (not your input): {type(error).__name__}: {error}\n"
                    "Your conversation is saved: start datagen tui again to pick it up."
                    + (f"\nDetails for a bug report: {where}" if where else "")
                )
            )
        )
        self.bell()
        self._exception_event.set()  # whoever waits for the app to settle (a test's pilot) stops waiting
        self._close_messages_no_wait()

    def _crash_report(self, error: BaseException) -> Path | None:
        try:
            folder = self.settings.sessions_dir
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "crash.log"
            text = "".join(traceback.format_exception(error))
            with path.open("a", encoding="utf-8") as f:
                f.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')}\n{safe(text)}\n")
            return path
        except OSError:
            return None

    def on_unmount(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    # ----- the schema, preview and checks --------------------------------------------------------

    def open_file(self, path: Path) -> None:
        self.set_status(f"Opening {path}…")
        self._open(path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="open")
    def _open(self, path: Path) -> None:
        try:
            self.post_message(m.SchemaChecked(jobs.open_schema(path), path))
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))
            self.post_message(m.JobStopped())

    def on_schema_checked(self, message: m.SchemaChecked) -> None:
        self.clear_status()
        checked = message.checked
        if message.source is not None:
            self.session.source = str(message.source)
            self.say("assistant", OPENED.format(path=_display_path(message.source)))
            if checked.legacy_notes:  # an older schema: say what reading it changed (`datagen upgrade`)
                changes = "\n".join(f"- {n.path}: {n.message}" for n in checked.legacy_notes)
                self.say("assistant", f"It is written in an older form; I read it as:\n{changes}")
            self._let_go()  # the next message starts a conversation about this schema
        self.show_checked(checked, checked.document)

    def show_checked(self, checked: CheckResult, document: Any) -> None:
        self.checked = checked
        self.dataset = None
        self._shown_document = document
        self.session.document = document
        self.autosave()
        self.query_one(SchemaView).show(checked, document)
        self._report = None
        self.query_one(QualityView).show(None)
        self.title = safe(f"Datagen · {checked.schema.metadata.name}") if checked.schema else "Datagen"
        self.refresh_bindings()
        if checked.ok:
            self._preview(checked)
        else:
            self.say("error", f"The schema has {len(checked.errors)} problem(s); see the Schema tab.")

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _preview(self, checked: CheckResult) -> None:
        """Sample rows, then the checks on them. A newer schema cancels this worker: its results,
        now stale, are dropped rather than shown over the newer ones."""
        worker = get_current_worker()
        try:
            result = jobs.sample(checked, self.settings.sample_rows, self.settings.seed)
            if worker.is_cancelled:
                return
            self.post_message(m.PreviewReady(result))
            if result.ok:
                report = jobs.validate_sample(checked, result, self.settings.seed)
                if not worker.is_cancelled:
                    self.post_message(m.QualityReady(report, f"sample rows (seed {self.settings.seed})"))
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))

    async def on_preview_ready(self, message: m.PreviewReady) -> None:
        s = self.settings
        await self.query_one(PreviewView).show(
            message.result, rows=s.sample_rows, seed=s.seed, limit=s.preview_rows
        )

    def on_quality_ready(self, message: m.QualityReady) -> None:
        self._report = (message.report, message.source)
        self._show_quality()

    def _show_quality(self) -> None:
        view = self.query_one(QualityView)
        if self._report is None:
            view.show(None)
            return
        report, source = self._report
        view.show(from_report(report, source, plain=self._quality_plain))

    @on(Tabs.TabActivated, "#quality-mode")
    def _quality_mode(self, event: Tabs.TabActivated) -> None:
        event.stop()
        plain = event.tab.id == "quality-plain"
        if plain != self._quality_plain:
            self._quality_plain = plain
            self._show_quality()

    # ----- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.generating or self.thinking or bool(self.screen.query("HelpPanel"))
        if action in NEEDS_SCHEMA:
            return True if self.checked is not None and self.checked.ok else None
        return True

    def on_key(self, event: events.Key) -> None:
        """A key whose action cannot run now (shown greyed in the footer) still says why."""
        action = KEYS.get(event.key)
        if action is not None and self.check_action(action, ()) is None:
            self.notify(NEEDS_SCHEMA[action])
            event.stop()

    def _need_schema(self, action: str = "generate") -> CheckResult | None:
        if self.checked is None or not self.checked.ok:
            self.notify(NEEDS_SCHEMA[action])
            return None
        return self.checked

    def action_tab(self, tab: str) -> None:
        self.query_one("#side", TabbedContent).active = tab

    def action_generate(self) -> None:
        checked = self._need_schema("generate")
        if checked is None or self.generating:
            return
        assert checked.schema is not None
        target = default_output_dir(self.settings.data_dir, checked.schema.metadata.name, DATASET)
        self.generating = True
        self.refresh_bindings()
        self.say("note", f"Making the full dataset in {target.absolute()} (Esc stops)…")
        self._generate(checked, target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="generate")
    def _generate(self, checked: CheckResult, target: Path) -> None:
        worker = get_current_worker()
        generation = self._generation
        assert checked.schema is not None
        count = len(checked.schema.nodes)
        started: list[str] = []

        def on_start(table: str, total: int) -> None:
            started.append(table)
            self.post_message(m.GenerationStarted(table, total, len(started), count))

        done: dict[str, int] = {}

        def on_progress(table: str, rows: int) -> None:
            done[table] = done.get(table, 0) + rows
            self.post_message(m.GenerationProgress(table, done[table]))

        try:
            result = jobs.generate(
                checked,
                target,
                seed=self.settings.seed,
                on_table_start=on_start,
                on_progress=on_progress,
                cancelled=lambda: worker.is_cancelled,
            )
        except jobs.Cancelled:
            if generation == self._generation:  # not when ctrl+n started afresh
                self.post_message(m.Info("Stopped making the data; nothing was written."))
            self.post_message(m.JobStopped())
            return
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))
            self.post_message(m.JobStopped())
            return
        self.post_message(m.GenerationFinished(result))
        try:
            self.post_message(
                m.QualityReady(jobs.validate_dataset(checked, result.out_dir), str(result.out_dir))
            )
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))

    def on_generation_started(self, message: m.GenerationStarted) -> None:
        self.set_status(
            f"{message.table} · table {message.index}/{message.count} · Esc stops",
            total=max(message.total, 1),
            progress=0,
        )

    def on_generation_progress(self, message: m.GenerationProgress) -> None:
        self.query_one("#status-bar", ProgressBar).update(progress=message.done)

    def on_generation_finished(self, message: m.GenerationFinished) -> None:
        self._job_done()
        result = message.result
        self.dataset = result.out_dir
        self.session.data_dir = str(result.out_dir)
        rows = sum(s.rows for s in result.stats)
        self.say(
            "note", f"Wrote {rows:,} rows in {len(result.stats)} table(s) to {result.out_dir.absolute()}."
        )
        if self._pending_save is not None and self.checked is not None:
            destination, self._pending_save = self._pending_save, None
            self._save_data(self.checked, result.out_dir, destination)

    def on_job_stopped(self, _: m.JobStopped) -> None:
        self._pending_save = None
        self._job_done()

    def _job_done(self) -> None:
        self.generating = False
        self.refresh_bindings()
        if not self.thinking:
            self.clear_status()

    def on_info(self, message: m.Info) -> None:
        self.say("note", message.text)

    def action_cancel(self) -> None:
        """Esc closes the keys panel, stops the full generation, or stops waiting for the model. A
        model request cannot be interrupted, so that conversation is let go (its late events are
        dropped) and the one from before the turn comes back, open questions included; a message sent
        to a new conversation goes back into the input box."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        elif self.generating:
            self.workers.cancel_group(self, "generate")
        elif self.thinking:
            checkpoint = self._checkpoint
            self._let_go()
            self.say("note", "Stopped waiting for the model. What you had is kept; say what you need next.")
            if checkpoint is not None and self.backend is not None:
                self._resume(checkpoint)
            else:
                self._give_back_text()

    def _give_back_text(self) -> None:
        field = self.query_one(ChatInput)
        if self._last_step is not None and self._last_step[0] == "send" and not field.value.strip():
            field.value = str(self._last_step[1])

    def _let_go(self) -> None:
        """Drop the current conversation (a request in flight is abandoned and its events ignored); the
        next message starts a new one from the schema on screen."""
        self.workers.cancel_group(self, "llm")
        self._generation += 1
        self.conversation = None
        if self.thinking:
            self.thinking = False
            self._waiting_since = None
            self.clear_status()
            self.refresh_bindings()
        if self._drafting:
            self._drafting = False
            self.query_one(SchemaView).show(self.checked, self._shown_document)

    def action_validate(self) -> None:
        checked = self._need_schema("validate")
        if checked is None:
            return
        if self.dataset is not None:
            self._validate_dataset(checked, self.dataset)
        else:
            self._preview(checked)
        self.query_one("#side", TabbedContent).active = "tab-quality"

    @work(thread=True, exclusive=True, exit_on_error=False, group="validate")
    def _validate_dataset(self, checked: CheckResult, data_dir: Path) -> None:
        try:
            self.post_message(m.QualityReady(jobs.validate_dataset(checked, data_dir), str(data_dir)))
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))

    def action_save(self) -> None:
        checked = self._need_schema("save")
        if checked is None or checked.schema is None:
            return
        default = (
            Path(self.session.source)
            if self.session.source
            else default_file(Path(), checked.schema.metadata.name, ".json")
        )
        self.push_screen(SaveScreen(default), self._save_to)

    def _save_to(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            jobs.save_schema(self._shown_document, path)
        except DatagenError as exc:
            self.on_problem(m.Problem(exc.message, exc.hint))
            return
        self.session.source = str(path)
        self.say("note", f"Saved the schema to {path}.")

    def action_save_data(self) -> None:
        """Excel or CSV in a folder the person picks; the full data is made first when it is not yet."""
        checked = self._need_schema("save_data")
        if checked is None or checked.schema is None:
            return
        name = checked.schema.metadata.name
        self.push_screen(SaveDataScreen(default_save_folder(self.settings), name), self._save_data_to)

    def _save_data_to(self, destination: DataDestination | None) -> None:
        if destination is None or self.checked is None:
            return
        if self.dataset is None:
            self._pending_save = destination
            self.action_generate()
            return
        self._save_data(self.checked, self.dataset, destination)

    def _save_data(self, checked: CheckResult, data_dir: Path, destination: DataDestination) -> None:
        self.set_status(f"Saving as {'Excel' if destination.excel else 'CSV'}…")
        self._save_data_job(checked, data_dir, destination)

    @work(thread=True, exclusive=True, exit_on_error=False, group="save-data")
    def _save_data_job(self, checked: CheckResult, data_dir: Path, destination: DataDestination) -> None:
        try:
            saved = jobs.save_data(checked, data_dir, destination.folder, excel=destination.excel)
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))
            self.post_message(m.JobStopped())
            return
        self.post_message(m.DataSaved(saved.folder, saved.files, saved.rows, destination.excel))

    def on_data_saved(self, message: m.DataSaved) -> None:
        self._job_done()
        self.saved_data = message.folder
        what = "an Excel workbook" if message.excel else f"{len(message.files)} CSV file(s)"
        self.say("note", f"Saved {message.rows:,} rows as {what} in {message.folder}")
        self.chat.add_actions([("Open the folder", "open_saved")])

    def action_open_saved(self) -> None:
        if self.saved_data is None:
            return
        try:
            opened = self.open_folder(self.saved_data)
        except OSError:
            opened = False
        if not opened:
            self.notify(safe(f"Open it from your file manager: {self.saved_data}"), markup=False, timeout=10)

    def action_export(self) -> None:
        checked = self._need_schema("export")
        if checked is None or checked.schema is None:
            return
        if self.dataset is None:
            self.notify("Make the full data first (ctrl+g); the export is made from it.")
            return
        target = default_output_dir(self.settings.export_dir, checked.schema.metadata.name, CSV_EXPORT)
        self._export(checked, self.dataset, target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export(self, checked: CheckResult, data_dir: Path, target: Path) -> None:
        try:
            files = jobs.export(checked, data_dir, target)
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))
            return
        self.post_message(m.Info(f"Exported CSV for Keboola to {target.absolute()} ({len(files)} files)."))

    def action_open(self) -> None:
        self.push_screen(OpenScreen(), lambda path: self.open_file(path) if path else None)

    def action_new(self) -> None:
        self._reset()
        self.say("assistant", WELCOME)
        self.query_one(ChatInput).focus()

    def _reset(self) -> None:
        """An empty screen and a new session; the one before stays saved."""
        self.autosave()
        self.workers.cancel_all()
        self._generation += 1
        self.session = Session()
        self.conversation = None
        self.checked = None
        self.dataset = None
        self._shown_document = None
        self._report = None
        self._drafting = False
        self._last_step = self._checkpoint = None
        self.thinking = self.generating = False
        self._waiting_since = None
        self.clear_status()
        self.chat.clear()
        self.query_one(SchemaView).show(None)
        self.run_worker(self.query_one(PreviewView).clear())
        self.query_one(QualityView).show(None)
        self.title = "Datagen"
        self.refresh_bindings()

    # ----- sessions ------------------------------------------------------------------------------

    def _resume_choice(self, choice: str, previous: Session) -> None:
        if choice == "resume":
            self.restore(previous)
        elif choice == "all":
            self.say("assistant", WELCOME)
            self.action_sessions()
        else:
            self.say("assistant", WELCOME)
            self.say("note", KEPT)

    def action_sessions(self) -> None:
        current = self.session.id if not self.session.empty else None
        self.push_screen(SessionsScreen(self.store, current), self._switch_to)

    def _switch_to(self, session: Session | None) -> None:
        if session is None:
            return
        self._reset()
        self.restore(session)

    def restore(self, session: Session) -> None:
        self.session = session
        for entry in session.transcript:
            self.chat.add("note" if entry.role == "answer" else entry.role, entry.text)
        if session.document is not None:
            self.show_checked(jobs.check_document(session.document), session.document)
            if session.data_dir and Path(session.data_dir).is_dir():
                self.dataset = Path(session.data_dir)  # validate and export work on it again
        conversation_file = self.store.conversation_path(session)
        if self.backend is not None and self.backend.configured() and conversation_file.exists():
            self._resume(conversation_file)

    @work(thread=True, exclusive=True, exit_on_error=False, group="llm")
    def _resume(self, path: Path) -> None:
        try:
            assert self.backend is not None
            self.post_message(m.ConversationReady(self.backend.resume(path, *self._listener())))
        except DatagenError as exc:
            self.post_message(m.Problem(f"The conversation could not be resumed: {exc.message}", exc.hint))

    def on_conversation_ready(self, message: m.ConversationReady) -> None:
        if self.conversation is not None:  # a message sent meanwhile already started a new one
            return
        self.conversation = message.conversation
        self.ask(question_views(self.conversation.pending_questions))

    # ----- command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Connect a model", "OpenAI, a model on this computer, or a server (ctrl+k)", self.action_connect
        )
        yield SystemCommand(
            "Conversations", "Open or delete a saved conversation (ctrl+l)", self.action_sessions
        )
        yield SystemCommand("Generate the dataset", "Make every table in full (ctrl+g)", self.action_generate)
        yield SystemCommand(
            "Save as Excel or CSV", "The data, in a folder you pick (ctrl+e)", self.action_save_data
        )
        yield SystemCommand("Validate", "Run the quality checks (ctrl+r)", self.action_validate)
        yield SystemCommand("Save the schema", "Write the schema JSON to a file (ctrl+s)", self.action_save)
        yield SystemCommand(
            "Export CSV", "Keboola-ready CSV of the generated data (ctrl+t)", self.action_export
        )
        yield SystemCommand("Open a schema", "Open a schema file or an example (ctrl+o)", self.action_open)
        yield SystemCommand(
            "New conversation", "Start afresh; this one stays saved (ctrl+n)", self.action_new
        )
        if self._last_step is not None and not self.thinking:
            yield SystemCommand("Try again", "Send the last message to the model again", self.action_retry)
        for i, (tab, title) in enumerate(
            (("tab-schema", "Schema"), ("tab-preview", "Preview"), ("tab-quality", "Quality")), start=1
        ):
            yield SystemCommand(
                f"Show the {title} tab",
                f"Switch the right side to {title} (F{i + 1})",
                lambda tab=tab: self.action_tab(tab),
            )


class NotConnected(Exception):
    """A conversation was asked for, but no language model is set up."""
