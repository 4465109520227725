"""The real backend: `datagen.nl.Conversation` over the endpoint the settings name (OPENAI_API_KEY,
OPENAI_BASE_URL, DATAGEN_MODEL, DATAGEN_LLM_MODE, DATAGEN_LLM_TIMEOUT)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datagen.nl.client import LLM, OpenAIClient
from datagen.nl.conversation import Conversation
from datagen.settings import Settings
from tui.backend import OnEvent


class LLMBackend:
    """The model is checked when a conversation is made, so a missing key is reported in the chat
    (with what to set), not at start-up: a schema can be opened and generated without any model.
    Without `settings` they are read from the environment at that moment."""

    def __init__(
        self,
        settings: Settings | None = None,
        client_factory: Callable[[Settings], LLM] = OpenAIClient,
    ) -> None:
        self.settings = settings
        self.client_factory = client_factory

    def _settings(self) -> Settings:
        return (self.settings or Settings.load()).require_llm()

    def new(self, on_event: OnEvent) -> Conversation:
        settings = self._settings()
        return Conversation(
            self.client_factory(settings), on_event=on_event, turn_timeout=settings.llm_timeout
        )

    def resume(self, path: Path, on_event: OnEvent) -> Conversation:
        settings = self._settings()
        return Conversation.resume(
            path, self.client_factory(settings), on_event=on_event, turn_timeout=settings.llm_timeout
        )
