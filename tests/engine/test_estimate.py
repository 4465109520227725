"""The run-time estimate: a run past an hour is asked for on a terminal and refused without --yes
elsewhere, before any generation starts (Engine.run is made to fail the test if it is reached)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from datagen import cli
from datagen.dsl import check
from datagen.engine.estimate import LONG_RUN_SECONDS, estimate_run
from datagen.engine.generate import MAX_ROWS_PER_TABLE, Engine, Options
from datagen.errors import DatagenError, GenerationError, InputError
from datagen.io import dataset
from datagen.io.confirm import long_run_confirmation
from tests.engine.conftest import dist, entity, fact, schema

runner = CliRunner()


def chain_at_the_limit() -> dict:
    """a (10^5 rows) -> b (10^5 each: exactly 10^10) -> c (one each: 10^10): within the row limit."""
    a = entity("a", [], rows=100_000)
    b = fact("b", ["a"], [dist("v", "normal", mean=0, std=1)])
    b["fanout"] = {"distribution": "poisson", "lambda": 100_000}
    c = fact("c", ["b"], [])
    c["fanout"] = {"distribution": "poisson", "lambda": 1, "min": 1, "max": 1}
    return schema(a, b, c)


@pytest.fixture
def no_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset.Engine, "run", lambda *a, **k: pytest.fail("generation started"))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_chain_is_within_the_row_limit_but_estimated_at_hours() -> None:
    engine = Engine(check(chain_at_the_limit()).raise_for_errors(), Options())
    engine.check_size()  # not refused for its size
    rows = engine.estimate_rows()
    assert rows["b"] == rows["c"] == MAX_ROWS_PER_TABLE
    estimate = estimate_run(engine)
    assert estimate.long and estimate.seconds > 2 * LONG_RUN_SECONDS
    assert "hours" in estimate.describe() and "2.0e+10 rows" in estimate.describe()


def test_a_small_schema_is_estimated_in_seconds() -> None:
    estimate = estimate_run(Engine(check(schema(entity("a", [], rows=1000))).raise_for_errors(), Options()))
    assert not estimate.long and estimate.seconds < 1
    assert estimate.describe() == "about 0 seconds (1,000 rows)"


def test_generate_refuses_a_long_run_without_yes_before_any_work(tmp_path: Path, no_generation: None) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_at_the_limit()))
    out = tmp_path / "out"
    result = runner.invoke(cli.app, ["generate", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "this run would take about" in message and "hours" in message and "--yes" in message
    assert list(tmp_path.iterdir()) == [path]  # no output, no staging folder


def test_with_yes_the_time_check_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*args: object, **kwargs: object) -> None:
        raise GenerationError("generation started")

    monkeypatch.setattr(dataset.Engine, "run", started)
    monkeypatch.setattr(dataset, "check_disk", lambda engine, target: None)
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_at_the_limit()))
    result = runner.invoke(cli.app, ["generate", str(path), "-o", str(tmp_path / "out"), "--yes"])
    assert result.exit_code == 1 and "generation started" in result.stderr


@pytest.mark.parametrize(
    ("answer", "expected"), [("n\n", "declined"), ("y\n", "started"), ("\n", "declined")]
)
def test_on_a_terminal_the_person_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, expected: str
) -> None:
    def started(*args: object, **kwargs: object) -> None:
        raise GenerationError("generation started")

    monkeypatch.setattr(dataset.Engine, "run", started)
    monkeypatch.setattr(dataset, "check_disk", lambda engine, target: None)
    screen = io.StringIO()
    confirm = long_run_confirmation(False, Console(file=screen, force_terminal=True), Terminal(answer))
    assert confirm is not None
    with pytest.raises(DatagenError) as info:
        dataset.write_dataset(check(chain_at_the_limit()), tmp_path / "out", Options(), confirm=confirm)
    assert "This run will take about" in screen.getvalue()
    if expected == "declined":
        assert not isinstance(info.value, InputError | GenerationError)
        assert info.value.message.startswith("not generated: the run would take about")
    else:
        assert info.value.message == "generation started"
    assert not (tmp_path / "out").exists()


def test_without_a_terminal_nobody_is_asked() -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    assert long_run_confirmation(False, console, Terminal()) is None
    assert (
        long_run_confirmation(False, Console(file=io.StringIO(), force_terminal=True), io.StringIO()) is None
    )
    assert long_run_confirmation(True, console, io.StringIO())(None) is True  # type: ignore[arg-type]
