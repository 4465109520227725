"""Cassette replay for the LLM layer: the real client (openai + instructor, one request per call),
vcrpy in "none" mode with the network blocked, no developer credentials in sight.

`--record-mode=rewrite` records against the endpoint in the environment instead (docs/nl.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from datagen.errors import LLMError
from datagen.nl.client import OpenAIClient
from datagen.settings import Settings
from tests.nl.recording import CASSETTES, VCR_CONFIG, chat_endpoint

ENDPOINT_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "DATAGEN_MODEL",
    "DATAGEN_LLM_MODE",
    "DATAGEN_LLM_TIMEOUT",
    "DATAGEN_TODAY",
)
TEST_KEY = "sk-test-not-a-real-key"


def pytest_recording_configure(config: Any, vcr: Any) -> None:
    vcr.register_matcher("chat_endpoint", chat_endpoint)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "recordable: a conversation a live model can re-record")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """When recording, only `recordable` tests run: rewrite mode deletes a cassette before its test,
    and the authored fault cassettes (429s, refusals, invalid JSON) cannot be re-made by a live model."""
    if recording(config):
        try:
            Settings.load().require_llm()
        except LLMError as exc:  # before rewrite mode deletes any cassette
            raise pytest.UsageError(f"recording needs a live endpoint: {exc}") from None
        skip = pytest.mark.skip(reason="authored cassette; only recordable conversations are re-recorded")
        for item in items:
            if "recordable" not in item.keywords:
                item.add_marker(skip)


def recording(config: pytest.Config) -> bool:
    return config.getoption("--record-mode") not in (None, "none")


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return dict(VCR_CONFIG)


@pytest.fixture(autouse=True)
def no_endpoint_settings(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replays never see the developer's key or server; recordings need them."""
    if not recording(request.config):
        for name in ENDPOINT_ENV:
            monkeypatch.delenv(name, raising=False)


@dataclass
class Wire:
    client: OpenAIClient
    sent: list[dict[str, Any]] = field(default_factory=list)  # JSON bodies, in the order they went out


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Callable[[str], Wire]:
    """`wire(mode)`: the real client in that mode, with every request body it sends captured."""

    def make(mode: str) -> Wire:
        sent: list[dict[str, Any]] = []
        http = httpx2.Client(event_hooks={"request": [lambda r: sent.append(json.loads(r.content))]})
        if recording(request.config):
            settings = Settings.load(llm_mode=mode)
        else:
            settings = Settings(api_key=TEST_KEY, model="gpt-4o-mini", llm_mode=mode)
        return Wire(OpenAIClient(settings, http_client=http), sent)

    return make


def cassette(name: str, *, recordable: bool = False) -> Callable[[Any], Any]:
    """Replay `cassettes/<name>.yaml` with the network blocked; `recordable` tests re-record it when
    pytest runs with `--record-mode=rewrite`."""
    marks = [pytest.mark.vcr, pytest.mark.default_cassette(f"{name}.yaml"), pytest.mark.block_network]
    if recordable:
        marks.append(pytest.mark.recordable)

    def mark(test: Any) -> Any:
        for m in marks:
            test = m(test)
        return test

    return mark
