"""Autosaved sessions, so nothing typed is lost on a crash or a quit.

One folder per session under `Settings.sessions_dir`: `session.json` holds what the app shows (the
transcript, the schema document and where it came from, the answers given, the last dataset folder);
`conversation.jsonl` is the conversation core's own save file, used to resume it with the LLM."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datagen.io.output import write_json_atomic
from datagen.redact import redact_data

SESSION_FILE = "session.json"
CONVERSATION_FILE = "conversation.jsonl"


@dataclass
class Entry:
    """One chat line. `role` is user, assistant, question, note or error."""

    role: str
    text: str


@dataclass
class Session:
    id: str = field(
        default_factory=lambda: datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    )
    transcript: list[Entry] = field(default_factory=list)
    document: Any = None
    source: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    data_dir: str | None = None

    @property
    def empty(self) -> bool:
        return not self.transcript and self.document is None

    @property
    def title(self) -> str:
        """What the resume prompt calls it: the first thing typed, or the schema's name."""
        first = next((e.text for e in self.transcript if e.role == "user"), None)
        if first:
            return first if len(first) <= 60 else first[:59] + "…"
        if isinstance(self.document, dict):
            return str((self.document.get("metadata") or {}).get("name") or "a schema")
        return "an empty session"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        return cls(
            id=str(data["id"]),
            transcript=[Entry(str(e["role"]), str(e["text"])) for e in data.get("transcript", [])],
            document=data.get("document"),
            source=data.get("source"),
            answers={str(k): str(v) for k, v in (data.get("answers") or {}).items()},
            data_dir=data.get("data_dir"),
        )


class SessionStore:
    """Reads and writes sessions in one folder; a broken session file is skipped, never fatal."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, session: Session) -> Path:
        return self.root / session.id

    def conversation_path(self, session: Session) -> Path:
        return self.folder(session) / CONVERSATION_FILE

    def save(self, session: Session) -> None:
        folder = self.folder(session)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / SESSION_FILE, redact_data(session.to_dict()))  # no secret reaches disk

    def load(self, folder: Path) -> Session | None:
        try:
            return Session.from_dict(json.loads((folder / SESSION_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def latest(self) -> Session | None:
        """The most recently saved session that holds anything (to offer it for resume)."""
        if not self.root.is_dir():
            return None
        files = sorted(self.root.glob(f"*/{SESSION_FILE}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in files:
            session = self.load(path.parent)
            if session is not None and not session.empty:
                return session
        return None
