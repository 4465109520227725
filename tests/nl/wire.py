"""The model's side of authored cassettes, in the OpenAI chat-completions wire format.

A reply is rendered when the request arrives, so it answers in the form that request asked for: a
forced tool call named after the requested tool (TOOLS mode), or message content (JSON_SCHEMA/JSON).
Token counts are a deterministic estimate (~4 characters per token) so usage reporting has numbers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx2

MODEL = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True)
class Reply:
    """A model turn (`{"type": "propose", ...}` or `{"type": "ask", ...}`)."""

    turn: dict[str, Any]


@dataclass(frozen=True)
class Raw:
    """Tool-call arguments (or content) exactly as given: for invalid or truncated JSON."""

    text: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Refusal:
    text: str


@dataclass(frozen=True)
class Error:
    """An HTTP error exactly as OpenAI sends it: status, `{"error": {...}}` body, headers."""

    status: int
    message: str
    type: str
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Step = Reply | Raw | Refusal | Error


def rate_limited(retry_after: int = 1) -> Error:
    return Error(
        429,
        "Rate limit reached for gpt-4o-mini in organization org-000000000000000000000000 on requests per min "
        "(RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        "requests",
        "rate_limit_exceeded",
        {
            "retry-after": str(retry_after),
            "x-ratelimit-limit-requests": "3",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "20s",
        },
    )


def server_error(status: int = 500) -> Error:
    if status == 503:
        return Error(503, "The engine is currently overloaded, please try again later.", "server_error")
    return Error(
        status,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
    )


def _headers(n: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-request-id": f"req_authored{n:04d}",
        "openai-processing-ms": str(800 + 37 * n),
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        **(extra or {}),
    }


def _usage(request_body: bytes, reply_text: str) -> dict[str, Any]:
    prompt, completion = max(1, len(request_body) // 4), max(1, len(reply_text) // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _completion(n: int, message: dict[str, Any], finish_reason: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-authored{n:04d}",
        "object": "chat.completion",
        "created": 1732540000 + n,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_authored",
    }


def render(step: Step, request: httpx2.Request, n: int) -> httpx2.Response:
    """The HTTP response for `step`, shaped by what `request` asked for."""
    if isinstance(step, Error):
        body = {"error": {"message": step.message, "type": step.type, "param": None, "code": step.code}}
        return httpx2.Response(step.status, headers=_headers(n, step.headers), json=body)
    sent = json.loads(request.content)
    tool = (sent.get("tool_choice") or {}).get("function", {}).get("name") if "tools" in sent else None
    if isinstance(step, Refusal):
        message = {"role": "assistant", "content": None, "refusal": step.text, "annotations": []}
        return httpx2.Response(
            200, headers=_headers(n), json=_completion(n, message, "stop", _usage(request.content, step.text))
        )
    text = step.text if isinstance(step, Raw) else json.dumps({"turn": step.turn}, ensure_ascii=False)
    finish = step.finish_reason if isinstance(step, Raw) else "stop"
    if tool is not None:
        call = {
            "id": f"call_authored{n:04d}",
            "type": "function",
            "function": {"name": tool, "arguments": text},
        }
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call],
            "refusal": None,
            "annotations": [],
        }
    else:
        message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    return httpx2.Response(
        200, headers=_headers(n), json=_completion(n, message, finish, _usage(request.content, text))
    )


class ScriptedEndpoint:
    """An httpx2 transport handler that answers each request with the next step, and remembers what it
    was sent. Used to author cassettes (and by tests that need no cassette, e.g. timeouts)."""

    def __init__(self, steps: list[Step | BaseException]) -> None:
        self.steps = list(steps)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        if not self.steps:
            raise AssertionError(f"the script has no reply for request {len(self.requests)}")
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return render(step, request, len(self.requests))
