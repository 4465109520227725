"""The real backend: `datagen.nl.Conversation` over the endpoint the settings name (the environment:
OPENAI_API_KEY, OPENAI_BASE_URL, DATAGEN_MODEL, DATAGEN_LLM_MODE, DATAGEN_LLM_TIMEOUT; or the
connection saved in the app), with the reply streamed so the schema shows as the model writes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datagen.errors import LLMError
from datagen.nl.client import LLM, OpenAIClient
from datagen.nl.conversation import Conversation
from datagen.settings import Settings
from tui.backend import OnEvent, OnPartial


class LLMBackend:
    """The model is checked when a conversation is made, so a schema can be opened and generated
    without any model; `configured()` says whether one is set up (the app offers to connect one)."""

    def __init__(
        self,
        settings: Settings | None = None,
        client_factory: Callable[[Settings], LLM] = OpenAIClient,
    ) -> None:
        self.settings = settings
        self.client_factory = client_factory

    def _settings(self) -> Settings:
        return (self.settings or Settings.load()).require_llm()

    def configured(self) -> bool:
        try:
            self._settings()
        except LLMError:
            return False
        return True

    def use(self, settings: Settings) -> None:
        """Talk to the model these settings name from the next conversation on (after connecting)."""
        self.settings = settings

    def describe(self) -> str:
        return self._settings().describe()

    def new(self, on_event: OnEvent, on_partial: OnPartial | None = None) -> Conversation:
        settings = self._settings()
        return Conversation(
            self.client_factory(settings),
            on_event=on_event,
            on_partial=on_partial,
            turn_timeout=settings.llm_timeout,
            today=settings.today,
        )

    def resume(self, path: Path, on_event: OnEvent, on_partial: OnPartial | None = None) -> Conversation:
        settings = self._settings()
        return Conversation.resume(
            path,
            self.client_factory(settings),
            on_event=on_event,
            on_partial=on_partial,
            turn_timeout=settings.llm_timeout,
            today=settings.today,
        )
