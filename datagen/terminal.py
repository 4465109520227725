"""The consoles every message goes through. Text from people, schemas, servers and models is shown as
written — Rich markup, emoji codes and highlighting are off, so `[/bold]` or `clamp [min, max]` print
literally, and control characters are shown as `?` (a model's text could otherwise move the cursor
or retitle the window) — and secrets are redacted twice: from each printed object before layout (so a
key cannot be split across wrapped lines) and from the rendered output as it is written.

Our own styling is built with `styled(("error:", "bold red"), " ", message)` (rich `Text`), never by
writing markup into a string."""

from __future__ import annotations

import sys
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from datagen.redact import redact

Part = str | tuple[str, str]
# C0 and C1 control characters except tab and newline (rich itself drops only a few of them)
_CONTROLS = {c: "?" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def safe(text: str) -> str:
    """Text from outside (a person, a schema, a server, a model) made fit for a terminal: redacted,
    control characters shown as `?`."""
    return redact(text).translate(_CONTROLS)


class _RedactingStream:
    """A text stream whose writes are redacted; everything else (isatty, encoding…) is the wrapped
    stream's."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redact(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _clean(renderable: Any) -> Any:
    if isinstance(renderable, str):
        return safe(renderable)
    if isinstance(renderable, Text):
        text = safe(renderable.plain)
        if text != renderable.plain:
            renderable = renderable.copy()
            renderable.plain = text  # spans are kept (and trimmed if the text got shorter)
    return renderable


class Terminal(Console):
    """A rich `Console` that never interprets markup and never lets a secret out."""

    def __init__(self, *, stderr: bool = False, **options: Any) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False, **options)

    @property
    def file(self) -> IO[str]:
        return _RedactingStream(Console.file.fget(self))  # type: ignore[attr-defined,return-value]

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        Console.file.fset(self, new_file)  # type: ignore[attr-defined]

    def print(self, *objects: Any, **options: Any) -> None:
        options["markup"] = False  # a caller cannot turn markup back on for text it does not control
        super().print(*(_clean(o) for o in objects), **options)


def styled(*parts: Part) -> Text:
    """Text from plain strings and `(text, style)` pairs; no part is ever read as markup."""
    return Text.assemble(*(safe(p) if isinstance(p, str) else (safe(p[0]), p[1]) for p in parts))


def plain(text: str) -> Text:
    """User- or model-derived text as a rich `Text`, literal and safe (for tables and widgets)."""
    return Text(safe(text))


def write_raw(text: str, *, stderr: bool = False) -> None:
    """Machine-readable output (`--json`) as is, redacted, with a newline."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(redact(text) + "\n")
