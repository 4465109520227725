"""How cassettes are recorded and matched, shared by the tests (replay) and the authoring script.

Requests match on method and the chat-completions path only (not host or body), so a cassette recorded
against OpenAI, vLLM or Ollama replays the same, and a changed prompt does not invalidate it; the
tests assert on what was actually sent instead. Secrets never reach a cassette: auth and organisation
headers are dropped from requests, cookies and organisation headers from responses, and both bodies go
through the tool's own redactor (a prompt or a server error may quote the key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datagen.redact import redact

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
AUTHORED_MARK = "# authored:"
AUTHORED_HEADER = (
    "# authored: not recorded from a live model; written by hand in the OpenAI chat-completions wire\n"
    "# format (the model's replies are in tests/nl/scenarios.py and tests/nl/replies/; the requests are\n"
    "# what datagen really sent). Re-create with: .venv/bin/python -m tests.nl.author_cassettes\n"
)
SECRET_REQUEST_HEADERS = [
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
]
SECRET_RESPONSE_HEADERS = {"set-cookie", "openai-organization", "openai-project"}


def chat_endpoint(r1: Any, r2: Any) -> None:
    """vcr matcher: both are POSTs to …/chat/completions (raises AssertionError otherwise)."""
    assert r1.method == r2.method == "POST"
    assert r1.path.endswith("/chat/completions") and r2.path.endswith("/chat/completions")


def _redact_body(body: Any) -> Any:
    if isinstance(body, bytes):
        return redact(body.decode("utf-8", errors="replace")).encode("utf-8")
    return redact(body) if isinstance(body, str) else body


def _scrub_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower().startswith("x-stainless"):  # client OS/arch/runtime: noise, not behaviour
            del request.headers[name]
    request.body = _redact_body(request.body)
    request.uri = redact(request.uri)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        k: v for k, v in response.get("headers", {}).items() if k.lower() not in SECRET_RESPONSE_HEADERS
    }
    body = response.get("body")
    if isinstance(body, dict) and "string" in body:
        body["string"] = _redact_body(body["string"])
    return response


VCR_CONFIG: dict[str, Any] = {
    "match_on": ["method", "chat_endpoint"],
    "filter_headers": SECRET_REQUEST_HEADERS,
    "before_record_request": _scrub_request,
    "before_record_response": _scrub_response,
    "decode_compressed_response": True,
}


def is_authored(cassette: Path) -> bool:
    return cassette.exists() and cassette.read_text(encoding="utf-8").startswith(AUTHORED_MARK)
