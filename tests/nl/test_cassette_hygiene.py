"""The cassettes themselves: no secrets, authored ones say so, every response is in OpenAI's wire
format (parsed with the openai package's own types), and each cassette belongs to a test."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from openai.types.chat import ChatCompletion

from tests.nl.recording import CASSETTES, is_authored
from tests.nl.scenarios import SCENARIOS

FILES = sorted(CASSETTES.glob("*.yaml"))
SECRET = re.compile(r"authorization|bearer |\bsk-[a-z0-9]|openai-organization|set-cookie|api-key", re.I)


def interactions(path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]


def test_every_cassette_belongs_to_a_scenario_or_the_eval() -> None:
    expected = {s.cassette for s in SCENARIOS.values()} | {"eval_small.yaml"}
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
        body = json.loads(response["body"]["string"])
        if response["status"]["code"] == 200:
            completion = ChatCompletion.model_validate(body)
            assert completion.usage is not None and completion.usage.total_tokens > 0
        else:
            assert set(body["error"]) == {"message", "type", "param", "code"}
            assert response["status"]["code"] in (429, 500, 502, 503)
