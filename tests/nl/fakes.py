"""A scripted `LLM` for conversation tests that need no HTTP at all (the cassette tests cover the wire)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from datagen.nl.client import Message, Usage


class ScriptedLLM:
    """Answers each `complete()` with the next scripted item: a turn dict (validated against the
    requested model, as a real reply would be) or an exception to raise. Records every call."""

    def __init__(self, *script: dict[str, Any] | BaseException, usage: Usage | None = None) -> None:
        self.script = list(script)
        self.usage = usage or Usage(1, 1000, 200)
        self.calls: list[tuple[list[Message], type[BaseModel]]] = []
        self.timeouts: list[float] = []  # what each call was given of the turn's time

    def complete(
        self, messages: list[Message], response_model: type[BaseModel], *, timeout: float
    ) -> tuple[Any, Usage]:
        self.calls.append(([dict(m) for m in messages], response_model))
        self.timeouts.append(timeout)
        if not self.script:
            raise AssertionError(f"no scripted reply for call {len(self.calls)}")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return response_model.model_validate({"turn": item}), self.usage

    @property
    def models(self) -> list[str]:
        return [model.__name__ for _, model in self.calls]

    def last_user(self, call: int = -1) -> str:
        return next(m["content"] for m in reversed(self.calls[call][0]) if m["role"] == "user")
