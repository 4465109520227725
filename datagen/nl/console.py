"""The one-shot front end's terminal side: events printed with rich, questions asked with the arrow
keys on a terminal (or typed: a number, an option, or the person's own words; Enter takes the default).
The TUI renders the same events its own way; nothing here is needed by the conversation itself.

Everything the model or the person wrote is printed as `Text` (never parsed as markup) and redacted,
whatever console it is given."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from datagen.nl.dataset_build import Outcome
from datagen.nl.events import Event
from datagen.nl.turns import Question
from datagen.redact import redact
from datagen.terminal import plain, styled

OWN_WORDS = "something else (type it)"


class EventPrinter:
    """Prints events as they happen; progress lines only when verbose (they are frequent). A failure's
    own text is left to the command, which ends with it as its error message."""

    def __init__(self, console: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose

    def __call__(self, event: Event) -> None:
        c, text, data = self.console, event.text, event.data
        if event.kind == "progress" or event.kind == "proposed":
            if self.verbose:
                c.print(styled((f"· {text}", "dim")), soft_wrap=True)
                for problem in data.get("problems", []) if event.kind == "progress" else []:
                    c.print(styled((f"    {problem}", "dim")), soft_wrap=True)
        elif event.kind == "repaired":
            c.print(styled(("repaired", "yellow"), f" {text}"), soft_wrap=True)
            for fix in data.get("fixes", []) if self.verbose else []:
                c.print(styled("  ", (str(fix), "dim")), soft_wrap=True)
        elif event.kind == "simplified":
            c.print(styled(("simplified", "bold yellow"), f" {text}"), soft_wrap=True)
        elif event.kind == "failed":  # the command ends with the failure's text; its details go first
            for problem in data.get("problems", []):
                c.print(styled("  ", ("•", "red"), f" {problem}"), soft_wrap=True)
        elif event.kind == "ready":
            self._ready(data, text)
        elif event.kind == "message":
            c.print(plain(text), soft_wrap=True)

    def _ready(self, data: dict[str, Any], text: str) -> None:
        c = self.console
        c.print(styled(("✓", "green"), f" {text}"), soft_wrap=True)
        if data.get("summary"):
            c.print(plain(f"  {data['summary']}"), soft_wrap=True)
        for line in data.get("diff_lines", []):
            c.print(styled("  ", (str(line), "cyan")), soft_wrap=True)
        for assumption in data.get("assumptions", []):
            c.print(styled("  ", ("assumed:", "dim"), f" {assumption}"), soft_wrap=True)
        for warning in data.get("warnings", []):
            c.print(styled("  ", ("warning", "yellow"), f" {warning}"), soft_wrap=True)


def _read_line(stream: IO[str]) -> str | None:
    line = stream.readline()
    return None if line == "" else line.rstrip("\n")


def _menu(console: Console, options: list[str], default: int) -> int:
    """Arrow keys (or j/k) move, Enter picks, a digit picks at once. POSIX terminals only. The options
    are model text written straight to the terminal, so they are redacted and their control
    characters (which could move the cursor or retitle the window) are shown as `?`."""
    options = ["".join(ch if ch.isprintable() else "?" for ch in redact(o)) for o in options]
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    index = default

    def draw(again: bool) -> None:
        if again:
            sys.stdout.write(f"\x1b[{len(options)}A")
        for i, option in enumerate(options):
            mark = "\x1b[1;36m❯\x1b[0m" if i == index else " "
            sys.stdout.write(f"\x1b[2K  {mark} {option}{'  (default)' if i == default else ''}\n")
        sys.stdout.flush()

    try:
        tty.setcbreak(fd)
        draw(False)
        while True:
            key = sys.stdin.read(1)
            if key in ("\r", "\n"):
                break
            if key.isdigit() and 1 <= int(key) <= len(options):
                index = int(key) - 1
                draw(True)
                break
            if key == "\x1b":
                key = {"[A": "k", "[B": "j"}.get(sys.stdin.read(2), "")
            if key in ("k", "j"):
                index = (index + (1 if key == "j" else -1)) % len(options)
                draw(True)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return index


def ask_questions(
    questions: list[Question],
    console: Console,
    *,
    stream: IO[str] | None = None,
    menu: Callable[[Console, list[str], int], int] | None = None,
) -> dict[str, str]:
    """One answer per question id. On a terminal: an arrow-key menu; otherwise a typed line (a number,
    an option or free words; an empty line or end of input takes the default)."""
    stream = stream or sys.stdin
    interactive = menu is not None or (stream is sys.stdin and sys.stdin.isatty() and sys.stdout.isatty())
    if interactive and menu is None:
        try:
            import termios  # noqa: F401  (POSIX only)

            menu = _menu
        except ImportError:
            interactive = False
    answers: dict[str, str] = {}
    for q in questions:
        console.print(styled(("?", "bold"), f" {q.text}"), soft_wrap=True)
        options = list(q.options) + ([OWN_WORDS] if q.kind == "choice" else [])
        default = q.options.index(q.default)
        if interactive and menu is not None:
            picked = options[menu(console, options, default)]
            if picked == OWN_WORDS:
                console.print(plain("  your answer: "), end="")
                picked = (_read_line(stream) or "").strip() or q.default
            answers[q.id] = picked
            continue
        for i, option in enumerate(q.options, 1):
            suffix = "  (default)" if option == q.default else ""
            console.print(plain(f"  {i}. {option}{suffix}"), soft_wrap=True)
        console.print(plain("  answer (number, option or your own words; Enter for the default): "), end="")
        typed = _read_line(stream)
        answers[q.id] = (typed or "").strip() or q.default
        if not stream.isatty():  # piped input is not echoed: show what was read
            console.print(plain(answers[q.id]))
    return answers


def print_outcome(console: Console, outcome: Outcome) -> None:
    view = Table(title=plain(f"wrote {outcome.out_dir}"), title_justify="left")
    view.add_column("table")
    view.add_column("rows", justify="right")
    for table, rows in outcome.rows.items():
        view.add_row(plain(table), f"{rows:,}")
    view.add_row(styled(("total", "bold")), f"{sum(outcome.rows.values()):,}")
    console.print(view)
    q = outcome.quality
    verdict = ("passed", "green") if q.passed else ("failed", "bold red")
    console.print(styled(f"quality score {q.score:.1f} / 100, validation ", verdict))
    for failure in q.failed_checks:
        console.print(styled("  ", ("✗", "red"), f" {failure}"), soft_wrap=True)
