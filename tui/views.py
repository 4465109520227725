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


# A failed turn in plain words: what happened, then what to do (the conversation's own text is folded
# under it for whoever wants the particulars).
FAILURES = {
    "timeout": "The model did not finish in time.",
    "connection": "I could not reach the language model.",
    "server": "The language model's server had a problem.",
    "rate_limit": "The model's service says there are too many requests right now.",
    "budget": "The model needed too many tries for this request.",
    "unreadable": "The model's answers kept coming back garbled.",
    "invalid": "The model's drafts kept having mistakes I could not fix.",
    "refused": "The model declined to answer.",
    "endpoint": "The language model's server refused the request.",
}
ADVICE = {
    "timeout": "Try again; a smaller model answers faster, or allow more time (datagen tui --timeout 600).",
    "connection": "Check that the model server is running, then try again.",
    "server": "Wait a minute and try again.",
    "rate_limit": "Wait a minute and try again.",
    "budget": "Try again, or describe the data more simply.",
    "unreadable": "Try again, or connect a larger model (ctrl+k).",
    "invalid": "Describe the data more simply, or ask for fewer things at once.",
    "refused": "Describe the data in other words.",
    "endpoint": "Check the connection (ctrl+k), then try again.",
}
RETRYABLE = {"timeout", "connection", "server", "rate_limit", "budget", "unreadable", "invalid", "endpoint"}


def plain_failure(text: str, data: dict[str, Any]) -> tuple[str, str]:
    """(what the chat says, the particulars folded under it)."""
    reason = str(data.get("reason") or "")
    if reason not in FAILURES:
        return failed_text(text, data), ""
    return f"{FAILURES[reason]} {ADVICE[reason]}", failed_text(text, data)


def plain_repair(kind: str, text: str, data: dict[str, Any]) -> str:
    """A repair or simplification as the chat says it; its particulars go under it (detail_text)."""
    if kind == "simplified":
        return "To get a schema that works, I left something out (see below)."
    if data.get("source") == "fixes":
        return "I fixed a small slip in my draft."
    rounds = data.get("rounds") or 1
    return (
        "I fixed a mistake in my draft."
        if rounds == 1
        else f"I fixed mistakes in my draft ({rounds} rounds)."
    )


def phase(kind: str, text: str, data: dict[str, Any]) -> str:
    """What is happening inside a turn, in plain words, from the conversation's progress events."""
    stage = data.get("stage")
    if kind == "proposed":
        n = len(data.get("tables") or [])
        return f"Got a draft with {n} table(s); checking it"
    if stage == "request":
        n = data.get("request") or 1
        return "Waiting for the model to answer" + (f" (try {n})" if n > 1 else "")
    if stage == "repair":
        return f"The draft had a mistake; asking the model to fix it (round {data.get('round', 1)})"
    if stage == "retry":
        return f"The model's server stumbled; trying again in {float(data.get('wait') or 0):.0f} s"
    if text.startswith("checking the schema"):
        return "Checking the draft and making sample rows"
    if text.startswith("the model's reply could not be read"):
        return "The answer came back garbled; asking again"
    return _capital(text)
