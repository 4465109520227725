"""A streamed reply in the exact server-sent-events wire format of OpenAI's chat completions
(`"stream": true` with `stream_options.include_usage`), for the cassette the streaming tests replay:

    .venv/bin/python -m tests.nl.streamed      # re-author cassettes/streamed_proposal.yaml

The model's reply is the bookshop proposal of tests/nl/replies, sent as a forced tool call whose
arguments arrive in small pieces, the way OpenAI sends them: a first chunk with the role and the
call's id and name, then `arguments` deltas, a chunk with `finish_reason`, a last chunk with no
choices and the usage, then `data: [DONE]`."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import vcr

from datagen.nl.client import OpenAIClient
from datagen.nl.conversation import Conversation
from datagen.settings import Settings
from tests.nl.recording import AUTHORED_MARK, CASSETTES, VCR_CONFIG, chat_endpoint
from tests.nl.scenarios import turn
from tests.nl.wire import MODEL

CASSETTE = CASSETTES / "streamed_proposal.yaml"
PROMPT = "A bookshop for 2024: customers and their orders."
PIECE = 24  # characters of arguments per chunk (OpenAI sends a few tokens at a time)
HEADER = (
    f"{AUTHORED_MARK} not recorded from a live model; written by hand in the OpenAI chat-completions\n"
    "# streaming wire format (server-sent events; the reply is tests/nl/replies/bookshop.json, the\n"
    "# request is what datagen really sent). Re-create with: .venv/bin/python -m tests.nl.streamed\n"
)


def reply() -> dict[str, Any]:
    return {"turn": turn("bookshop")}


def _chunk(n: int, delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> str:
    body: dict[str, Any] = {
        "id": f"chatcmpl-authored{n:04d}",
        "object": "chat.completion.chunk",
        "created": 1732540000 + n,
        "model": MODEL,
        "system_fingerprint": "fp_authored",
        "service_tier": "default",
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }
    return "data: " + json.dumps(body, ensure_ascii=False) + "\n\n"


def sse(request: httpx2.Request, n: int = 1) -> httpx2.Response:
    """The whole streamed answer to `request` (a tool call named after the tool it forces)."""
    sent = json.loads(request.content)
    assert sent.get("stream") is True, "the streaming cassette answers streamed requests only"
    tool = sent["tool_choice"]["function"]["name"]
    arguments = json.dumps(reply(), ensure_ascii=False)
    call = {"index": 0, "id": f"call_authored{n:04d}", "type": "function"}
    events = [
        _chunk(
            n,
            {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [{**call, "function": {"name": tool, "arguments": ""}}],
            },
        )
    ]
    for start in range(0, len(arguments), PIECE):
        piece = arguments[start : start + PIECE]
        events.append(_chunk(n, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    events.append(_chunk(n, {}, "stop"))
    prompt, completion = max(1, len(request.content) // 4), max(1, len(arguments) // 4)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    events.append(_chunk(n, None, usage=usage))
    events.append("data: [DONE]\n\n")
    headers = {"content-type": "text/event-stream; charset=utf-8", "x-request-id": f"req_authored{n:04d}"}
    return httpx2.Response(200, headers=headers, content="".join(events).encode("utf-8"))


def main() -> None:
    CASSETTE.unlink(missing_ok=True)
    settings = Settings(api_key="sk-authoring-not-a-real-key", model="gpt-4o-mini", llm_mode="TOOLS")
    client = OpenAIClient(settings, http_client=httpx2.Client(transport=httpx2.MockTransport(sse)))
    recorder = vcr.VCR(record_mode="all", **VCR_CONFIG)
    recorder.register_matcher("chat_endpoint", chat_endpoint)
    with recorder.use_cassette(str(CASSETTE)):
        Conversation(client, on_partial=lambda _: None).send(PROMPT)
    CASSETTE.write_text(HEADER + CASSETTE.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {CASSETTE.relative_to(CASSETTES.parent)}")


if __name__ == "__main__":
    main()
