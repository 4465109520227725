"""The one way out: what the redactor removes, and that the consoles (CLI, nl, validate) print text
from people, schemas, servers and models literally — markup, emoji codes and control characters
included — without ever showing a secret."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from datagen.cli import app
from datagen.nl.console import EventPrinter, ask_questions
from datagen.nl.events import Event
from datagen.nl.turns import Question
from datagen.redact import REDACTED, redact, redact_data, redact_logs, remember_secret
from datagen.terminal import Terminal, styled, write_raw
from datagen.validate.console import render
from datagen.validate.report import Report
from datagen.validate.results import Result

MARKUP = ["[/bold]", "[/]", "[red]", "clamp [min, max] needs min <= max", ":smile:", "[link=x]y[/link]"]


# ------------------------------------------------------------------ the redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-abcdefghijklmnop0123 here", f"key {REDACTED} here"),
        ("Authorization: Bearer abc.def-123456789", f"Authorization: Bearer {REDACTED}"),
        ("https://alice:pw123@llm.example.com/v1", f"https://{REDACTED}@llm.example.com/v1"),
        ("http://token123@host:8000/v1 and more", f"http://{REDACTED}@host:8000/v1 and more"),
        ("GET /v1?key=AIzaSyA1&alt=json", f"GET /v1?key={REDACTED}&alt=json"),
        ("https://h/v1?model=m&api_key=zzz&x=1", f"https://h/v1?model=m&api_key={REDACTED}&x=1"),
        ("https://h/v1?access_token=t0k#frag", f"https://h/v1?access_token={REDACTED}#frag"),
        ("plain words, a [bracket] and sk-short", "plain words, a [bracket] and sk-short"),
        ("task-force-0123456789abcdefghij and sk-large-blue-widget-edition", None),
        ("https://llm.example.com/v1?model=m", "https://llm.example.com/v1?model=m"),
    ],
)
def test_credential_shaped_text_is_redacted_and_nothing_else(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)


def test_a_remembered_secret_is_redacted_wherever_it_appears_but_short_values_are_not() -> None:
    secret = "corp-gateway-31f0c9aa-secret"
    remember_secret(secret)
    remember_secret("ollama")  # a placeholder key: redacting the word everywhere would garble messages
    assert redact(f"401: {secret} is not valid; use ollama") == f"401: {REDACTED} is not valid; use ollama"
    document = {"metadata": {"description": f"built with {secret}"}, secret: [f"x{secret}y", 3, None]}
    assert redact_data(document) == {
        "metadata": {"description": f"built with {REDACTED}"},
        REDACTED: [f"x{REDACTED}y", 3, None],
    }
    assert json.loads(json.dumps(redact_data(document)))  # still JSON


def test_log_records_are_redacted_whoever_writes_them() -> None:
    secret = "log-line-5e2d1c0b9a-secret"
    remember_secret(secret)
    redact_logs()
    redact_logs()  # idempotent
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("datagen.test.redaction")
    logger.addHandler(handler)
    try:
        logger.error("request to %s failed: %s", "https://u:p4ss@h/v1", f"key {secret}")
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            logger.exception("with a traceback")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert secret not in written and "p4ss" not in written
    assert f"request to https://{REDACTED}@h/v1 failed: key {REDACTED}" in written
    assert f"RuntimeError: boom {REDACTED}" in written


# ------------------------------------------------------------------ the consoles


def terminal(**options) -> tuple[Terminal, io.StringIO]:
    buffer = io.StringIO()
    return Terminal(file=buffer, width=200, **options), buffer


def test_the_terminal_prints_markup_literally_and_redacts() -> None:
    console, buffer = terminal()
    for text in MARKUP:
        console.print(text)
        console.print(styled(("label", "bold"), f" {text}"))
    console.print("[bold]x[/bold]", markup=True)  # a caller cannot turn markup back on
    console.print("key: sk-proj-abcdefghijklmnop0123 \x1b]0;pwned\x07 done")
    lines = buffer.getvalue().splitlines()
    for text in MARKUP:
        assert text in lines and f"label {text}" in lines
    assert "[bold]x[/bold]" in lines
    assert f"key: {REDACTED} ?]0;pwned? done" in lines  # no escape sequence reaches the terminal


def test_a_table_cell_does_not_hide_a_secret_from_the_last_line_of_defence() -> None:
    from rich.table import Table

    console, buffer = terminal()
    table = Table()
    table.add_column("value")
    table.add_row("sk-proj-abcdefghijklmnop0123")  # a careless plain string cell
    console.print(table)
    assert "sk-proj" not in buffer.getvalue() and REDACTED in buffer.getvalue()


def test_machine_readable_output_is_redacted_and_stays_json(capsys: pytest.CaptureFixture[str]) -> None:
    write_raw(json.dumps({"message": "bad key sk-proj-abcdefghijklmnop0123"}))
    assert json.loads(capsys.readouterr().out) == {"message": f"bad key {REDACTED}"}


@pytest.mark.parametrize("text", MARKUP)
def test_the_nl_printer_shows_model_text_literally_on_any_console(text: str) -> None:
    """Even on a console that interprets markup (a library user's), events print as written."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, markup=True, emoji=True, highlight=False)
    printer = EventPrinter(console, verbose=True)
    printer(Event("progress", f"checking {text}", {"problems": [f"nodes[0]: {text}"]}))
    printer(Event("repaired", f"fixed {text}", {"fixes": [text]}))
    printer(Event("failed", "no", {"problems": [text]}))
    data = {"summary": text, "diff_lines": [text], "assumptions": [text], "warnings": [text]}
    printer(Event("ready", f"schema ready: {text}", data))
    printer(Event("message", text))
    question = Question(id="q", text=f"Which {text}?", kind="choice", options=[text, "b"], default="b")
    ask_questions([question], console, stream=io.StringIO("\n"))
    out = buffer.getvalue()
    for expected in (
        f"· checking {text}",
        f"nodes[0]: {text}",
        f"repaired fixed {text}",
        f"• {text}",
        f"✓ schema ready: {text}",
        f"  {text}",
        f"assumed: {text}",
        f"warning {text}",
        f"? Which {text}?",
        f"1. {text}",
    ):
        assert expected in out, expected


def test_the_validation_report_prints_names_messages_and_examples_literally() -> None:
    failing = Result(
        "range",
        "value",
        "orders",
        "amount",
        "fail",
        "clamp [min, max] needs [/bold] values in [red]range[/]",
        hard=True,
        examples=[{"amount": "[/]"}],
        fix="set [min, max] to [4, 400]",
    )
    report = Report("shop [/]", "h", "data", [failing], {})
    console, buffer = terminal()
    render(report, console, report_path=Path("r[/].json"))
    out = buffer.getvalue()
    for expected in (
        "FAIL  shop [/]:",
        "clamp [min, max] needs [/bold]",
        '"[/]"',
        "set [min, max] to [4, 400]",
    ):
        assert expected in out, expected
    assert "report: r[/].json" in out


# ------------------------------------------------------------------ the CLI end to end


def test_check_prints_markup_in_keys_and_in_its_own_messages_literally(tmp_path: Path) -> None:
    from tests.nl.scenarios import turn

    odd_key = tmp_path / "odd_key.json"
    odd_key.write_text(json.dumps({"[/bold]": 1}), encoding="utf-8")
    schema = turn("bookshop")["schema"]
    schema["nodes"][1]["columns"][3]["generator"]["distribution"]["clamp"] = [400, 4]
    clamp = tmp_path / "clamp.json"
    clamp.write_text(json.dumps(schema), encoding="utf-8")
    runner = CliRunner()
    for path, expected in ((odd_key, "[/bold]"), (clamp, "clamp [min, max] needs min <= max")):
        result = runner.invoke(app, ["check", str(path)], terminal_width=200)
        assert result.exit_code == 2, result.output
        assert expected in result.stderr
        assert "internal error" not in result.output and "Traceback" not in result.output
