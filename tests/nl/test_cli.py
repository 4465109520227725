"""`datagen nl` and `datagen eval` end to end, replayed from cassettes with the network blocked."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from datagen.cli import app
from datagen.dsl import check
from datagen.errors import GenerationError
from datagen.nl.model_eval import EvalPrompt, run_one
from datagen.nl.oneshot import run_nl
from datagen.nl.transcript import read_records
from datagen.settings import Settings
from tests.nl.conftest import TEST_KEY, cassette
from tests.nl.fakes import ScriptedLLM
from tests.nl.scenarios import SCENARIOS, turn

BOOKSHOP = turn("bookshop")

pytestmark = pytest.mark.block_network
runner = CliRunner()
APP_PROMPT = SCENARIOS["ask_one_question"].prompt


def nl(tmp_path: Path, *args: str, stdin: str = "", key: bool = True):
    env = {"OPENAI_API_KEY": TEST_KEY} if key else {}
    base = ["nl", *args, "-o", str(tmp_path / "schema.json"), "--data-dir", str(tmp_path / "data")]
    return runner.invoke(app, base, input=stdin, env=env, terminal_width=200)


@cassette("ask_one_question")
def test_nl_asks_on_the_terminal_writes_generates_and_validates(tmp_path: Path) -> None:
    result = nl(tmp_path, APP_PROMPT, "--scale", "0.05", stdin="2\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "? What period should the data cover?" in out
    assert "2. the last 2 years  (default)" in out
    schema = json.loads((tmp_path / "schema.json").read_text())
    assert check(schema).ok
    records = read_records(tmp_path / "schema.conversation.jsonl")
    assert [r["kind"] for r in records if r["kind"] in ("user", "asked", "answers", "schema")] == [
        "user",
        "asked",
        "answers",
        "schema",
    ]
    assert next(r for r in records if r["kind"] == "answers")["answers"] == {"timeframe": "the last 2 years"}
    assert (tmp_path / "data" / "sessions.parquet").exists() or (tmp_path / "data" / "sessions").exists()
    assert "quality score 100.0 / 100, validation passed" in out
    for table in ("users", "sessions"):
        assert table in out
    assert TEST_KEY not in (tmp_path / "schema.conversation.jsonl").read_text()


@cassette("ask_one_question")
def test_nl_yes_takes_defaults_and_prints_them_as_assumptions(tmp_path: Path) -> None:
    result = nl(tmp_path, APP_PROMPT, "--yes", "--no-generate", "--verbose")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "assumed: What period should the data cover? → the last 2 years (default)" in out
    assert "? What period" not in out  # nothing was asked
    # the question and the proposal after it are one turn: the request count goes on, once each
    assert "LLM usage: 2 request(s)" in out and "turn 1: 2 request(s) (limit 8)" in out
    assert out.count("asking the model (request 1 of 8)") == 1
    assert out.count("asking the model (request 2 of 8)") == 1
    assert (tmp_path / "schema.json").exists() and not (tmp_path / "data").exists()


@cassette("refusal")
def test_nl_failure_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    result = nl(tmp_path, SCENARIOS["refusal"].prompt, "--mode", "JSON_SCHEMA")
    assert result.exit_code == 2
    assert "no schema written: the model declined to answer" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_nl_without_key_or_base_url_says_what_to_set(tmp_path: Path) -> None:
    result = nl(tmp_path, "anything", key=False)
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "OPENAI_API_KEY" in message and "OPENAI_BASE_URL" in message
    assert "Ollama" in message and "http://localhost:11434/v1" in message
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


@cassette("eval_small")
def test_eval_reports_each_prompt_and_the_rates(tmp_path: Path) -> None:
    prompts = Path(__file__).with_name("eval_small.yaml")
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app,
        ["eval", str(prompts), "--json", str(out), "--data-dir", str(tmp_path / "data"), "--scale", "0.05"],
        env={"OPENAI_API_KEY": TEST_KEY},
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["coffee_chain"] | {"seconds": 0, "tokens": 0} == {
        "id": "coffee_chain",
        "domain": "retail",
        "ready": True,
        "first_try_valid": True,
        "first_problems": [],
        "repairs": 0,
        "questions": 0,
        "simplified": False,
        "data_repairs": 0,
        "requests": 1,
        "tokens": 0,
        "generated": True,
        "validated": True,
        "quality": 100.0,
        "failed_checks": [],
        "error": None,
        "seconds": 0,
    }
    assert by_id["app_usage"]["questions"] == 1 and by_id["app_usage"]["requests"] == 2
    assert by_id["app_usage"]["generated"] and by_id["coffee_chain"]["tokens"] > 0
    summary = report["summary"]
    assert summary["first_try_valid_rate"] == 1.0 and summary["mean_questions"] == 0.5
    assert summary["validated_rate"] == 1.0
    assert "first-try valid 100%" in result.stdout


@cassette("refinement")
def test_nl_resume_refines_the_saved_conversation(tmp_path: Path) -> None:
    first = nl(tmp_path, SCENARIOS["refinement"].prompt, "--no-generate")
    assert first.exit_code == 0, first.output
    transcript = tmp_path / "schema.conversation.jsonl"
    [edit] = SCENARIOS["refinement"].refinements
    result = nl(tmp_path, edit, "--resume", str(transcript), "--no-generate")
    assert result.exit_code == 0, result.output
    assert f"resumed{transcript}(ready)" in "".join(result.stdout.split())  # rich wraps long paths
    assert "+ table refunds" in result.stdout
    schema = json.loads((tmp_path / "schema.json").read_text())
    assert check(schema).ok and [n["id"] for n in schema["nodes"]][-1] == "refunds"
    assert schema["timeframe"]["start"].startswith("2023-01-01")
    users = [r["text"] for r in read_records(transcript) if r["kind"] == "user"]
    assert users == [SCENARIOS["refinement"].prompt, edit]


NARROW = turn("bookshop", lambda s: s["constraints"]["ranges"][0].update(max=60))  # the data breaks it


def run_nl_scripted(tmp_path: Path, llm: ScriptedLLM) -> tuple[int, str]:
    out = io.StringIO()
    code = run_nl(
        "Customers and orders of an online bookshop for 2024.",
        settings=Settings(api_key=TEST_KEY, model="gpt-4o-mini"),
        out=tmp_path / "schema.json",
        yes=True,
        generate=True,
        scale=0.1,
        seed=42,
        data_dir=tmp_path / "data",
        resume=None,
        verbose=True,
        console=Console(file=out, width=200, color_system=None),
        client=llm,
    )
    return code, out.getvalue()


def test_nl_gives_the_model_one_round_when_the_data_fails_validation(tmp_path: Path) -> None:
    """The range allows amounts up to 60, but the clamp lets them reach 400: the sample cannot show it,
    the full data can. The failed check goes back to the model (request 2 of the same turn's 8), its
    fix is written over the schema, and the data generated again passes: exit 0."""
    llm = ScriptedLLM(NARROW, BOOKSHOP)
    code, text = run_nl_scripted(tmp_path, llm)
    assert code == 0, text
    assert "validation failed" in text and "orders.amount: range" in text
    assert "asking the model to fix the schema for the failed checks (one round)" in text
    assert "orders.amount: range — " in llm.last_user() and "asking the model (request 2 of 8)" in text
    assert text.rindex("validation passed") > text.index("validation failed")
    assert json.loads((tmp_path / "schema.json").read_text())["constraints"]["ranges"][0]["max"] == 400
    records = read_records(tmp_path / "schema.conversation.jsonl")
    assert [r["document"]["constraints"]["ranges"][0]["max"] for r in records if r["kind"] == "schema"] == [
        60,
        400,
    ]
    assert "turn 1: 2 request(s) (limit 8)" in text


def test_nl_exits_1_with_the_schema_unchanged_when_the_model_cannot_fix_the_data(tmp_path: Path) -> None:
    llm = ScriptedLLM(NARROW, NARROW)  # the "fix" changes nothing
    code, text = run_nl_scripted(tmp_path, llm)
    assert code == 1 and len(llm.calls) == 2
    assert text.count("validation failed") == 1  # nothing changed, so nothing is generated again
    assert json.loads((tmp_path / "schema.json").read_text())["constraints"]["ranges"][0]["max"] == 60


def _loyalty(code: str) -> dict:
    """The bookshop with a customer column computed from the key: a formula that holds for the 50
    customers of the preflight's sample but not for the 150 of the full data at scale 0.1."""
    column = {"name": "loyalty", "type": "float", "generator": {"expression": {"code": code}}}
    return turn("bookshop", lambda s: s["nodes"][0]["columns"].append(column))


STOPS = _loyalty("sqrt(120 - customer_id)")  # NaN from customer 121 on: the column is not nullable
BOUNDED = _loyalty("sqrt(max(0, 120 - customer_id))")


def test_nl_gives_the_model_one_round_when_generating_the_data_stops(tmp_path: Path) -> None:
    """The error goes back to the model (request 2 of the same turn's 8) instead of ending the run;
    its fix is written over the schema and generated: exit 0."""
    llm = ScriptedLLM(STOPS, BOUNDED)
    code, text = run_nl_scripted(tmp_path, llm)
    assert code == 0, text
    error = "customers.loyalty: 30 of 150 values are null or NaN"
    assert f"generating the data failed: {error}" in text
    assert "asking the model to fix the schema for the error (one round)" in text
    assert "but generating the full dataset stopped with this" in llm.last_user()
    assert f"- {error}" in llm.last_user() and "fix: guard the formula with where()" in llm.last_user()
    assert "asking the model (request 2 of 8)" in text and "validation passed" in text
    written = json.loads((tmp_path / "schema.json").read_text())["nodes"][0]["columns"][-1]
    assert written["generator"]["expression"]["code"] == "sqrt(max(0, 120 - customer_id))"
    records = read_records(tmp_path / "schema.conversation.jsonl")
    assert len([r for r in records if r["kind"] == "schema"]) == 2


def test_nl_exits_1_with_the_error_when_the_model_cannot_fix_the_generation(tmp_path: Path) -> None:
    llm = ScriptedLLM(STOPS, STOPS)  # the "fix" changes nothing
    with pytest.raises(
        GenerationError, match=r"customers\.loyalty: 30 of 150 values are null or NaN"
    ) as stopped:
        run_nl_scripted(tmp_path, llm)
    assert stopped.value.exit_code == 1  # what `datagen nl` exits with, printing the error
    assert len(llm.calls) == 2  # one round, then the error stands
    records = read_records(tmp_path / "schema.conversation.jsonl")  # written although generation stopped
    assert [r["data_repairs"] for r in records if r["kind"] == "usage"][-1] == 1


def test_eval_gives_a_generation_error_its_repair_round(tmp_path: Path) -> None:
    item = EvalPrompt("shop", "retail", "Customers and orders of an online bookshop for 2024.")
    result = run_one(item, ScriptedLLM(STOPS, BOUNDED), data_dir=tmp_path / "d", seed=42, scale=0.1)
    assert result.ready and result.generated and result.validated and result.error is None
    assert result.data_repairs == 1 and result.requests == 2
    stuck = run_one(item, ScriptedLLM(STOPS, STOPS), data_dir=tmp_path / "e", seed=42, scale=0.1)
    assert not stuck.generated and "customers.loyalty" in (stuck.error or "") and stuck.data_repairs == 1


def test_eval_counts_the_data_repair_round(tmp_path: Path) -> None:
    item = EvalPrompt("shop", "retail", "Customers and orders of an online bookshop for 2024.")
    result = run_one(item, ScriptedLLM(NARROW, BOOKSHOP), data_dir=tmp_path / "d", seed=42, scale=0.1)
    assert result.ready and result.generated and result.quality == 100.0
    assert result.data_repairs == 1 and result.requests == 2 and result.first_try_valid
