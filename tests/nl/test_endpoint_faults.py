"""`datagen nl` against an endpoint that misbehaves (a real HTTP server on 127.0.0.1, started here):
the key never reaches any output or file, server and model text print literally, every turn ends
within its time limit, and each fault is one plain message with exit code 2."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import instructor  # noqa: F401  (imported here so its import time is not counted in a turn's seconds)
import pytest
from typer.testing import CliRunner

from datagen.cli import app
from tests.nl.fake_endpoint import FakeEndpoint, Model, Respond, Silent, Trickle
from tests.nl.scenarios import turn
from tests.nl.wire import Reply

runner = CliRunner()
PROMPT = "Customers and orders of an online bookshop for 2024."
# Not sk-shaped: only remembering the configured value can catch it. The second one is sk-shaped.
KEYS = ["proj-live-4f9b2c7e1a0d-secret", "sk-proj-Q2hlY2tUaGVLZXlJc05vdEhlcmUx"]
SLACK = 4.0  # seconds past the limit a turn may take to wind down (thread start, process, printing)


def nl(tmp_path: Path, url: str, *args: str, key: str = KEYS[0], env: dict[str, str] | None = None):
    """Run `datagen nl` in-process; returns the result and the seconds it took."""
    env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": url, "DATAGEN_MODEL": "m", **(env or {})}
    command = ["nl", PROMPT, "--yes", "--no-generate", "-o", str(tmp_path / "out" / "schema.json"), *args]
    started = time.monotonic()
    result = runner.invoke(app, command, env=env, terminal_width=200)
    return result, time.monotonic() - started


def everything(tmp_path: Path, result: Any) -> str:
    """Every byte the run showed or wrote: stdout, stderr and every file under tmp_path."""
    files = [
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(tmp_path.rglob("*")) if p.is_file()
    ]
    return "\n".join([result.stdout, result.stderr, *files])


def error_body(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------ secrets


@pytest.mark.parametrize("key", KEYS)
def test_a_400_that_quotes_the_key_is_shown_redacted_and_literally(tmp_path: Path, key: str) -> None:
    body = error_body(f"Invalid 'tools[0]' for the key {key}: expected [/bold] an object")
    with FakeEndpoint(Respond(400, body)) as endpoint:
        result, _ = nl(tmp_path, endpoint.url, key=key)
    assert result.exit_code == 2, result.output
    message = one_line(result.stderr)
    assert f"{endpoint.url} rejected the request (400)" in message
    assert "Invalid 'tools[0]' for the key <redacted>: expected [/bold] an object" in message
    assert key not in everything(tmp_path, result)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", KEYS)
def test_a_quota_429_that_quotes_the_key_is_shown_redacted(tmp_path: Path, key: str) -> None:
    body = error_body(
        f"You exceeded your current quota (key {key}).", "insufficient_quota", "insufficient_quota"
    )
    with FakeEndpoint(Respond(429, body)) as endpoint:
        result, _ = nl(tmp_path, endpoint.url, key=key)
    assert result.exit_code == 2, result.output
    assert "no quota left: You exceeded your current quota (key <redacted>)." in one_line(result.stderr)
    assert len(endpoint.requests) == 1  # a quota is not retried
    assert key not in everything(tmp_path, result)


def test_credentials_in_the_base_url_are_never_shown(tmp_path: Path) -> None:
    with FakeEndpoint(Respond(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")) as endpoint:
        with_credentials = endpoint.url.replace("http://", "http://alice:pa55-w0rd-xyz@")
        unnamed, _ = nl(tmp_path, with_credentials, env={"DATAGEN_MODEL": ""})
        failing, _ = nl(tmp_path, with_credentials, "--verbose", "--timeout", "2")
    assert unnamed.exit_code == 2 and failing.exit_code == 2
    assert (
        f"OPENAI_BASE_URL is set ({endpoint.url}) but no model is named, and {endpoint.url}/models could "
        "not be read to find one (it answered 404)"
    ) in one_line(unnamed.stderr)
    assert f"m at {endpoint.url} (TOOLS mode)" in failing.stdout  # --verbose names the model and endpoint
    assert f"{endpoint.url} is failing" in one_line(failing.stderr)
    for result in (unnamed, failing):
        shown = everything(tmp_path, result)
        assert "pa55-w0rd-xyz" not in shown and "alice" not in shown


@pytest.mark.parametrize("key", KEYS)
def test_a_model_that_echoes_the_key_gets_it_into_no_output_or_file(tmp_path: Path, key: str) -> None:
    """First reply: the key as a generator name, in the summary, an assumption and the description
    (the checker rejects the generator, so the repair request goes back); second reply: fixed, still
    echoing it in the summary and the description."""

    def echo(doc: dict[str, Any]) -> None:
        doc["metadata"]["description"] = f"Orders, made with {key}."

    def bad_generator(doc: dict[str, Any]) -> None:
        echo(doc)
        doc["nodes"][0]["columns"][1]["generator"] = {"faker": {"method": key}}

    first = turn("bookshop", bad_generator, summary=f"A bookshop ({key}).", assumptions=[f"the key is {key}"])
    second = turn("bookshop", echo, summary=f"A bookshop ({key}).")
    with FakeEndpoint(Model(Reply(first)), Model(Reply(second))) as endpoint:
        result, _ = nl(tmp_path, endpoint.url, "--verbose", key=key)
    assert result.exit_code == 0, result.output
    schema = json.loads((tmp_path / "out" / "schema.json").read_text())
    assert schema["metadata"]["description"] == "Orders, made with <redacted>."
    assert "A bookshop (<redacted>)." in result.stdout
    assert "<redacted>" in (tmp_path / "out" / "schema.conversation.jsonl").read_text()
    assert len(endpoint.requests) == 2  # the repair happened (the generator name was checked)
    assert key not in everything(tmp_path, result)
    assert key not in json.dumps(endpoint.requests)  # nor was it sent back to the model


# ------------------------------------------------------------------ markup


def test_markup_in_a_server_message_prints_literally(tmp_path: Path) -> None:
    body = error_body("bad value [/] in [red]messages[0][/red] and [bold]x")
    with FakeEndpoint(Respond(400, body)) as endpoint:
        result, _ = nl(tmp_path, endpoint.url)
    assert result.exit_code == 2, result.output
    assert "bad value [/] in [red]messages[0][/red] and [bold]x" in one_line(result.stderr)
    assert "internal error" not in result.output


# ------------------------------------------------------------------ time


@pytest.mark.parametrize(
    "behaviour", [Trickle(1.0), Trickle(1.0, from_start=True), Silent()], ids=["body", "headers", "silent"]
)
def test_a_slow_or_silent_server_ends_the_turn_at_the_time_limit(tmp_path: Path, behaviour: Any) -> None:
    with FakeEndpoint(behaviour) as endpoint:
        result, seconds = nl(tmp_path, endpoint.url, "--timeout", "2")
    assert result.exit_code == 2, result.output
    message = one_line(result.stderr)
    assert f"the model at {endpoint.url} did not finish answering within" in message
    assert "the time limit for one turn (2.0 s) is used up" in message
    assert "--timeout SECONDS or DATAGEN_LLM_TIMEOUT" in message
    assert seconds < 2 + SLACK
    assert not (tmp_path / "out").exists()


def test_the_time_limit_comes_from_the_environment_too(tmp_path: Path) -> None:
    with FakeEndpoint(Silent()) as endpoint:
        result, seconds = nl(tmp_path, endpoint.url, env={"DATAGEN_LLM_TIMEOUT": "2"})
    assert result.exit_code == 2, result.output
    assert "the time limit for one turn (2.0 s) is used up" in one_line(result.stderr)
    assert seconds < 2 + SLACK


def test_eval_bounds_each_prompt_by_the_time_limit(tmp_path: Path) -> None:
    prompts = Path(__file__).with_name("eval_small.yaml")
    with FakeEndpoint(Silent()) as endpoint:
        env = {"OPENAI_API_KEY": KEYS[0], "OPENAI_BASE_URL": endpoint.url, "DATAGEN_MODEL": "m"}
        started = time.monotonic()
        result = runner.invoke(
            app, ["eval", str(prompts), "--timeout", "2", "--json", str(tmp_path / "e.json")], env=env
        )
        seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "e.json").read_text())["results"]
    assert [r["ready"] for r in results] == [False, False]
    assert all("time limit for one turn (2.0 s) is used up" in r["error"] for r in results)
    assert seconds < 2 * len(results) + SLACK


# ------------------------------------------------------------------ replies that are not completions


@pytest.mark.parametrize(
    ("body", "content_type", "shown"),
    [
        (b"hello, this is not json", "text/plain", "(text: 'hello, this is not json')"),
        (
            b"<html><body>Sign in</body></html>",
            "text/html",
            "(an HTML page: '<html><body>Sign in</body></html>')",
        ),
        (b'{"status": "ok"}', "application/json", "(JSON without 'choices')"),
    ],
    ids=["text", "html", "json"],
)
def test_a_200_that_is_not_a_chat_completion_says_so(
    tmp_path: Path, body: bytes, content_type: str, shown: str
) -> None:
    with FakeEndpoint(Respond(200, body, content_type)) as endpoint:
        result, _ = nl(tmp_path, endpoint.url)
    assert result.exit_code == 2, result.output
    message = one_line(result.stderr)
    assert f"{endpoint.url} answered, but not with a chat completion {shown}" in message
    assert "OPENAI_BASE_URL must be the root of an OpenAI-compatible API" in message
    assert "larger model" not in message
    assert len(endpoint.requests) == 1  # not retried, not "repaired"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_an_oversized_reply_is_not_read(tmp_path: Path, declared: bool) -> None:
    huge = b'{"choices": "' + b"a" * 20_000_000 + b'"}'
    with FakeEndpoint(Respond(200, huge, length=declared)) as endpoint:
        result, _ = nl(tmp_path, endpoint.url)
    assert result.exit_code == 2, result.output
    assert f"{endpoint.url} sent a reply of more than 4 MB" in one_line(result.stderr)
    assert len(endpoint.requests) == 1
    assert endpoint.headers[0]["accept-encoding"] == "identity"  # so the cap is on what is held


def test_an_html_502_says_the_endpoint_is_failing(tmp_path: Path) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    with FakeEndpoint(Respond(502, page, "text/html")) as endpoint:
        result, seconds = nl(tmp_path, endpoint.url, "--timeout", "3")
    assert result.exit_code == 2, result.output
    message = one_line(result.stderr)
    assert f"{endpoint.url} is failing: it answered 502 with an error page" in message
    assert "larger model" not in message and "<html>" not in message
    assert len(endpoint.requests) >= 2  # a 5xx is worth a retry, within the time limit
    assert seconds < 3 + SLACK


# ------------------------------------------------------------------ no model named


def test_without_a_model_named_the_servers_only_model_is_used(tmp_path: Path) -> None:
    with FakeEndpoint(Model(Reply(turn("bookshop"))), models=["qwen2.5-32b-instruct"]) as endpoint:
        result, _ = nl(tmp_path, endpoint.url, "--verbose", env={"DATAGEN_MODEL": ""})
    assert result.exit_code == 0, result.output
    assert endpoint.listed == 1 and endpoint.requests[0]["model"] == "qwen2.5-32b-instruct"
    assert f"model: qwen2.5-32b-instruct at {endpoint.url}" in one_line(result.stdout)


def test_without_a_model_named_a_server_with_several_lists_them_in_the_error(tmp_path: Path) -> None:
    names = ["llama3.1:8b", "qwen2.5:32b", "mistral-nemo"]
    with FakeEndpoint(Model(Reply(turn("bookshop"))), models=names) as endpoint:
        several, _ = nl(tmp_path, endpoint.url, env={"DATAGEN_MODEL": ""})
        endpoint.models = []
        none, _ = nl(tmp_path, endpoint.url, env={"DATAGEN_MODEL": ""})
    assert several.exit_code == 2 and none.exit_code == 2 and endpoint.requests == []
    assert "but no model is named, and the server has 3: llama3.1:8b, qwen2.5:32b, mistral-nemo" in one_line(
        several.stderr
    )
    assert "set DATAGEN_MODEL (or --model) to one of them" in one_line(several.stderr)
    assert "and the server lists no models" in one_line(none.stderr)
    assert "Traceback" not in several.output + none.output and not (tmp_path / "out").exists()
