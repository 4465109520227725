"""The Datagen chat app. Presentation only: the conversation comes from an injected `Backend`, the
data work from `tui.jobs`; long work runs in thread workers that post `tui.messages` back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, ProgressBar, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from datagen.dsl import CheckResult
from datagen.errors import DatagenError
from datagen.io.manifest import CSV_EXPORT, DATASET
from datagen.io.names import default_file, default_output_dir
from datagen.settings import Settings
from datagen.terminal import safe
from tui import jobs
from tui import messages as m
from tui.backend import Backend, ConversationLike, EventLike, OnEvent
from tui.quality import from_report
from tui.screens import OpenScreen, ResumeScreen, SaveScreen
from tui.session import Entry, Session, SessionStore
from tui.views import detail_text, failed_text, question_views, ready_text
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
NEXT_STEPS = "The Preview and Quality tabs show sample rows and checks; ctrl+g writes the full dataset."
NO_MODEL_HINT = "set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL and DATAGEN_MODEL (any compatible server)"


def _display_path(path: Path) -> Path:
    """Relative to the working folder when it is inside it (shorter to read)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


class DatagenApp(App[None]):
    CSS_PATH = "datagen.tcss"
    TITLE = "Datagen"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "generate", "Generate", tooltip="Generate the full dataset"),
        Binding("ctrl+r", "validate", "Validate", tooltip="Run the quality checks again"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+t", "export", "Export"),
        Binding("ctrl+o", "open", "Open"),
        Binding("ctrl+n", "new", "New"),
        Binding("escape", "cancel", "Stop"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        backend: Backend | None,
        settings: Settings,
        *,
        schema_path: Path | None = None,
        offer_resume: bool = True,
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
        self.thinking = False
        self.generating = False
        self._muted = False  # while a schema opened earlier is handed to a new conversation
        self._generation = 0  # one per conversation; ctrl+n starts the next
        self._shown_document: Any = None

    # ----- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield ChatLog(id="chat-log")
                with Vertical(id="status"):
                    yield Label("", id="status-text", markup=False)
                    yield ProgressBar(id="status-bar", show_eta=False)
                yield ChatInput(placeholder="Describe the data you need…  (Enter sends)", id="chat-input")
            with TabbedContent(id="side"):
                with TabPane("Schema", id="tab-schema"):
                    yield SchemaView(id="schema")
                with TabPane("Preview", id="tab-preview"):
                    yield PreviewView(id="preview")
                with TabPane("Quality", id="tab-quality"):
                    yield QualityView(id="quality")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ChatInput).cursor_blink = self.settings.cursor_blink
        self.query_one(ChatInput).focus()
        self.query_one("#status").display = False
        if self.schema_path is not None:
            self.open_file(self.schema_path)
            return
        previous = self.store.latest() if self.offer_resume and self.settings.autosave else None
        if previous is None:
            self.say("assistant", WELCOME)
            return
        self.push_screen(
            ResumeScreen(previous.title, len(previous.transcript)),
            lambda resume: self.restore(previous) if resume else self.say("assistant", WELCOME),
        )

    def on_resize(self) -> None:
        """Small terminals give every cell to what matters: below 110 columns the footer keeps the actions
        (ctrl+p still opens the palette); below 32 rows the schema's description yields to the tree."""
        self.query_one(Footer).show_command_palette = self.size.width >= 110
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

    def autosave(self) -> None:
        if not self.settings.autosave:
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

    # ----- the conversation ----------------------------------------------------------------------

    @on(ChatInput.Submitted, "#chat-input")
    def _send(self, event: ChatInput.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.thinking:
            self.notify("Still working on your last message…")
            return
        event.input.clear()
        self.say("user", text)
        self.converse(lambda c: c.send(text))

    @on(QuestionCard.Answered)
    def _answered(self, event: QuestionCard.Answered) -> None:
        self.session.answers.update(event.answers)
        for q in event.card.questions:  # the card shows them; the transcript keeps them for a resume
            self.session.transcript.append(Entry("answer", f"{q.text} → {event.answers[q.id]}"))
        self.autosave()
        self.query_one(ChatInput).focus()
        self.converse(lambda c: c.answer(event.answers))

    def converse(self, step: Callable[[ConversationLike], Sequence[EventLike]]) -> None:
        self.thinking = True
        self.refresh_bindings()
        self.set_status("Thinking… (Esc stops)")
        self._turn(step)

    def _listener(self) -> OnEvent:
        """The `on_event` of a new conversation, called in a worker thread as each step happens. Events
        of a conversation the person has left (ctrl+n) are dropped."""
        generation = self._generation

        def listen(event: EventLike) -> None:
            if self._muted or generation != self._generation:
                return
            if event.kind in ("progress", "proposed"):
                self.post_message(m.ConversationLive(event.text))
            else:
                self.post_message(m.ConversationEvents([event]))

        return listen

    def _start_conversation(self) -> ConversationLike:
        if self.backend is None:
            raise DatagenError("this session has no language model attached", hint=NO_MODEL_HINT)
        conversation = self.backend.new(self._listener())
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
                self.call_from_thread(self._attach, conversation)
            jobs.wait_for(lambda: step(conversation), cancelled=lambda: worker.is_cancelled)
        except jobs.Cancelled:
            return
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))
        finally:
            if generation == self._generation:
                self.post_message(m.TurnFinished())

    def _attach(self, conversation: ConversationLike) -> None:
        self.conversation = conversation

    def on_conversation_live(self, message: m.ConversationLive) -> None:
        if self.thinking:
            self.set_status(safe(message.text[:1].upper() + message.text[1:]))

    def on_turn_finished(self, _: m.TurnFinished) -> None:
        self.thinking = False
        self.refresh_bindings()
        if not self.generating:
            self.clear_status()
        self.autosave()

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
                self.refresh_schema()
            elif event.kind == "failed":
                self.say("error", failed_text(event.text, data))
            elif event.kind in ("repaired", "simplified", "message"):
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
            self.clear_status()
            self.refresh_bindings()

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
                    self.post_message(
                        m.QualityReady(report, f"the preview sample (seed {self.settings.seed})")
                    )
        except DatagenError as exc:
            self.post_message(m.Problem(exc.message, exc.hint))

    async def on_preview_ready(self, message: m.PreviewReady) -> None:
        s = self.settings
        await self.query_one(PreviewView).show(
            message.result, rows=s.sample_rows, seed=s.seed, limit=s.preview_rows
        )

    def on_quality_ready(self, message: m.QualityReady) -> None:
        self.query_one(QualityView).show(from_report(message.report, message.source))

    # ----- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.generating or self.thinking
        if action in ("generate", "validate", "save", "export"):
            return True if self.checked is not None and self.checked.ok else None
        return True

    def _need_schema(self) -> CheckResult | None:
        if self.checked is None or not self.checked.ok:
            self.notify("There is no valid schema yet: describe your data or open a schema (ctrl+o).")
            return None
        return self.checked

    def action_generate(self) -> None:
        checked = self._need_schema()
        if checked is None or self.generating:
            return
        assert checked.schema is not None
        target = default_output_dir(self.settings.data_dir, checked.schema.metadata.name, DATASET)
        self.generating = True
        self.refresh_bindings()
        self.say("note", f"Generating the full dataset into {target} (Esc stops)…")
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
                self.post_message(m.Info("Generation stopped; nothing was written."))
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
        self.say("note", f"Wrote {rows:,} rows in {len(result.stats)} table(s) to {result.out_dir}.")

    def on_job_stopped(self, _: m.JobStopped) -> None:
        self._job_done()

    def _job_done(self) -> None:
        self.generating = False
        self.refresh_bindings()
        if not self.thinking:
            self.clear_status()

    def on_info(self, message: m.Info) -> None:
        self.say("note", message.text)

    def action_cancel(self) -> None:
        """Esc stops the full generation, else stops waiting for the model. A model request cannot be
        interrupted, so that conversation is let go (its late events are dropped); the next message
        starts a new one from the schema on screen, so nothing shown is lost."""
        if self.generating:
            self.workers.cancel_group(self, "generate")
        elif self.thinking:
            self._let_go()
            self.say(
                "note", "Stopped waiting for the model. The schema so far is kept; say what you need next."
            )

    def _let_go(self) -> None:
        """Drop the current conversation (a request in flight is abandoned and its events ignored); the
        next message starts a new one from the schema on screen."""
        self.workers.cancel_group(self, "llm")
        self._generation += 1
        self.conversation = None
        if self.thinking:
            self.thinking = False
            self.clear_status()
            self.refresh_bindings()

    def action_validate(self) -> None:
        checked = self._need_schema()
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
        checked = self._need_schema()
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

    def action_export(self) -> None:
        checked = self._need_schema()
        if checked is None or checked.schema is None:
            return
        if self.dataset is None:
            self.notify("Generate the dataset first (ctrl+g); the export is made from it.")
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
        self.post_message(m.Info(f"Exported CSV for Keboola to {target} ({len(files)} files)."))

    def action_open(self) -> None:
        self.push_screen(OpenScreen(), lambda path: self.open_file(path) if path else None)

    def action_new(self) -> None:
        self.autosave()
        self.workers.cancel_all()
        self._generation += 1
        self.session = Session()
        self.conversation = None
        self.checked = None
        self.dataset = None
        self._shown_document = None
        self.thinking = self.generating = False
        self.clear_status()
        self.chat.clear()
        self.query_one(SchemaView).show(None)
        self.run_worker(self.query_one(PreviewView).clear())
        self.query_one(QualityView).show(None)
        self.title = "Datagen"
        self.refresh_bindings()
        self.say("assistant", WELCOME)
        self.query_one(ChatInput).focus()

    # ----- resume --------------------------------------------------------------------------------

    def restore(self, session: Session) -> None:
        self.session = session
        for entry in session.transcript:
            self.chat.add("note" if entry.role == "answer" else entry.role, entry.text)
        if session.document is not None:
            self.show_checked(jobs.check_document(session.document), session.document)
            if session.data_dir and Path(session.data_dir).is_dir():
                self.dataset = Path(session.data_dir)  # validate and export work on it again
        conversation_file = self.store.conversation_path(session)
        if self.backend is not None and conversation_file.exists():
            self._resume(conversation_file)

    @work(thread=True, exclusive=True, exit_on_error=False, group="llm")
    def _resume(self, path: Path) -> None:
        try:
            assert self.backend is not None
            self.post_message(m.ConversationReady(self.backend.resume(path, self._listener())))
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
            "Generate the dataset", "Write every table to Parquet (ctrl+g)", self.action_generate
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
        for tab, title in (("tab-schema", "Schema"), ("tab-preview", "Preview"), ("tab-quality", "Quality")):
            yield SystemCommand(
                f"Show the {title} tab",
                f"Switch the right side to {title}",
                lambda tab=tab: setattr(self.query_one("#side", TabbedContent), "active", tab),
            )
