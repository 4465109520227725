"""Plain English to a validated schema: the conversation both front ends drive.

    settings = Settings.load()
    conv = Conversation(OpenAIClient(settings), on_event=print, turn_timeout=settings.llm_timeout)
    conv.send("an online shop's customers and orders over two years")
    while conv.state is State.ASKING:
        conv.answer({q.id: q.default for q in conv.pending_questions})
    conv.document  # the schema, checked and generated in a sample

Importing this package does not import openai or instructor; `OpenAIClient` does, when made."""

from __future__ import annotations

from datagen.nl.client import LLM, OpenAIClient, Usage
from datagen.nl.conversation import Conversation
from datagen.nl.events import Event, State, TurnStats
from datagen.nl.turns import Ask, Propose, Question
from datagen.settings import Settings

__all__ = [
    "LLM",
    "Ask",
    "Conversation",
    "Event",
    "OpenAIClient",
    "Propose",
    "Question",
    "Settings",
    "State",
    "TurnStats",
    "Usage",
]
