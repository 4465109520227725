"""The schema as the model writes it: a streamed reply (cassettes/streamed_proposal.yaml, authored in
the server-sent-events wire format) reaches `Conversation(on_partial=...)` table by table, and the
turn ends exactly as an unstreamed one does."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from datagen.errors import LLMError
from datagen.nl.client import OpenAIClient, Refusal, UnreadableReply
from datagen.nl.conversation import Conversation
from datagen.nl.events import State
from datagen.nl.turns import Turn
from datagen.settings import Settings
from tests.nl.conftest import TEST_KEY, cassette
from tests.nl.recording import is_authored
from tests.nl.scenarios import turn
from tests.nl.streamed import CASSETTE, PROMPT, _chunk


def table_ids(document: dict[str, Any]) -> list[str]:
    return [n["id"] for n in document.get("nodes") or [] if isinstance(n, dict) and "id" in n]


def test_the_streaming_cassette_is_marked_as_authored() -> None:
    assert is_authored(CASSETTE)


@cassette("streamed_proposal")
def test_a_streamed_proposal_arrives_table_by_table_and_ends_ready(wire) -> None:
    w = wire("TOOLS")
    drafts: list[dict[str, Any]] = []
    conv = Conversation(w.client, on_partial=drafts.append)
    events = conv.send(PROMPT)
    assert conv.state == State.READY, [e.text for e in events]
    [sent] = w.sent
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tool_choice"]["function"]["name"] == "Turn"  # the same tool as unstreamed
    seen = [table_ids(d) for d in drafts]
    assert [] in seen and ["customers"] in seen  # before any table, then the first one alone
    assert seen[-1] == ["customers", "orders"]
    assert seen.index(["customers"]) < seen.index(["customers", "orders"])
    assert len(drafts) > 10  # many partial steps, not one at the end
    assert drafts[-1] == turn("bookshop")["schema"]  # the last one is the whole reply
    assert conv.last_turn.requests == 1 and conv.last_turn.completion_tokens > 0  # usage was read


@cassette("streamed_proposal")
def test_without_a_callback_nothing_is_streamed(wire) -> None:
    """The cassette matches on the path only, so the request body tells what was asked for."""
    w = wire("TOOLS")
    with pytest.raises(LLMError, match="not with a chat completion"):  # SSE is not one completion
        w.client.complete([{"role": "user", "content": PROMPT}], Turn, timeout=10)
    assert "stream" not in w.sent[0]


def _sse(*events: str) -> httpx2.MockTransport:
    body = "".join(events).encode("utf-8")
    return httpx2.MockTransport(
        lambda _: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )


def _client(transport: httpx2.MockTransport) -> OpenAIClient:
    settings = Settings(api_key=TEST_KEY, model="gpt-4o-mini", llm_mode="JSON_SCHEMA")
    return OpenAIClient(settings, http_client=httpx2.Client(transport=transport))


def test_a_stream_cut_off_by_the_output_limit_is_unreadable_with_what_was_written() -> None:
    text = json.dumps({"turn": turn("bookshop")})[:200]
    client = _client(_sse(_chunk(1, {"content": text}), _chunk(1, {}, "length"), "data: [DONE]\n\n"))
    drafts: list[dict[str, Any]] = []
    with pytest.raises(UnreadableReply) as caught:
        client.complete([{"role": "user", "content": "x"}], Turn, timeout=10, on_partial=drafts.append)
    assert "cut off" in caught.value.problems and caught.value.raw == text
    assert drafts and drafts[-1]["turn"]["type"] == "propose"


def test_a_streamed_refusal_is_a_refusal() -> None:
    client = _client(
        _sse(_chunk(1, {"refusal": "I can't "}), _chunk(1, {"refusal": "help with that."}, "stop"))
    )
    with pytest.raises(Refusal) as caught:
        client.complete([{"role": "user", "content": "x"}], Turn, timeout=10, on_partial=lambda _: None)
    assert caught.value.reason == "I can't help with that."


def test_a_streamed_reply_that_does_not_fit_the_turn_model_says_why() -> None:
    client = _client(_sse(_chunk(1, {"content": '{"turn": {"type": "maybe"}}'}, "stop")))
    with pytest.raises(UnreadableReply) as caught:
        client.complete([{"role": "user", "content": "x"}], Turn, timeout=10, on_partial=lambda _: None)
    assert "turn" in caught.value.problems


def test_a_server_that_ignores_stream_and_sends_one_completion_is_read_all_the_same() -> None:
    from tests.nl.fake_endpoint import FakeEndpoint, Model
    from tests.nl.wire import Reply

    with FakeEndpoint(Model(Reply(turn("bookshop")))) as endpoint:
        settings = Settings(api_key=TEST_KEY, base_url=endpoint.url, model="m", llm_mode="TOOLS")
        drafts: list[dict[str, Any]] = []
        conv = Conversation(OpenAIClient(settings), on_partial=drafts.append)
        conv.send(PROMPT)
        assert endpoint.requests[0]["stream"] is True
    assert conv.state == State.READY and drafts[-1] == turn("bookshop")["schema"]
    assert conv.last_turn.prompt_tokens > 0  # the completion's usage


def test_a_web_page_instead_of_a_stream_says_so() -> None:
    client = _client(
        httpx2.MockTransport(
            lambda _: httpx2.Response(200, headers={"content-type": "text/html"}, content=b"<html>hi</html>")
        )
    )
    with pytest.raises(LLMError, match=r"not with a chat completion \(an HTML page"):
        client.complete([{"role": "user", "content": "x"}], Turn, timeout=10, on_partial=lambda _: None)
