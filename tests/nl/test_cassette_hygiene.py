"""The cassettes themselves: no secrets, authored ones say so, every response is in OpenAI's wire
format (parsed with the openai package's own types), and each cassette belongs to a test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2
import pytest
import vcr
import yaml
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from datagen.nl.client import OpenAIClient
from datagen.nl.conversation import Conversation
from datagen.settings import Settings
from tests.nl.recording import CASSETTES, VCR_CONFIG, chat_endpoint, is_authored
from tests.nl.scenarios import SCENARIOS, turn
from tests.nl.streamed import CASSETTE as STREAMED
from tests.nl.wire import Error, Reply, ScriptedEndpoint

FILES = sorted(CASSETTES.glob("*.yaml"))
SECRET = re.compile(r"authorization|bearer |\bsk-[a-z0-9]|openai-organization|set-cookie|api-key", re.I)


def interactions(path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


def test_every_cassette_belongs_to_a_scenario_or_the_eval() -> None:
    expected = {s.cassette for s in SCENARIOS.values()} | {"eval_small.yaml", STREAMED.name}
    assert {p.name for p in FILES} == expected


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_secrets_reach_a_cassette(path) -> None:
    assert not SECRET.search(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if not s.live])
def test_fault_cassettes_are_marked_as_authored(name: str) -> None:
    assert is_authored(CASSETTES / f"{name}.yaml")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_responses_are_in_the_openai_wire_format(path) -> None:
    for item in interactions(path):
        assert item["request"]["method"] == "POST" and item["request"]["uri"].endswith("/chat/completions")
        response = item["response"]
        if response["headers"].get("content-type", [""])[0].startswith("text/event-stream"):
            _assert_chunks(response["body"]["string"])
            continue
        body = json.loads(response["body"]["string"])
        if response["status"]["code"] == 200:
            completion = ChatCompletion.model_validate(body)
            assert completion.usage is not None and completion.usage.total_tokens > 0
        else:
            assert set(body["error"]) == {"message", "type", "param", "code"}
            assert response["status"]["code"] in (429, 500, 502, 503)


def _assert_chunks(sse: str) -> None:
    """Server-sent events: `data: <chunk>` blocks ending with `data: [DONE]`, the last chunk the usage."""
    blocks = [b for b in sse.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks) and blocks[-1] == "data: [DONE]"
    chunks = [ChatCompletionChunk.model_validate_json(b.removeprefix("data: ")) for b in blocks[:-1]]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_recording_drops_the_key_the_organisation_and_cookies(tmp_path: Path, monkeypatch) -> None:
    """The filters themselves, not just today's files: a recording through the real client, whose
    requests carry the key (and an organisation) and whose responses set cookies, keeps none of them."""
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secretorganisation")
    key = "sk-live-looking-key-0123456789"
    endpoint = ScriptedEndpoint([Reply(turn("bookshop"))])
    sent: list[dict[str, str]] = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        sent.append(dict(request.headers))
        response = endpoint(request)
        response.headers["set-cookie"] = "__cf_bm=secretcookie; path=/"
        response.headers["openai-organization"] = "org-secretorganisation"
        return response

    http = httpx2.Client(transport=httpx2.MockTransport(respond))
    client = OpenAIClient(Settings(api_key=key, model="gpt-4o-mini"), http_client=http)
    recorder = vcr.VCR(record_mode="all", **VCR_CONFIG)
    recorder.register_matcher("chat_endpoint", chat_endpoint)
    with recorder.use_cassette(str(tmp_path / "c.yaml")):
        Conversation(client, sleep=lambda _: None).send("Customers and orders of an online bookshop.")
    assert sent[0]["authorization"] == f"Bearer {key}"  # there was something to filter
    assert sent[0]["openai-organization"] == "org-secretorganisation"
    text = (tmp_path / "c.yaml").read_text(encoding="utf-8")
    assert len(interactions(tmp_path / "c.yaml")) == 1
    assert key not in text and "secret" not in text and not SECRET.search(text)


@pytest.mark.parametrize("key", ["proj-live-9d8c7b6a5f4e-secret", "sk-proj-SGVyZUlzQUtleVRoYXRNdXN0R28"])
def test_recording_redacts_a_key_quoted_in_a_prompt_or_a_server_message(tmp_path: Path, key: str) -> None:
    """The person pasted the key into the request and the server quoted it back in a 400: the bodies
    go through the redactor, so neither copy is recorded."""
    endpoint = ScriptedEndpoint([Error(400, f"Invalid request for key {key}", "invalid_request_error")])
    http = httpx2.Client(transport=httpx2.MockTransport(endpoint))
    client = OpenAIClient(Settings(api_key=key, model="gpt-4o-mini"), http_client=http)
    recorder = vcr.VCR(record_mode="all", **VCR_CONFIG)
    recorder.register_matcher("chat_endpoint", chat_endpoint)
    with recorder.use_cassette(str(tmp_path / "c.yaml")):
        Conversation(client, sleep=lambda _: None).send(f"A bookshop; my key is {key}")
    assert key in json.dumps(endpoint.requests)  # it really was sent
    text = (tmp_path / "c.yaml").read_text(encoding="utf-8")
    assert len(interactions(tmp_path / "c.yaml")) == 1 and "<redacted>" in text
    assert key not in text and not SECRET.search(text)
