"""The conversation's events and questions in the words the chat shows (the TUI's counterpart of
`datagen.nl.console.EventPrinter`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tui.widgets.chat import QuestionView


def _get(item: Any, key: str, default: Any = None) -> Any:
    return item.get(key, default) if isinstance(item, dict) else getattr(item, key, default)


def question_views(questions: Iterable[Any]) -> list[QuestionView]:
    """Questions as objects or as their dicts (events carry dicts); yes/no ones get the options yes, no."""
    views = []
    for q in questions:
        options = [str(o) for o in (_get(q, "options") or ["yes", "no"])]
        default = str(_get(q, "default") or options[0])
        views.append(
            QuestionView(
                str(_get(q, "id")),
                str(_get(q, "text")),
                options,
                default if default in options else options[0],
            )
        )
    return views


def _capital(text: str) -> str:
    """Sentence case for the core's lower-case messages, but never for a leading file name."""
    first = re.split(r"[\s:]", text, maxsplit=1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() else text


def _sentence(text: str) -> str:
    text = _capital(text)
    one_line = "\n" not in text
    return text + "." if one_line and (text[-1:].isalnum() or text.endswith(")")) else text


def ready_text(text: str, data: dict[str, Any]) -> str:
    """The summary first (what the person asked for), then what changed, what was assumed, warnings."""
    lines = [data["summary"]] if data.get("summary") else []
    lines.append(_sentence(text))
    lines += [f"  {line}" for line in data.get("diff_lines") or []]
    lines += [f"• assumed: {a}" for a in data.get("assumptions") or []]
    lines += [f"⚠ {w}" for w in data.get("warnings") or []]
    return "\n".join(lines)


def failed_text(text: str, data: dict[str, Any]) -> str:
    lines = [_sentence(text)]
    lines += [f"• {p}" for p in (data.get("problems") or [])[:8]]
    if data.get("hint"):
        lines.append(f"What to do: {data['hint']}")
    return "\n".join(lines)


def detail_text(text: str, data: dict[str, Any]) -> str:
    """Repairs and simplifications with their particulars: the slips fixed without the model, or what
    the checks found in the model's first attempt (at most three lines of it)."""
    lines = [_capital(text)]
    lines += [f"  • {fix}" for fix in data.get("fixes") or []]
    rounds = data.get("problems") or []
    found = rounds[0] if rounds and isinstance(rounds[0], list) else rounds
    lines += [f"  • found: {p}" for p in found[:3]]
    return "\n".join(lines)
