"""What the app needs from the conversation core, and how it gets one (injection).

The app never builds an LLM client itself: it receives a `Backend` that makes conversations (new or
resumed). The CLI passes one over the real `datagen.nl.Conversation`; tests pass a scripted one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol


class EventLike(Protocol):
    """Read-only members, so an event whose `kind` is a narrower type (a Literal) fits too."""

    @property
    def kind(self) -> str: ...  # asked, proposed, repaired, simplified, ready, failed, message, progress

    @property
    def text(self) -> str: ...

    @property
    def data(self) -> Any: ...


class ConversationLike(Protocol):
    def send(self, text: str) -> Sequence[EventLike]: ...

    def answer(self, answers: Mapping[str, str]) -> Sequence[EventLike]: ...

    def load_schema(self, document: Any) -> Sequence[EventLike]: ...

    def save(self, path: Path) -> None: ...

    @property
    def document(self) -> Any: ...

    @property
    def pending_questions(self) -> Sequence[Any]: ...


OnEvent = Callable[[EventLike], None]
OnPartial = Callable[[dict[str, Any]], None]  # the schema so far, while the model writes it


class Backend(Protocol):
    """Makes conversations. `new` may raise DatagenError (e.g. no credentials): the app shows it.
    `configured()` says whether a model is set up; `use(settings)` switches to a newly connected one."""

    def new(self, on_event: OnEvent, on_partial: OnPartial | None = None) -> ConversationLike: ...

    def resume(
        self, path: Path, on_event: OnEvent, on_partial: OnPartial | None = None
    ) -> ConversationLike: ...

    def configured(self) -> bool: ...

    def use(self, settings: Any) -> None: ...
