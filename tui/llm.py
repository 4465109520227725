"""The real backend: `datagen.nl.Conversation` over the endpoint configured in the environment
(OPENAI_API_KEY, OPENAI_BASE_URL, DATAGEN_MODEL, DATAGEN_LLM_MODE)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from datagen.nl.client import LLM, OpenAIClient
from datagen.nl.conversation import Conversation
from datagen.nl.settings import LLMSettings
from tui.backend import OnEvent


class LLMBackend:
    """Settings are read when a conversation is made, so a missing key is reported in the chat (with
    what to set), not at start-up: a schema can be opened and generated without any model."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        client_factory: Callable[[LLMSettings], LLM] = OpenAIClient,
    ) -> None:
        self.env = env
        self.client_factory = client_factory

    def _client(self) -> LLM:
        return self.client_factory(LLMSettings.from_env(self.env))

    def new(self, on_event: OnEvent) -> Conversation:
        return Conversation(self._client(), on_event=on_event)

    def resume(self, path: Path, on_event: OnEvent) -> Conversation:
        return Conversation.resume(path, self._client(), on_event=on_event)
