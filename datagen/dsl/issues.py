"""What the checker reports: issues with a JSON path, gathered rather than raised one at a time."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]
PathPart = str | int


def format_path(parts: Sequence[PathPart]) -> str:
    """`("nodes", 2, "columns", 4)` -> `nodes[2].columns[4]`; the form every message uses."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(schema)"


@dataclass(frozen=True)
class Issue:
    """One finding. `code` is machine-readable (stable), `message` is for a person or a repairing LLM."""

    path: str
    message: str
    severity: Severity = "error"
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "path": self.path, "code": self.code, "message": self.message}


@dataclass
class IssueList:
    """Collects issues; helpers keep the call sites short."""

    items: list[Issue] = field(default_factory=list)

    def error(self, path: Sequence[PathPart] | str, message: str, code: str = "invalid") -> None:
        self._add(path, message, "error", code)

    def warning(self, path: Sequence[PathPart] | str, message: str, code: str = "warning") -> None:
        self._add(path, message, "warning", code)

    def note(self, path: Sequence[PathPart] | str, message: str, code: str = "note") -> None:
        self._add(path, message, "note", code)

    def _add(self, path: Sequence[PathPart] | str, message: str, severity: Severity, code: str) -> None:
        p = path if isinstance(path, str) else format_path(path)
        issue = Issue(p, message, severity, code)
        if issue not in self.items:
            self.items.append(issue)

    def extend(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            if issue not in self.items:
                self.items.append(issue)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.items if i.severity == "error"]


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix when a close option exists, else ''."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def allowed_list(options: Iterable[str], limit: int = 12) -> str:
    opts = sorted(options)
    shown = ", ".join(opts[:limit])
    return shown + (f", … ({len(opts)} in all)" if len(opts) > limit else "")
