"""Write the authored cassettes: each scenario runs through the real client (openai + instructor)
against a scripted endpoint (tests/nl/wire.py) while vcr records the exchange, so every request in a
cassette is exactly what datagen sends and every response is in OpenAI's wire format.

    .venv/bin/python -m tests.nl.author_cassettes            # all
    .venv/bin/python -m tests.nl.author_cassettes refusal    # some, by name

Recording against a live model instead is `pytest --record-mode=rewrite` (see docs/nl.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date

import httpx2
import vcr

from datagen.nl.client import OpenAIClient
from datagen.nl.conversation import Conversation
from datagen.nl.model_eval import load_eval_set, run_eval
from datagen.settings import Settings
from tests.nl.recording import AUTHORED_HEADER, CASSETTES, VCR_CONFIG, chat_endpoint
from tests.nl.scenarios import EVAL_STEPS, SCENARIOS, drive
from tests.nl.wire import ScriptedEndpoint, Step

EVAL_SET = CASSETTES.parent / "tests" / "nl" / "eval_small.yaml"
TODAY = date(2025, 3, 1)  # the date the authored conversations are told, so re-authoring is byte-stable


def settings(mode: str) -> Settings:
    return Settings(api_key="sk-authoring-not-a-real-key", base_url=None, model="gpt-4o-mini", llm_mode=mode)


def record(name: str, mode: str, steps: list[Step], run: Callable[[OpenAIClient], None]) -> None:
    path = CASSETTES / name
    path.unlink(missing_ok=True)
    endpoint = ScriptedEndpoint(steps)
    client = OpenAIClient(settings(mode), http_client=httpx2.Client(transport=httpx2.MockTransport(endpoint)))
    recorder = vcr.VCR(record_mode="all", **VCR_CONFIG)
    recorder.register_matcher("chat_endpoint", chat_endpoint)
    with recorder.use_cassette(str(path)):
        run(client)
    if endpoint.steps:
        raise SystemExit(f"{name}: {len(endpoint.steps)} scripted step(s) were never requested")
    path.write_text(AUTHORED_HEADER + path.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {path.relative_to(CASSETTES.parent)} ({len(endpoint.requests)} request(s))")


def main(names: list[str]) -> None:
    CASSETTES.mkdir(exist_ok=True)
    for scenario in SCENARIOS.values():
        if not names or scenario.name in names:
            record(
                scenario.cassette,
                scenario.mode,
                scenario.steps,
                lambda client, s=scenario: (
                    drive(Conversation(client, sleep=lambda _: None, today=TODAY), s) and None
                ),
            )
    if not names or "eval_small" in names:
        record(
            "eval_small.yaml",
            "TOOLS",
            EVAL_STEPS,
            lambda client: (
                run_eval(load_eval_set(EVAL_SET), lambda: client, data_root=None, today=TODAY) and None
            ),
        )


if __name__ == "__main__":
    main(sys.argv[1:])
