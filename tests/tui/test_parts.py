"""The TUI's pieces that need no screen: the schema outline, the chat texts, sessions on disk, the
charts, the quality view of a report, the jobs the workers run, and the `datagen tui` entry point."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datagen.dsl import check
from datagen.errors import InputError
from datagen.validate import Report, Result
from tests.tui.conftest import SHOP
from tui import jobs
from tui.outline import outline, relations
from tui.quality import from_report
from tui.session import Entry, Session, SessionStore
from tui.views import detail_text, failed_text, question_views, ready_text
from tui.widgets.charts import Chart, render


def test_outline_says_size_columns_and_relations_in_words() -> None:
    schema = check(SHOP).schema
    customers, orders = outline(schema)
    assert (customers.size, orders.size) == ("200 rows", "~3 per row of customers")
    assert [(c.name, c.type, c.source) for c in orders.columns] == [
        ("order_id", "int", "sequence from 1"),
        ("customer_id", "int", "lookup customers.customer_id"),
        ("ordered_at", "datetime", "timestamps by dow"),
        ("amount", "float", "uniform distribution"),
    ]
    assert relations(schema) == ["orders.customer_id → customers.customer_id"]


def test_outline_in_plain_words_says_sizes_sources_and_relations_as_sentences() -> None:
    schema = check(SHOP).schema
    customers, orders = outline(schema, plain=True)
    assert (customers.size, orders.size) == ("200 customers", "each customer has about 3 orders")
    assert [(c.name, c.type, c.source) for c in orders.columns] == [
        ("order_id", "whole number", "a number counting up from 1"),
        ("customer_id", "whole number", "the customer it belongs to"),
        ("ordered_at", "date and time", "a date and time in the period, more on weekends"),
        ("amount", "number", "any number from 5 to 50"),
    ]
    assert customers.columns[1].source == "one of: vip (20 %), regular (80 %)"
    assert relations(schema, plain=True) == ["every order belongs to a real customer"]


def test_outline_in_plain_words_tells_a_random_customer_from_the_own_one() -> None:
    doc = json.loads(json.dumps(SHOP))
    pick = {"lookup": {"from": "customers.customer_id", "pick": "random"}}
    doc["nodes"][1]["columns"].append({"name": "gift_for", "type": "int", "generator": pick})
    orders = outline(check(doc).schema, plain=True)[1]
    sources = {c.name: c.source for c in orders.columns}
    assert sources["customer_id"] == "the customer it belongs to"
    assert sources["gift_for"] == "a random customer's customer id"


def test_outline_says_what_modifiers_behaviours_and_targets_do() -> None:
    doc = json.loads(json.dumps(SHOP))
    orders = doc["nodes"][1]
    amount = next(c for c in orders["columns"] if c["name"] == "amount")
    amount["modifiers"] = [
        {"transform": "multiply", "args": {"factor": 1.2}},
        {"transform": "clamp", "args": {"min": 0}},
        {"transform": "outliers", "args": {"rate": 0.01}},
        {"transform": "trend", "args": {"growth_rate": 0.05}},
    ]
    doc["nodes"][0]["segment_behavior"] = {
        "segment_column": "segment",
        "behaviors": {"vip": {"fanout_multiplier": 2.0}},
    }
    doc["targets"] = {"mean_in_range": {"table": "orders", "column": "amount", "min": 1, "max": 90}}
    checked = check(doc)
    assert checked.ok, checked.errors
    customers, orders_outline = outline(checked.schema)
    line = next(c for c in orders_outline.columns if c.name == "amount")
    assert line.source == (
        "uniform distribution · × 1.2, at least 0, 1.0% outliers (spike), exponential trend +5%/year"
    )
    assert customers.behaviours == ["segments by segment: vip"]
    assert orders_outline.behaviours == ["target: mean amount in [1, 90]"]


def test_question_views_accept_objects_and_event_dicts() -> None:
    from datagen.nl.turns import Question

    q = Question(id="funnel", text="A funnel?", kind="yes_no", default="no")
    [from_object] = question_views([q])
    [from_dict] = question_views([q.model_dump()])
    assert from_object == from_dict
    assert (from_object.options, from_object.default) == (["yes", "no"], "no")


def test_chat_texts_lead_with_what_matters() -> None:
    ready = ready_text(
        "schema ready: 2 table(s) (a, b)",
        {
            "summary": "A shop.",
            "assumptions": ["one year"],
            "diff_lines": ["+ orders.discount"],
            "warnings": [],
        },
    )
    assert ready == "A shop.\nSchema ready: 2 table(s) (a, b).\n  + orders.discount\n• assumed: one year"
    failed = failed_text("no language model is configured", {"hint": "set OPENAI_API_KEY", "problems": ["x"]})
    assert failed == "No language model is configured.\n• x\nWhat to do: set OPENAI_API_KEY"
    repaired = detail_text(
        "the model fixed it in 1 repair round(s)", {"problems": [["nodes[0]: bad"], ["y"]]}
    )
    assert repaired == "The model fixed it in 1 repair round(s)\n  • found: nodes[0]: bad"
    assert failed_text("shop.json:1:2: not valid JSON\n  {", {}) == "shop.json:1:2: not valid JSON\n  {"


def test_sessions_round_trip_and_the_latest_non_empty_one_is_offered(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    assert store.latest() is None
    old = Session(id="a", transcript=[Entry("user", "an online shop")], document=SHOP, answers={"x": "yes"})
    store.save(old)
    store.save(Session(id="b"))  # newer but empty: nothing to resume
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "session.json").write_text("{broken", encoding="utf-8")  # skipped, not fatal
    latest = store.latest()
    assert latest == old and latest.title == "an online shop"


def test_a_chart_marks_the_declared_value_on_each_bar() -> None:
    chart = Chart("Rows per weekday", ["Mon", "Sat"], observed=[0.5, 1.0], expected=[0.25, 0.75])
    assert render(chart, width=8).plain.splitlines() == [
        "Rows per weekday",
        "Mon ██┃█      50.0%  declared 25.0%",
        "Sat ██████┃█ 100.0%  declared 75.0%",
        "bars: observed   ┃: declared",
    ]


def _result(check: str, bucket: str, status: str, **extra) -> Result:
    return Result(
        check=check, bucket=bucket, table="orders", column="amount", status=status, message="m", **extra
    )


def test_the_quality_view_puts_hard_failures_first_and_draws_seasonality() -> None:
    results = [
        _result("primary_key", "structural", "pass"),
        _result("mean_in_range", "behavioural", "fail"),
        _result("range", "value", "fail", hard=True, examples=[{"order_id": 3, "amount": 1.23456789}]),
        _result(
            "seasonality",
            "behavioural",
            "pass",
            details={"dimension": "dow", "observed": [1 / 7] * 7, "expected": [1 / 7] * 7},
        ),
    ]
    report = Report("shop", "hash", "data/shop", results, tables={})

    model = from_report(report, "the preview sample", plain=False)
    assert (model.score, model.passed) == (report.score, False)
    assert [f.title for f in model.failures] == ["range · orders.amount", "mean in range · orders.amount"]
    assert model.failures[0].examples == ["order_id=3, amount=1.23457"]
    assert model.buckets == [("structure", 100.0), ("values", 0.0), ("behaviour", 50.0)]
    [chart] = model.charts
    assert chart.labels[0] == "Mon" and chart.title == "Rows per weekday · orders.amount"
    assert model.passes == ["primary key", "seasonality"]


def test_the_quality_view_in_plain_words_says_each_check_as_a_sentence() -> None:
    weekdays = [0.18, 0.18, 0.18, 0.18, 0.18, 0.05, 0.05]
    results = [
        _result("primary_key", "structural", "pass"),
        _result("type", "structural", "pass"),
        Result(
            "foreign_key",
            "structural",
            "walks",
            "dog_id",
            "pass",
            "every walks.dog_id resolves",
            details={"references": "dogs.dog_id", "orphans": 0},
        ),
        Result(
            "seasonality",
            "behavioural",
            "walks",
            "walked_at",
            "pass",
            "dow shares follow",
            details={
                "dimension": "dow",
                "observed": [0.16, 0.15, 0.16, 0.15, 0.16, 0.11, 0.11],
                "expected": weekdays,
            },
        ),
        Result(
            "fanout",
            "structural",
            "walks",
            None,
            "fail",
            "mean children per dogs row 1.2 (declared 3)",
            fix="raise the fanout",
        ),
    ]
    model = from_report(Report("walks", "hash", "data/walks", results, tables={}), "sample rows")
    assert model.plain and model.passes == [
        "Every table has its columns, with the right kind of values, and every row has its own id.",
        "Every walk belongs to a real dog.",
        "Busier on weekdays: 78 % of walks, as you asked (about 90 %).",
    ]
    [failure] = model.failures
    assert failure.title == "Mean children per dogs row 1.2 (declared 3) (walks)."  # no sentence: its message
    assert failure.message == "What to do: raise the fanout"


def test_the_sample_is_validated_like_a_dataset() -> None:
    checked = check(SHOP)
    report = jobs.validate_sample(checked, jobs.sample(checked, 50, 42), 42)
    assert report.score > 0 and {r.table for r in report.results} == {"customers", "orders"}


def test_a_cancelled_generation_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(jobs.Cancelled):
        jobs.generate(
            check(SHOP),
            tmp_path / "out",
            seed=1,
            on_table_start=lambda t, n: None,
            on_progress=lambda t, n: None,
            cancelled=lambda: True,
        )
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_file_path_that_is_a_folder_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="cannot save the schema"):
        jobs.save_schema(SHOP, tmp_path / "taken")
    saved = jobs.save_schema(SHOP, tmp_path / "new" / "shop.json")
    assert json.loads(saved.read_text(encoding="utf-8")) == SHOP


def test_the_datagen_tui_command_runs_the_app_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import tui
    from datagen.cli import app

    calls = []
    monkeypatch.setattr(
        tui, "run", lambda schema, new, settings: calls.append((schema, new, settings.llm_timeout)) or 0
    )
    result = CliRunner().invoke(app, ["tui", "shop.json", "--new", "--timeout", "42"])
    assert result.exit_code == 0 and calls == [(Path("shop.json"), True, 42.0)]


def test_wait_for_returns_reraises_and_stops_waiting_when_cancelled() -> None:
    assert jobs.wait_for(lambda: 42, cancelled=lambda: False) == 42
    with pytest.raises(InputError, match="nope"):
        jobs.wait_for(lambda: (_ for _ in ()).throw(InputError("nope")), cancelled=lambda: False)
    release = threading.Event()
    started = time.perf_counter()
    with pytest.raises(jobs.Cancelled):
        jobs.wait_for(release.wait, cancelled=lambda: time.perf_counter() - started > 0.2, poll=0.01)
    assert time.perf_counter() - started < 2
    release.set()
