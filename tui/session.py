"""Autosaved sessions, so nothing typed is lost on a crash or a quit.

One folder per session under `Settings.sessions_dir`: `session.json` holds what the app shows (the
transcript, the schema document and where it came from, the answers given, the last dataset folder);
`conversation.jsonl` is the conversation core's own save file, used to resume it with the LLM."""

from __future__ import annotations

import contextlib
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
    def tables(self) -> list[str]:
        nodes = self.document.get("nodes") if isinstance(self.document, dict) else None
        return [str(n["id"]) for n in nodes or [] if isinstance(n, dict) and "id" in n]

    @property
    def state(self) -> str:
        """`has a schema`, `failed` (its last word is a problem and there is no schema), `empty` or
        `in progress` (asked, answered, waiting)."""
        if self.document is not None:
            return "has a schema"
        if not any(e.role == "user" for e in self.transcript):
            return "empty"
        said = ("assistant", "error", "answer")
        last = next((e for e in reversed(self.transcript) if e.role in said), None)
        return "failed" if last is not None and last.role == "error" else "in progress"

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

    def saved(self) -> list[tuple[Session, datetime]]:
        """Every readable session with when it was last saved, the ones worth going back to first
        (a schema, or a conversation under way), newest first; failed and empty ones after them."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob(f"*/{SESSION_FILE}"):
            session = self.load(path.parent)
            if session is not None:
                with contextlib.suppress(OSError):
                    found.append((session, datetime.fromtimestamp(path.stat().st_mtime, UTC)))
        found.sort(key=lambda item: item[1], reverse=True)
        found.sort(key=lambda item: item[0].state in ("failed", "empty"))
        return found

    def latest(self) -> Session | None:
        """The most recent session worth offering for resume (none that failed or is empty)."""
        for session, _ in self.saved():
            if session.state not in ("failed", "empty"):
                return session
        return None

    def delete(self, session: Session) -> None:
        """Remove a session's own files (and its folder when nothing else is in it)."""
        folder = self.folder(session)
        for name in (SESSION_FILE, CONVERSATION_FILE):
            (folder / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
