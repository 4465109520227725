"""The conversation against recorded endpoint exchanges (cassettes/, replayed with the network blocked).

Each test asserts behaviour: what was sent (the repair request carries the checker's words), how many
requests, what the person saw, and that the final schema checks, generates and validates. Exact counts
are asserted for authored cassettes; a cassette re-recorded against a live model keeps only the
assertions that hold for any model (ready, within budget, valid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from datagen.dsl import check
from datagen.nl.client import OpenAIClient
from datagen.nl.conversation import MAX_REQUESTS, Conversation
from datagen.nl.dataset_build import generate_and_validate
from datagen.nl.events import Event, State
from datagen.settings import Settings
from tests.nl.conftest import cassette
from tests.nl.recording import CASSETTES, is_authored
from tests.nl.scenarios import SCENARIOS, drive, turn
from tests.nl.wire import Error, Reply, ScriptedEndpoint

pytestmark = pytest.mark.block_network
DOMAINS = [
    pytest.param(
        name,
        marks=[pytest.mark.vcr, pytest.mark.default_cassette(f"{name}.yaml"), pytest.mark.recordable],
        id=name,
    )
    for name in SCENARIOS
    if name.startswith("domain_")
]


def run(name: str, wire: Any) -> tuple[Conversation, list[list[Event]], list[dict], list[float]]:
    scenario = SCENARIOS[name]
    w = wire(scenario.mode)
    sleeps: list[float] = []
    conv = Conversation(w.client, sleep=sleeps.append)
    return conv, drive(conv, scenario), w.sent, sleeps


def authored(name: str) -> bool:
    return is_authored(CASSETTES / f"{name}.yaml")


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if e.kind != "progress"]


def last_user(body: dict) -> str:
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")


def assert_generates_and_validates(conv: Conversation, tmp_path: Path) -> None:
    checked = check(conv.document)
    assert checked.ok, [str(i) for i in checked.errors]
    outcome = generate_and_validate(checked, tmp_path / "data", seed=3, scale=0.05)
    assert set(outcome.rows) == {n.id for n in checked.schema.nodes}
    assert all(rows > 0 for rows in outcome.rows.values()), outcome.rows
    assert outcome.quality.passed, outcome.quality.failed_checks


def offered_tool(body: dict) -> str:
    """The structured-output model a request offered, whatever the mode."""
    if "tools" in body:
        assert body["tool_choice"] == {
            "type": "function",
            "function": {"name": body["tools"][0]["function"]["name"]},
        }
        return body["tools"][0]["function"]["name"]
    return body["response_format"]["json_schema"]["name"]


@pytest.mark.parametrize("name", DOMAINS)
def test_domain_prompt_goes_straight_to_a_valid_schema(name: str, wire: Any, tmp_path: Path) -> None:
    conv, steps, sent, _ = run(name, wire)
    assert conv.state == State.READY
    assert kinds(steps[-1])[-1] == "ready"
    assert 1 <= len(sent) <= MAX_REQUESTS
    first = sent[0]
    assert (
        first["messages"][0]["role"] == "system"
        and "Generator: an object with exactly one" in first["messages"][0]["content"]
    )
    assert SCENARIOS[name].prompt in last_user(first)
    assert offered_tool(first) == "Turn"
    if authored(name):
        assert len(sent) == 1 and conv.last_turn.first_try_valid is True and conv.last_turn.repairs == 0
    assert_generates_and_validates(conv, tmp_path)


@cassette("domain_retail_coffee_chain")
def test_tools_mode_sends_a_forced_function_call(wire: Any) -> None:
    _, _, sent, _ = run("domain_retail_coffee_chain", wire)
    body = sent[0]
    assert body["model"] == "gpt-4o-mini" or not authored("domain_retail_coffee_chain")
    tool = body["tools"][0]
    assert tool["type"] == "function" and tool["function"]["name"] == "Turn"
    assert set(tool["function"]["parameters"]["$defs"]) >= {"Ask", "Propose", "Question"}
    assert "response_format" not in body


@cassette("domain_iot_sensors")
def test_json_schema_mode_sends_a_response_format(wire: Any) -> None:
    _, _, sent, _ = run("domain_iot_sensors", wire)
    body = sent[0]
    assert "tools" not in body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Turn"
    assert fmt["json_schema"]["schema"]["properties"]["turn"]["discriminator"]["propertyName"] == "type"


@cassette("ask_one_question", recordable=True)
def test_one_clarifying_question_is_shown_answered_and_used(wire: Any, tmp_path: Path) -> None:
    conv, steps, sent, _ = run("ask_one_question", wire)
    asked = [e for e in steps[0] if e.kind == "asked"]
    assert conv.state == State.READY and conv.questions_asked >= 1
    if authored("ask_one_question"):
        assert asked[0].text == "What period should the data cover?"
        assert asked[0].data["questions"][0]["options"] == [
            "the last 12 months",
            "the last 2 years",
            "the last 5 years",
        ]
        assert len(sent) == 2
        assert "up to 2 question(s)" in last_user(sent[0])
        assert "What period should the data cover? → the last 2 years" in last_user(sent[1])
        assert offered_tool(sent[1]) == "Turn" and "up to 1 question(s)" in last_user(sent[1])
    assert_generates_and_validates(conv, tmp_path)


@cassette("ask_two_questions", recordable=True)
def test_two_questions_then_only_propose_is_offered(wire: Any, tmp_path: Path) -> None:
    conv, steps, sent, _ = run("ask_two_questions", wire)
    assert conv.state == State.READY
    if authored("ask_two_questions"):
        asked = next(e for e in steps[0] if e.kind == "asked")
        assert [q["id"] for q in asked.data["questions"]] == ["period", "funnel"]
        assert conv.questions_asked == 2 and len(sent) == 2
        assert offered_tool(sent[1]) == "ProposalTurn"
        assert "Ask" not in str(sent[1]["response_format"]["json_schema"]["schema"].get("$defs", {}))
        answers = last_user(sent[1])  # typed "1" and "y" are read as the option and "yes"
        assert "→ one quarter" in answers and "(a conversion funnel)? → yes" in answers
    assert_generates_and_validates(conv, tmp_path)


@cassette("invalid_json_then_repaired")
def test_invalid_json_is_re_asked_with_the_parse_error(wire: Any, tmp_path: Path) -> None:
    conv, steps, sent, _ = run("invalid_json_then_repaired", wire)
    assert len(sent) == 2 and conv.state == State.READY
    repair = sent[1]["messages"]
    assert (
        repair[-2]["role"] == "assistant"
        and repair[-2]["content"] == SCENARIOS["invalid_json_then_repaired"].steps[0].text
    )
    assert "could not be read" in repair[-1]["content"] and "Invalid JSON" in repair[-1]["content"]
    assert conv.last_turn.repairs == 1 and conv.last_turn.first_try_valid is False
    assert "repaired" in kinds(steps[0])
    assert_generates_and_validates(conv, tmp_path)


@cassette("check_error_then_repaired")
def test_check_error_is_sent_back_in_the_checkers_words(wire: Any, tmp_path: Path) -> None:
    conv, steps, sent, _ = run("check_error_then_repaired", wire)
    bad = check(SCENARIOS["check_error_then_repaired"].steps[0].turn["schema"])
    missing_table = [str(i) for i in bad.errors if i.code == "unknown_table"]
    assert missing_table == [
        "constraints.foreign_keys[0].to: unknown table 'classes' (tables: courses, enrollments, students)"
    ]
    assert len(sent) == 2
    feedback = last_user(sent[1])
    assert "does not pass `datagen check`" in feedback
    for error in bad.errors:
        assert f"- {error}" in feedback
    assert '"classes.course_id"' in sent[1]["messages"][-2]["content"]  # the model sees its own schema
    assert offered_tool(sent[1]) == "ProposalTurn"
    repaired = next(e for e in steps[0] if e.kind == "repaired")
    assert repaired.data["source"] == "model" and repaired.data["rounds"] == 1
    assert_generates_and_validates(conv, tmp_path)


@cassette("preflight_error_then_repaired")
def test_preflight_failure_is_sent_back_and_repaired(wire: Any, tmp_path: Path) -> None:
    conv, _, sent, _ = run("preflight_error_then_repaired", wire)
    assert len(sent) == 2 and conv.state == State.READY
    feedback = last_user(sent[1])
    assert "generating a small sample from it failed" in feedback
    assert "- card_transactions.amount_per_fee: " in feedback
    assert "values are infinite (an overflow, or a division by zero)" in feedback
    assert "amount_per_fee" not in str(conv.document)
    assert_generates_and_validates(conv, tmp_path)


@cassette("repeated_problems_then_simplified")
def test_repeated_problems_change_the_approach_then_the_simplifier_drops_the_block(
    wire: Any, tmp_path: Path
) -> None:
    conv, steps, sent, _ = run("repeated_problems_then_simplified", wire)
    assert len(sent) == 3  # the proposal, a repair, a repair another way; then no more requests
    error = "nodes[0].vintage_behavior.created_at_column: unknown column 'signup_at' in table 'users'"
    first_repair, second_repair = last_user(sent[1]), last_user(sent[2])
    assert error in first_repair and "does not pass `datagen check`" in first_repair
    # no progress: the same request is not sent again; the schema with the failing part cut is
    assert second_repair != first_repair
    assert "came back with the same problems" in second_repair and error in second_repair
    assert "Without the failing part (vintage_behavior of table 'users')" in second_repair
    cut = json.loads(second_repair.split("the schema checks and generates:\n\n", 1)[1].split("\n\n")[0])
    assert "vintage_behavior" not in cut["nodes"][0] and cut["nodes"][1]["id"] == "sessions"
    stuck = [e for e in steps[0] if e.kind == "progress" and e.data.get("stuck")]
    assert len(stuck) == 1 and "trying another way" in stuck[0].text
    simplified = next(e for e in steps[0] if e.kind == "simplified")
    assert simplified.data["dropped"] == ["vintage_behavior of table 'users'"]
    assert conv.state == State.READY and conv.last_turn.simplified and conv.last_turn.repairs == 2
    assert "vintage_behavior" not in conv.document["nodes"][0]
    assert conv.summary.startswith("Simplified: the data does not have vintage_behavior of table 'users'")
    assert any(a.startswith("simplified: dropped vintage_behavior") for a in conv.assumptions)
    assert_generates_and_validates(conv, tmp_path)


@cassette("entity_with_parents_kept")
def test_an_entity_with_parents_keeps_its_rows_and_segment_and_the_model_is_told(
    wire: Any, tmp_path: Path
) -> None:
    conv, steps, sent, _ = run("entity_with_parents_kept", wire)
    assert len(sent) == 2 and conv.state == State.READY
    first = conv.turns[0]
    assert first.first_try_valid is True and first.repairs == 0 and first.fixes == 1
    repaired = next(e for e in steps[0] if e.kind == "repaired")
    [fix] = repaired.data["fixes"]
    assert fix.startswith("nodes[1].parents: kept 'pets' an entity")
    assert "that is how an entity holds a foreign key" in fix
    # the very next message to the model says what was changed in its reply
    edit = last_user(sent[1])
    assert "Datagen fixed these slips in your last proposal" in edit and fix in edit
    assert edit.index(fix) < edit.index("Make it 4,000 pets.")
    pets = conv.document["nodes"][1]
    assert pets["kind"] == "entity" and "parents" not in pets and pets["rows"] == 4000
    assert pets["segment_behavior"]["behaviors"]["dog"]["fanout_multiplier"] == 2.0
    assert_generates_and_validates(conv, tmp_path)


@cassette("rate_limited_then_ok")
def test_429_is_retried_after_the_pause_inside_the_budget(wire: Any) -> None:
    conv, steps, sent, sleeps = run("rate_limited_then_ok", wire)
    assert len(sent) == 2 and conv.state == State.READY
    assert sleeps == [1.0]  # retry-after: 1, and the first backoff step is 1 s
    retry = [e for e in steps[0] if e.kind == "progress" and e.data.get("stage") == "retry"]
    assert len(retry) == 1 and "429" in retry[0].text
    assert conv.usage.requests == 2


@cassette("endpoint_errors_exhaust_budget")
def test_endpoint_errors_stop_at_eight_requests_with_a_clear_message(wire: Any) -> None:
    conv, steps, sent, sleeps = run("endpoint_errors_exhaust_budget", wire)
    assert len(sent) == MAX_REQUESTS == 8
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # exponential, capped, retry-after respected
    failed = next(e for e in steps[0] if e.kind == "failed")
    assert "gave up after 8 request(s) and" in failed.text and "(limits: 8 requests, 180 s)" in failed.text
    assert failed.data["reason"] == "rate_limit" and failed.data["hint"]
    assert conv.state == State.FAILED and conv.document is None


@cassette("refusal")
def test_refusal_fails_clearly_without_retrying(wire: Any) -> None:
    conv, steps, sent, sleeps = run("refusal", wire)
    assert len(sent) == 1 and sleeps == []
    failed = next(e for e in steps[0] if e.kind == "failed")
    assert failed.data["reason"] == "refused"
    assert failed.text.startswith("the model declined to answer: I'm sorry, but I can't help")
    assert conv.state == State.FAILED


@cassette("refinement", recordable=True)
def test_refinement_edits_the_current_schema_and_reports_the_diff(wire: Any, tmp_path: Path) -> None:
    conv, steps, sent, _ = run("refinement", wire)
    assert len(steps) == 2 and conv.state == State.READY
    edit = sent[-1]["messages"]
    assert (
        edit[-1]["role"] == "user"
        and "VIP customers should order three times as often" in edit[-1]["content"]
    )
    assert edit[-2]["role"] == "assistant" and '"bookshop"' in edit[-2]["content"]  # the current schema
    assert offered_tool(sent[-1]) == "ProposalTurn"
    ready = next(e for e in steps[1] if e.kind == "ready")
    if authored("refinement"):
        diff = ready.data["diff"]
        assert diff["added_tables"] == ["refunds"] and diff["removed_tables"] == []
        assert diff["timeframe"] == ["2024-01-01 – 2025-01-01", "2023-01-01 – 2025-01-01"]
        assert diff["changed"]["customers"]["behaviours"] == ["+segment_behavior"]
        assert "+ table refunds" in ready.data["diff_lines"]
    assert_generates_and_validates(conv, tmp_path)


def test_timeouts_are_retried_then_fail_clearly() -> None:
    """A timeout has no HTTP exchange to record: the transport itself times out, eight times."""
    endpoint = ScriptedEndpoint([httpx2.ReadTimeout("timed out")] * 8)
    settings = Settings(api_key="sk-test-not-a-real-key", model="gpt-4o-mini")
    client = OpenAIClient(settings, http_client=httpx2.Client(transport=httpx2.MockTransport(endpoint)))
    clock = FakeClock()
    conv = Conversation(client, sleep=clock.sleep, clock=clock, turn_timeout=settings.llm_timeout)
    failed = [e for e in conv.send("Customers and orders of a bookshop.") if e.kind == "failed"]
    assert len(endpoint.requests) == 8 and clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert failed[0].data["reason"] == "timeout"
    assert failed[0].text.startswith("the model at https://api.openai.com/v1 did not finish answering within")
    assert "gave up after 8 request(s) and 91 s of this turn (limits: 8 requests, 180 s)" in failed[0].text


def test_retries_stop_when_the_next_pause_would_pass_the_turns_time_limit() -> None:
    """60 s for the turn: after pauses of 1+2+4+8+16 s the next one (30 s) would end past the limit, so
    the turn ends there, after 6 requests, instead of sleeping into the deadline."""
    endpoint = ScriptedEndpoint([httpx2.ReadTimeout("timed out")] * 8)
    settings = Settings(api_key="sk-test-not-a-real-key", model="gpt-4o-mini")
    client = OpenAIClient(settings, http_client=httpx2.Client(transport=httpx2.MockTransport(endpoint)))
    clock = FakeClock()
    conv = Conversation(client, sleep=clock.sleep, clock=clock, turn_timeout=60)
    failed = [e for e in conv.send("Customers and orders of a bookshop.") if e.kind == "failed"]
    assert len(endpoint.requests) == 6 and clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert "gave up after 6 request(s) and 31 s of this turn (limits: 8 requests, 60 s)" in failed[0].text


class FakeClock:
    """Time that passes only when the conversation sleeps (so backoff is tested without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rejected_credentials_fail_at_once_and_never_repeat_the_key() -> None:
    """A 401 is not retried; the message says what to check, and the key never reaches an event even
    when the endpoint quotes it back (OpenAI's own 401 text does)."""
    key = "sk-test-not-a-real-key"
    quoted = f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com."
    endpoint = ScriptedEndpoint([Error(401, quoted, "invalid_request_error", "invalid_api_key")])
    settings = Settings(api_key=key, model="gpt-4o-mini")
    client = OpenAIClient(settings, http_client=httpx2.Client(transport=httpx2.MockTransport(endpoint)))
    sleeps: list[float] = []
    conv = Conversation(client, sleep=sleeps.append)
    events = conv.send("Customers and orders of a bookshop.")
    failed = next(e for e in events if e.kind == "failed")
    assert len(endpoint.requests) == 1 and sleeps == []
    assert "refused the credentials (401)" in failed.text and "OPENAI_API_KEY" in failed.data["hint"]
    assert conv.state == State.FAILED
    assert key not in json.dumps([(e.text, e.data) for e in events], default=str)


def test_scenario_replies_are_what_the_cassettes_hold() -> None:
    """Authored cassettes are generated from the scenarios; a stale cassette would test old replies."""
    for scenario in SCENARIOS.values():
        text = (CASSETTES / scenario.cassette).read_text(encoding="utf-8")
        if is_authored(CASSETTES / scenario.cassette):
            assert text.count("- request:") == len(scenario.steps), scenario.name
    assert turn("school")["schema"]["metadata"]["name"] == "course_platform"


@pytest.mark.parametrize("mode", ["JSON", "MD_JSON"])
def test_json_modes_for_servers_without_tools_or_schemas(mode: str) -> None:
    """No cassette needed to show the request shape: the scripted endpoint answers in content."""
    endpoint = ScriptedEndpoint([Reply(turn("bookshop"))])
    settings = Settings(
        api_key="sk-test-not-a-real-key", base_url="http://localhost:8080/v1", model="local", llm_mode=mode
    )
    client = OpenAIClient(settings, http_client=httpx2.Client(transport=httpx2.MockTransport(endpoint)))
    conv = Conversation(client, sleep=lambda _: None)
    conv.send("Customers and orders of an online bookshop for 2024.")
    assert conv.state == State.READY
    body = endpoint.requests[0]
    assert "tools" not in body and "json_schema" not in json.dumps(body.get("response_format", {}))
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert "#/$defs/Propose" in prompt  # the turn's JSON Schema travels in the prompt
