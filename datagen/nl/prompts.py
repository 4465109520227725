"""The model's instructions: plain files in prompts/, with `<<NAME>>` slots filled here.

Slots are filled in one pass, so text put into a slot (a person's request, a checker message) is never
read as a template: no `{{ }}` and no `<<…>>` in user text can change what the model is told."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from datagen.errors import DatagenError
from datagen.nl.cheatsheet import cheatsheet
from datagen.resources import prompts_dir

_SLOT = re.compile(r"<<([A-Z_]+)>>")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TEXTS = (
    "system",
    "clarify",
    "answers",
    "refine",
    "fixed",
    "repair_check",
    "repair_preflight",
    "repair_unreadable",
    "repair_stuck",
    "repair_cut",
    "repair_data",
    "repair_generation",
)


def fill(template: str, **values: str) -> str:
    """Replace each `<<NAME>>` with `values[name.lower()]`; a slot without a value is a bug."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1).lower()
        if key not in values:
            raise DatagenError(f"prompt slot <<{match.group(1)}>> has no value")
        return values[key]

    return _SLOT.sub(value, template)


@dataclass(frozen=True)
class FewShot:
    name: str
    request: str
    turn: dict


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]
    examples: tuple[FewShot, ...]

    def text(self, name: str, **values: str) -> str:
        return fill(self.texts[name], **values).strip()

    def system(self, today: date) -> str:
        """The system prompt; `today` anchors periods such as "the last 18 months" (passed in, so a
        test or a replayed measurement sees the same prompt whatever the day)."""
        shots = "\n\n".join(
            f"Request: {ex.request}\nReply: {json.dumps({'turn': ex.turn}, separators=(',', ':'))}"
            for ex in self.examples
        )
        return fill(
            self.texts["system"],
            clarify=self.texts["clarify"].strip(),
            cheatsheet=cheatsheet(),
            examples=shots,
            today=f"{_WEEKDAYS[today.weekday()]} {today.isoformat()}",
        ).strip()


def load_prompts(directory: Path | None = None) -> Prompts:
    """Read every text and few-shot example once; a missing file is an install problem, said plainly."""
    folder = directory or prompts_dir()
    try:
        texts = {name: (folder / f"{name}.md").read_text(encoding="utf-8") for name in TEXTS}
        shots = tuple(
            FewShot(path.stem, data["request"], data["turn"])
            for path in sorted((folder / "fewshot").glob("*.json"))
            for data in [json.loads(path.read_text(encoding="utf-8"))]
        )
    except (OSError, ValueError, KeyError) as exc:
        raise DatagenError(
            f"cannot read the LLM prompts in {folder}: {exc}",
            hint="reinstall datagen (the prompts ship with it)",
        ) from exc
    return Prompts(texts, shots)


@cache
def default_prompts() -> Prompts:
    return load_prompts()
