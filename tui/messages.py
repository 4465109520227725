"""What the workers post back to the app. Workers never touch widgets; the app reacts to these."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textual.message import Message

from datagen.dsl import CheckResult
from datagen.engine.preflight import Preflight
from datagen.io.dataset import DatasetResult
from tui.backend import ConversationLike, EventLike


class ConversationEvents(Message):
    """Events of one conversation turn, in order."""

    def __init__(self, events: Sequence[EventLike]) -> None:
        super().__init__()
        self.events = list(events)


class ConversationLive(Message):
    """A progress note from inside a turn; a newer one replaces an unhandled older one."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ConversationLive)


class ConversationReady(Message):
    """A conversation was made or resumed in a worker."""

    def __init__(self, conversation: ConversationLike) -> None:
        super().__init__()
        self.conversation = conversation


class TurnFinished(Message):
    """The worker is done with a turn (whether it produced events or a problem)."""


class Problem(Message):
    """Something failed in words a person can act on; shown in the chat."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.hint = hint


class SchemaChecked(Message):
    """A schema (opened or proposed) went through `dsl.check`."""

    def __init__(self, checked: CheckResult, source: Path | None = None) -> None:
        super().__init__()
        self.checked = checked
        self.source = source


class PreviewReady(Message):
    def __init__(self, result: Preflight) -> None:
        super().__init__()
        self.result = result


class GenerationStarted(Message):
    def __init__(self, table: str, total: int, index: int, count: int) -> None:
        super().__init__()
        self.table = table
        self.total = total
        self.index = index
        self.count = count


class GenerationProgress(Message):
    """Rows done in the current table; only the latest matters (Toolong's `can_replace`)."""

    def __init__(self, table: str, done: int) -> None:
        super().__init__()
        self.table = table
        self.done = done

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GenerationProgress) and message.table == self.table


class GenerationFinished(Message):
    def __init__(self, result: DatasetResult) -> None:
        super().__init__()
        self.result = result


class JobStopped(Message):
    """A long job ended without a result (cancelled or failed); hide its progress bar."""


class QualityReady(Message):
    def __init__(self, report: Any, source: str) -> None:
        super().__init__()
        self.report = report
        self.source = source


class Info(Message):
    """A plain note for the chat (saved, exported, ...)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DraftSchema(Message):
    """The schema as the model writes it (a partial document); only the latest matters."""

    def __init__(self, document: dict[str, Any]) -> None:
        super().__init__()
        self.document = document

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DraftSchema)


class NeedsModel(Message):
    """A conversation could not start: no language model is connected."""


class DataSaved(Message):
    """The CSV files or the Excel workbook are on disk."""

    def __init__(self, folder: Path, files: list[Path], rows: int, excel: bool) -> None:
        super().__init__()
        self.folder = folder
        self.files = files
        self.rows = rows
        self.excel = excel
