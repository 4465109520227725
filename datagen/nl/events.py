"""What a conversation tells its front end: small events a CLI prints and a TUI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

EventKind = Literal["asked", "proposed", "repaired", "simplified", "ready", "failed", "message", "progress"]


@dataclass(frozen=True)
class Event:
    """`text` is for a person as is; `data` carries the structured details (questions, tables,
    problems, the diff) for a UI that shows more. `progress` events may replace one another."""

    kind: EventKind
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "data": self.data}


class State(StrEnum):
    IDLE = "idle"  # nothing described yet (or only answered questions, about to propose)
    ASKING = "asking"  # waiting for answers to `pending_questions`
    READY = "ready"  # the current schema checks and generates
    FAILED = "failed"  # the last turn failed and there is no schema that works


@dataclass
class TurnStats:
    """One user turn: what it cost and how it went (the eval and `--verbose` report these)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    repairs: int = 0
    proposals: int = 0
    first_try_valid: bool | None = None
    first_problems: list[str] = field(default_factory=list)  # why the first proposal was refused
    simplified: bool = False
    fixes: int = 0
    questions: int = 0
    data_repairs: int = 0  # rounds after the full data failed validation

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "repairs": self.repairs,
            "proposals": self.proposals,
            "first_try_valid": self.first_try_valid,
            "first_problems": list(self.first_problems),
            "simplified": self.simplified,
            "fixes": self.fixes,
            "questions": self.questions,
            "data_repairs": self.data_repairs,
        }
