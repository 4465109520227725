"""What the model may answer: a tagged union of `Ask` (one or two one-click questions) and `Propose`
(a schema with the assumptions behind it). These models are the tool/JSON schema the endpoint sees,
so their field descriptions are instructions too. The schema itself is a free-form object here: the
DSL check (with messages written to be acted on) validates it, not this model."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_QUESTIONS = 2


class Question(BaseModel):
    """One short question the person answers with one click."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="short snake_case id, e.g. 'timeframe'")
    text: str = Field(min_length=3, max_length=200, description="the question, in plain words")
    kind: Literal["yes_no", "choice"]
    options: list[str] = Field(
        default_factory=list, max_length=6, description="2-6 short options for 'choice'; empty for yes_no"
    )
    default: str = Field(description="the option assumed when there is no answer ('yes' or 'no' for yes_no)")

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind == "yes_no":
            self.options = ["yes", "no"]
            self.default = self.default.strip().lower()
        elif not 2 <= len(self.options) <= 6 or len(set(self.options)) != len(self.options):
            raise ValueError("a 'choice' question needs 2-6 different options")
        if self.default not in self.options:
            raise ValueError(f"default '{self.default}' is not one of the options {self.options}")
        return self


class Ask(BaseModel):
    """Ask one or two essential questions before proposing."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["ask"]
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)


class Propose(BaseModel):
    """Propose the complete schema."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["propose"]
    summary: str = Field(description="one or two sentences for the person: what the dataset holds")
    assumptions: list[str] = Field(
        default_factory=list, description="each thing you assumed that the person did not say"
    )
    schema_: dict[str, Any] = Field(alias="schema", description="the whole Datagen schema (DSL v1)")


class Turn(BaseModel):
    """Your reply: ask up to two essential questions, or propose the schema."""

    turn: Annotated[Ask | Propose, Field(discriminator="type")]


class ProposalTurn(BaseModel):
    """Your reply: propose the schema (no more questions can be asked)."""

    turn: Propose


def turn_json(turn: Ask | Propose) -> str:
    """The reply as the model would have written it, for the assistant side of the next request."""
    body = turn.model_dump(mode="json", by_alias=True)
    return json.dumps({"turn": body}, separators=(",", ":"), ensure_ascii=False)
