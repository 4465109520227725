"""A scripted conversation backend: the app is driven exactly as with the real core, but each turn's
reply comes from a script, so the tests say what the person sees after each step."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.nl.events import Event
from datagen.nl.turns import Question
from tui.backend import OnEvent, OnPartial

Step = Callable[["ScriptedConversation"], list[Event]]


def ask(*questions: Question) -> Step:
    """The model asks; the event carries the questions as dicts, like the real conversation's."""

    def step(c: ScriptedConversation) -> list[Event]:
        c.pending_questions = list(questions)
        return [
            Event(
                "asked",
                "\n".join(q.text for q in questions),
                {"questions": [q.model_dump() for q in questions]},
            )
        ]

    return step


def propose(
    document: dict[str, Any],
    summary: str = "Here is a schema.",
    *,
    repaired: str | None = None,
    assumptions: tuple[str, ...] = (),
) -> Step:
    """The model proposes `document`; with `repaired`, a repair round happened on the way."""

    def step(c: ScriptedConversation) -> list[Event]:
        c.pending_questions = []
        tables = [n["id"] for n in document["nodes"]]
        events = [
            Event("progress", "asking the model (request 1 of 8)"),
            Event("proposed", f"the model proposed {len(tables)} table(s)", {"tables": tables}),
        ]
        if repaired:
            events.append(Event("repaired", repaired, {"source": "model", "rounds": 1}))
        c.document = copy.deepcopy(document)
        ready = {"summary": summary, "assumptions": list(assumptions), "warnings": [], "diff_lines": []}
        return [*events, Event("ready", f"schema ready: {len(tables)} table(s) ({', '.join(tables)})", ready)]

    return step


def draft(*documents: dict[str, Any]) -> Step:
    """The model writes a schema: each partial document reaches `on_partial` in turn (as a streamed
    reply does), then the step that follows in the script runs in the same turn."""

    def step(c: ScriptedConversation) -> list[Event]:
        for document in documents:
            if c.on_partial is not None:
                c.on_partial(copy.deepcopy(document))
        return c.steps.pop(0)(c)

    return step


def failed(text: str, hint: str, reason: str = "endpoint") -> Step:
    """A turn that fails the way the conversation reports it: a `failed` event, not an exception."""

    def step(c: ScriptedConversation) -> list[Event]:
        return [Event("failed", text, {"reason": reason, "hint": hint, "problems": []})]

    return step


def fail(exc: Exception) -> Step:
    """A step that raises (a bug, or an error the conversation lets through)."""

    def step(c: ScriptedConversation) -> list[Event]:
        raise exc

    return step


@dataclass
class ScriptedConversation:
    steps: list[Step]
    on_event: OnEvent | None = None
    on_partial: OnPartial | None = None
    document: Any = None
    pending_questions: list[Question] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def _next(self) -> list[Event]:
        events = self.steps.pop(0)(self)
        for event in events:
            if self.on_event is not None:
                self.on_event(event)
        return events

    def send(self, text: str) -> list[Event]:
        self.calls.append(("send", text))
        return self._next()

    def answer(self, answers: Mapping[str, str]) -> list[Event]:
        self.calls.append(("answer", dict(answers)))
        return self._next()

    def load_schema(self, document: Any) -> list[Event]:
        self.calls.append(("load_schema", document))
        self.document = copy.deepcopy(document)
        event = Event("ready", "schema ready", {"tables": [n["id"] for n in document["nodes"]]})
        if self.on_event is not None:
            self.on_event(event)
        return [event]

    def save(self, path: Path) -> None:
        state = {
            "document": self.document,
            "calls": self.calls,
            "pending": [q.model_dump() for q in self.pending_questions],
        }
        path.write_text(json.dumps(state), encoding="utf-8")


@dataclass
class ScriptedBackend:
    """`new` hands out one conversation over `steps`; `error` makes `new` fail like missing credentials."""

    steps: list[Step] = field(default_factory=list)
    error: Exception | None = None
    connected: bool = True  # False: no model is set up (the app offers to connect one)
    made: list[ScriptedConversation] = field(default_factory=list)
    resumed: list[Path] = field(default_factory=list)
    used: list[Any] = field(default_factory=list)  # settings handed over after connecting

    def configured(self) -> bool:
        return self.connected

    def use(self, settings: Any) -> None:
        self.used.append(settings)
        self.connected = True

    def new(self, on_event: OnEvent, on_partial: OnPartial | None = None) -> ScriptedConversation:
        if self.error is not None:
            raise self.error
        conversation = ScriptedConversation(self.steps, on_event, on_partial)
        self.made.append(conversation)
        return conversation

    def resume(
        self, path: Path, on_event: OnEvent, on_partial: OnPartial | None = None
    ) -> ScriptedConversation:
        self.resumed.append(path)
        state = json.loads(path.read_text(encoding="utf-8"))
        conversation = ScriptedConversation(
            self.steps,
            on_event,
            on_partial,
            state["document"],
            [Question(**q) for q in state["pending"]],
            state["calls"],
        )
        self.made.append(conversation)
        return conversation
