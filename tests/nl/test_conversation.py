"""The conversation's state machine with a scripted model: budgets, questions, answers, resume,
loading a schema, and what the model is (and is not) sent."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from datagen.dsl import check
from datagen.errors import InputError
from datagen.nl.client import Refusal, TransientError, UnreadableReply, Usage
from datagen.nl.conversation import Conversation, normalise_answer
from datagen.nl.events import Event, State
from datagen.nl.turns import Propose, Question, turn_json
from datagen.resources import examples_dir
from tests.nl.fakes import ScriptedLLM
from tests.nl.scenarios import turn

BOOKSHOP = turn("bookshop")


def ask(*questions: dict) -> dict:
    return {"type": "ask", "questions": list(questions)}


def question(qid: str, kind: str = "yes_no", options: list[str] | None = None, default: str = "yes") -> dict:
    return {"id": qid, "text": f"Which {qid}?", "kind": kind, "options": options or [], "default": default}


def conversation(llm: ScriptedLLM, **kw) -> Conversation:
    return Conversation(llm, sleep=lambda _: None, **kw)


def test_a_valid_first_proposal_is_ready_in_one_request() -> None:
    seen: list[Event] = []
    llm = ScriptedLLM(BOOKSHOP)
    conv = conversation(llm, on_event=seen.append)
    events = conv.send("a bookshop")
    assert conv.state == State.READY and conv.schema is not None
    assert [e.kind for e in events if e.kind != "progress"] == ["proposed", "ready"]
    assert seen == events  # on_event sees every event as it happens, in order
    assert conv.usage == Usage(1, 1000, 200) and conv.last_turn.first_try_valid is True
    assert conv.assumptions == BOOKSHOP["assumptions"]


def test_transient_errors_never_exceed_eight_requests_per_turn() -> None:
    llm = ScriptedLLM(*[TransientError("rate limited (429)", kind="rate_limit")] * 20)
    conv = conversation(llm)
    failed = [e for e in conv.send("a bookshop") if e.kind == "failed"]
    assert len(llm.calls) == 8 and conv.last_turn.requests == 8
    assert "gave up after 8 request(s)" in failed[0].text
    assert conv.state == State.FAILED


def test_repairs_and_retries_share_the_budget() -> None:
    """Five 429s, then broken proposals (each broken another way, so every repair makes progress):
    the budget (8) ends the turn before the third repair."""
    broken = [turn("bookshop", lambda s, p=p: s["nodes"][1].update(parents=[p])) for p in "abcdef"]
    llm = ScriptedLLM(*[TransientError("429", kind="rate_limit")] * 5, *broken)
    conv = conversation(llm)
    failed = [e for e in conv.send("a bookshop") if e.kind == "failed"]
    assert len(llm.calls) == 8
    assert failed[0].data["reason"] == "budget" and "used its 8 requests" in failed[0].text


def test_token_budget_stops_the_turn() -> None:
    broken = turn("bookshop", lambda s: s["nodes"][1].update(parents=["clients"]))
    llm = ScriptedLLM(*[broken] * 4, usage=Usage(1, 90_000, 10_000))
    conv = conversation(llm, max_turn_tokens=150_000)
    failed = [e for e in conv.send("a bookshop") if e.kind == "failed"]
    assert len(llm.calls) == 2 and "200,000 tokens (limit 150,000)" in failed[0].text


def test_unreadable_replies_four_times_fail_without_a_schema() -> None:
    bad = UnreadableReply("- (reply): Invalid JSON", raw='{"turn":', usage=Usage(1, 10, 2))
    llm = ScriptedLLM(bad, bad, bad, bad)
    conv = conversation(llm)
    failed = [e for e in conv.send("a bookshop") if e.kind == "failed"]
    assert len(llm.calls) == 4 and failed[0].data["reason"] == "unreadable"
    assert llm.calls[1][0][-2] == {"role": "assistant", "content": '{"turn":'}
    assert conv.usage.prompt_tokens == 40  # failed replies still cost tokens, and are counted


def test_a_refusal_is_not_retried() -> None:
    llm = ScriptedLLM(Refusal("no", usage=Usage(1, 5, 1)), BOOKSHOP)
    conv = conversation(llm)
    conv.send("a bookshop")
    assert len(llm.calls) == 1 and conv.state == State.FAILED


def test_after_two_questions_only_propose_is_offered() -> None:
    llm = ScriptedLLM(ask(question("scale")), ask(question("period")), BOOKSHOP)
    conv = conversation(llm)
    conv.send("a shop")
    assert conv.state == State.ASKING and [q.id for q in conv.pending_questions] == ["scale"]
    conv.answer({"scale": "no"})
    assert conv.state == State.ASKING and conv.questions_left == 0
    conv.answer({})
    assert conv.state == State.READY
    assert llm.models == ["Turn", "Turn", "ProposalTurn"]
    assert "You may ask up to 1 question(s)" in llm.last_user(1) and "You may ask" not in llm.last_user(2)


def test_questions_beyond_the_limit_become_default_assumptions() -> None:
    llm = ScriptedLLM(ask(question("a")), ask(question("b"), question("c", default="no")), BOOKSHOP)
    conv = conversation(llm)
    conv.send("a shop")
    conv.answer({"a": "yes"})
    assert [q.id for q in conv.pending_questions] == ["b"]  # only one question was left
    events = conv.answer({})
    assert "Which c? → no (default; no more questions allowed)" in conv.assumptions
    assert "Which b? → yes (default)" in conv.assumptions
    assert any(e.kind == "message" and "Which b? → yes" in e.text for e in events)


def test_a_typed_reply_while_asking_answers_the_questions() -> None:
    llm = ScriptedLLM(ask(question("period", "choice", ["2023", "2024"], "2024")), BOOKSHOP)
    conv = conversation(llm)
    conv.send("a shop")
    conv.send("2023 please, only the first half")
    assert "Which period? → 2023 please, only the first half" in llm.last_user()
    assert conv.state == State.READY


def test_answers_are_read_in_the_questions_terms() -> None:
    yn = Question.model_validate(question("x"))
    pick = Question.model_validate(question("y", "choice", ["small", "large"], "small"))
    assert [normalise_answer(yn, a) for a in ("Y", "no", "2", "maybe")] == ["yes", "no", "no", "maybe"]
    assert [normalise_answer(pick, a) for a in ("2", "LARGE", "huge")] == ["large", "large", "huge"]


def test_answer_without_a_question_is_an_input_error() -> None:
    with pytest.raises(InputError):
        conversation(ScriptedLLM()).answer({})
    with pytest.raises(InputError):
        conversation(ScriptedLLM()).send("   ")


def test_user_text_reaches_the_model_verbatim() -> None:
    """No templating of user text: Jinja braces and our own slot markers pass through unchanged."""
    text = "orders where {{ amount }} > 5 and <<PROBLEMS>> is a literal"
    llm = ScriptedLLM(BOOKSHOP)
    conversation(llm).send(text)
    assert llm.calls[0][0][1]["content"].startswith(text)


def test_a_refinement_sends_the_current_schema_not_the_history() -> None:
    edited = turn("bookshop", lambda s: s["nodes"][0].update(rows=3000))
    broken = turn("bookshop", lambda s: s["nodes"][1].update(parents=["clients"]))
    llm = ScriptedLLM(broken, BOOKSHOP, edited)
    conv = conversation(llm)
    conv.send("a bookshop")
    events = conv.send("twice as many customers")
    messages = llm.calls[-1][0]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]  # no failed attempt
    assert '"clients"' not in json.dumps(messages)
    assert "twice as many customers" in messages[-1]["content"]
    ready = next(e for e in events if e.kind == "ready")
    assert ready.data["diff_lines"] == ["customers: rows 1500 → 3000"]


def test_a_failed_refinement_keeps_the_previous_schema() -> None:
    llm = ScriptedLLM(BOOKSHOP, Refusal("no", usage=Usage(1, 1, 1)))
    conv = conversation(llm)
    conv.send("a bookshop")
    before = conv.document
    failed = [e for e in conv.send("make it about real people") if e.kind == "failed"]
    assert conv.state == State.READY and conv.document == before
    assert failed[0].text.endswith("(the previous schema is unchanged)")


def test_save_and_resume_while_asking(tmp_path: Path) -> None:
    conv = conversation(ScriptedLLM(ask(question("period", "choice", ["2023", "2024"], "2024"))))
    conv.send("a shop")
    conv.save(tmp_path / "c.jsonl")
    llm = ScriptedLLM(BOOKSHOP)
    resumed = Conversation.resume(tmp_path / "c.jsonl", llm)
    assert resumed.state == State.ASKING and [q.id for q in resumed.pending_questions] == ["period"]
    resumed.answer({"period": "1"})
    assert resumed.state == State.READY
    assert [m["role"] for m in llm.calls[0][0]] == ["system", "user", "assistant", "user"]
    assert llm.calls[0][0][1]["content"].startswith("a shop")
    assert "Which period? → 2023" in llm.last_user()


def test_save_and_resume_a_ready_schema_then_refine(tmp_path: Path) -> None:
    conv = conversation(ScriptedLLM(BOOKSHOP))
    conv.send("a bookshop")
    conv.save(tmp_path / "c.jsonl")
    llm = ScriptedLLM(turn("bookshop", lambda s: s["nodes"][0].update(rows=10)))
    resumed = Conversation.resume(tmp_path / "c.jsonl", llm)
    assert resumed.state == State.READY and resumed.document == conv.document
    assert resumed.usage.requests == 1 and resumed.assumptions == conv.assumptions
    resumed.send("only ten customers")
    assert resumed.document["nodes"][0]["rows"] == 10
    assert json.loads(llm.calls[0][0][2]["content"])["turn"]["schema"] == conv.document


def test_transcript_holds_no_settings_or_keys(tmp_path: Path) -> None:
    conv = conversation(ScriptedLLM(BOOKSHOP))
    conv.send("a bookshop")
    conv.save(tmp_path / "c.jsonl")
    text = (tmp_path / "c.jsonl").read_text()
    assert "sk-" not in text and "api_key" not in text and "base_url" not in text
    assert json.loads(text.splitlines()[0]) == {
        "kind": "format",
        "format": "datagen-conversation",
        "version": 1,
    }


def test_load_schema_needs_no_model_and_then_refines_it() -> None:
    doc = json.loads((examples_dir() / "legacy_v1.json").read_text())
    llm = ScriptedLLM()
    conv = conversation(llm)
    events = conv.load_schema(doc)
    assert conv.state == State.READY and events[-1].kind == "ready" and llm.calls == []


def test_load_schema_with_problems_asks_the_model_to_fix_them() -> None:
    doc = turn("bookshop", lambda s: s["nodes"][1].update(parents=["clients"]))["schema"]
    llm = ScriptedLLM(BOOKSHOP)
    conv = conversation(llm)
    failed = conv.load_schema(doc)[-1]
    assert failed.kind == "failed" and any(
        "unknown parent table 'clients'" in p for p in failed.data["problems"]
    )
    assert conv.state == State.FAILED and conv.document is None
    conv.send("fix it")
    sent = llm.calls[0][0]
    assert '"clients"' in sent[-2]["content"] and "unknown parent table 'clients'" in sent[-1]["content"]
    assert conv.state == State.READY


# ------------------------------------------------------------------ what the model is told


def test_a_repair_shows_the_reply_as_sent_then_the_fixes_then_the_problems() -> None:
    """A reply with a slip datagen fixes (null_rate without nullable) and an error it cannot (an
    unknown parent): the model sees its own reply unchanged, the fix, and the checker's words."""

    def slip_and_error(s: dict) -> None:
        s["nodes"][1]["columns"][3]["null_rate"] = 0.05
        s["nodes"][1]["parents"] = ["clients"]

    broken = turn("bookshop", slip_and_error)
    llm = ScriptedLLM(broken, BOOKSHOP)
    conversation(llm).send("a bookshop")
    messages = llm.calls[1][0]
    assert messages[-2] == {"role": "assistant", "content": turn_json(Propose.model_validate(broken))}
    assert '"null_rate":0.05' in messages[-2]["content"] and '"nullable"' not in messages[-2]["content"]
    feedback = messages[-1]["content"]
    fix = 'nodes[1].columns[3]: null_rate 0.05 implies nullable; set "nullable": true'
    assert "Datagen fixed these slips in your reply (shown above as you sent it)" in feedback
    assert f"- {fix}" in feedback and "unknown parent table 'clients'" in feedback
    assert feedback.index(fix) < feedback.index("does not pass `datagen check`")


def test_fixes_to_an_accepted_schema_reach_the_model_in_the_next_message_even_after_resume(
    tmp_path: Path,
) -> None:
    slip = turn("bookshop", lambda s: s["nodes"][1]["columns"][3].update(null_rate=0.05))
    conv = conversation(ScriptedLLM(slip))
    ready = next(e for e in conv.send("a bookshop") if e.kind == "ready")
    assert ready.data["fixes"] == [
        'nodes[1].columns[3]: null_rate 0.05 implies nullable; set "nullable": true'
    ]
    conv.save(tmp_path / "c.jsonl")
    llm = ScriptedLLM(BOOKSHOP, BOOKSHOP)
    resumed = Conversation.resume(tmp_path / "c.jsonl", llm)
    resumed.send("ten more customers")
    assert "null_rate 0.05 implies nullable" in llm.last_user(0)
    resumed.send("and ten more")
    assert "implies nullable" not in llm.last_user(1)  # said until a new schema was accepted


def test_the_system_prompt_gives_todays_date() -> None:
    llm = ScriptedLLM(BOOKSHOP)
    conversation(llm, today=date(2025, 3, 14)).send("orders of the last 18 months")
    system = llm.calls[0][0][0]["content"]
    assert 'Today is Friday 2025-03-14: "the last 18 months" ends today.' in system


# ------------------------------------------------------------------ one turn, from request to schema


def test_questions_and_the_proposal_after_them_are_one_turn() -> None:
    llm = ScriptedLLM(ask(question("scale")), BOOKSHOP)
    conv = conversation(llm)
    conv.send("a shop")
    events = conv.answer({})
    requests = [e.text for e in events if e.kind == "progress" and e.data.get("stage") == "request"]
    assert requests == ["asking the model (request 2 of 8)"]  # the count goes on, it does not restart
    assert len(conv.turns) == 1 and conv.turns[0].requests == 2 and conv.turns[0].questions == 1
    assert conv.usage == Usage(2, 2000, 400)


def test_a_turn_shares_its_request_budget_with_its_questions_but_not_its_clock() -> None:
    """Budget 2: the question takes one request, the proposal the other, so its repair cannot be
    sent. The hour the person took to answer does not count against the turn's 60 s."""
    broken = turn("bookshop", lambda s: s["nodes"][1].update(parents=["clients"]))
    clock = FakeClock()
    llm = ScriptedLLM(ask(question("scale")), broken, BOOKSHOP)
    conv = Conversation(llm, sleep=clock.sleep, clock=clock, turn_timeout=60, max_requests=2)
    conv.send("a shop")
    clock.now += 3600
    failed = [e for e in conv.answer({}) if e.kind == "failed"]
    assert len(llm.calls) == 2 and failed[0].data["reason"] == "budget"
    assert "used its 2 requests" in failed[0].text


def test_usage_of_a_turn_continued_after_resume_is_counted_once(tmp_path: Path) -> None:
    conv = conversation(ScriptedLLM(ask(question("scale"))))
    conv.send("a shop")
    conv.save(tmp_path / "c.jsonl")
    resumed = Conversation.resume(tmp_path / "c.jsonl", ScriptedLLM(BOOKSHOP))
    resumed.answer({})
    resumed.save(tmp_path / "c.jsonl")
    again = Conversation.resume(tmp_path / "c.jsonl", ScriptedLLM())
    assert again.usage.requests == 2 and len(again.turns) == 1 and again.turns[0].questions == 1


# ------------------------------------------------------------------ simplification, honestly


def test_a_simplified_schema_says_what_was_dropped_in_the_summary_and_assumptions() -> None:
    def wrong_cohort(s: dict) -> None:
        s["nodes"][0]["vintage_behavior"]["created_at_column"] = "signup_at"

    broken = turn(
        "saas_usage",
        wrong_cohort,
        summary="Two years of app usage with retention fading to 35 %.",
        assumptions=["3,000 users", "retention fades to 35 % by month six"],
    )
    conv = conversation(ScriptedLLM(broken, broken, broken))
    conv.send("app usage with retention")
    assert conv.last_turn.simplified
    assert conv.summary == (
        "Simplified: the data does not have vintage_behavior of table 'users' (it could not be made to "
        "work). Two years of app usage with retention fading to 35 %."
    )
    assert conv.assumptions == [
        "3,000 users",
        "may not hold (dropped from the schema): retention fades to 35 % by month six",
        "simplified: dropped vintage_behavior of table 'users'",
    ]


# ------------------------------------------------------------------ when the full data fails


FAILED_RANGE = "orders.amount: range — 36 of 620 rows outside the declared range (4.0 <= amount <= 60.0)"


def test_failed_checks_of_the_data_get_one_repair_round_inside_the_turns_budget() -> None:
    narrow = turn("bookshop", lambda s: s["constraints"]["ranges"][0].update(max=60))
    llm = ScriptedLLM(narrow, BOOKSHOP)
    conv = conversation(llm)
    conv.send("a bookshop")
    events = conv.fix_data([FAILED_RANGE], rows={"customers": 150, "orders": 620})
    assert conv.state == State.READY and conv.document["constraints"]["ranges"][0]["max"] == 400
    messages, model = llm.calls[1]
    assert model.__name__ == "ProposalTurn"
    assert json.loads(messages[-2]["content"])["turn"]["schema"] == check(narrow["schema"]).document
    feedback = messages[-1]["content"]
    assert f"- {FAILED_RANGE}" in feedback and "(customers: 150 rows, orders: 620 rows)" in feedback
    requests = [e.text for e in events if e.kind == "progress" and e.data.get("stage") == "request"]
    assert requests == ["asking the model (request 2 of 8)"]
    turn_ = conv.turns[-1]
    assert len(conv.turns) == 1 and turn_.data_repairs == 1 and turn_.first_try_valid is True
    ready = next(e for e in events if e.kind == "ready")
    assert ready.data["diff_lines"] == ["~ constraints"]


def test_an_error_that_stopped_generation_gets_the_same_round_with_its_own_words() -> None:
    narrow = turn("bookshop", lambda s: s["constraints"]["ranges"][0].update(max=60))
    llm = ScriptedLLM(narrow, BOOKSHOP)
    conv = conversation(llm)
    conv.send("a bookshop")
    error = "orders.score: 12 of 620 values are null or NaN (fix: guard the formula with where())"
    events = conv.fix_data([error], stopped=True)
    assert conv.state == State.READY and conv.last_turn.data_repairs == 1
    feedback = llm.calls[1][0][-1]["content"]
    assert f"- {error}" in feedback and "generating the full dataset stopped" in feedback
    assert "validation checks" not in feedback
    stage = [e.text for e in events if e.kind == "progress" and e.data.get("stage") == "data_repair"]
    assert stage == ["generating the data stopped with an error; asking the model to fix the schema"]


def test_a_data_repair_beyond_the_budget_or_that_fails_keeps_the_schema() -> None:
    narrow = turn("bookshop", lambda s: s["constraints"]["ranges"][0].update(max=60))
    spent = conversation(ScriptedLLM(narrow), max_requests=1)
    spent.send("a bookshop")
    before = spent.document
    failed = [e for e in spent.fix_data([FAILED_RANGE]) if e.kind == "failed"]
    assert failed[0].data["reason"] == "budget" and spent.document == before
    assert spent.state == State.READY

    broken = turn("bookshop", lambda s: s["nodes"][1].update(parents=["clients"]))
    stuck = conversation(ScriptedLLM(narrow, broken, broken, broken))
    stuck.send("a bookshop")
    before = stuck.document
    failed = [e for e in stuck.fix_data([FAILED_RANGE]) if e.kind == "failed"]
    assert failed[0].text.startswith("the model could not fix the schema for the data's failed checks")
    assert stuck.document == before and stuck.state == State.READY
    assert not stuck.last_turn.simplified  # a data repair never simplifies what already worked


class FakeClock:
    """Time that passes only when told (or when the conversation sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
