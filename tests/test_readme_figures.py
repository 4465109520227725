"""The README's figures match a fresh run of the examples they quote (tests/readme_figures.py has the
convention; `python -m tests.readme_figures --write` rewrites them after a deliberate change)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_figures import (
    README,
    Block,
    Outcome,
    Workspace,
    compare_console,
    compare_rows,
    examples,
    parse,
    render,
    rewritten,
    run_example,
)

TEXT = README.read_text(encoding="utf-8")
LINES = TEXT.split("\n")
BLOCKS = parse(TEXT)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("readme"))


def test_the_readme_quotes_figures_of_the_analyst_examples_and_the_first_run() -> None:
    assert {
        "ecommerce",
        "trend_growth",
        "segments",
        "cohort_retention",
        "funnel",
        "subscriptions",
        "combined_behaviours",
    } <= set(examples(BLOCKS))
    assert sum(b.lang == "sql" for b in BLOCKS) >= 15


@pytest.mark.parametrize("example", examples(BLOCKS))
def test_readme_figures_match_a_fresh_run(example: str, workspace: Workspace) -> None:
    problems = [
        f"README line {o.block.marker_line + 1}: {p}"
        for o in run_example(example, BLOCKS, LINES, workspace)
        for p in o.problems
    ]
    assert not problems, "\n".join(problems) + "\n(python -m tests.readme_figures --write rewrites them)"


def test_an_edited_figure_is_caught_and_an_annotation_is_not() -> None:
    printed = ["│ tier │ n │   declared", "│ vip  │ 452 │   3", "│ regular │ 2342 │"]
    now = render(["tier", "n"], [("vip", 452), ("regular", 2342)])
    assert compare_rows(printed, now) == []
    assert compare_rows([printed[0], printed[1].replace("452", "453"), printed[2]], now) == [
        "row 1 printed ['vip', '453'], now ['vip', '452']"
    ]
    assert compare_rows([printed[0], printed[1].replace("   3", "   4"), printed[2]], now) == []
    assert compare_rows(printed[:2], now) == ["1 row(s) printed, 2 now"]


def test_console_timings_and_borders_are_not_compared_the_rest_is() -> None:
    printed = [
        "$ datagen generate x.json",
        "┏━━━━━━┳━━━━━━┳━━━━━━━━━┓",
        "┃ table ┃ rows ┃ seconds ┃",
        "│ a     │  3,000 │    0.87 │",
        "  done in 1.25 s, 2,400 rows/s",
    ]
    now = [
        "$ datagen generate x.json",
        "┏━━━━━━┳━━━━━━━┳━━━━━━━━━━━━┓",
        "┃ table ┃ rows ┃ seconds ┃",
        "│ a     │  3,000 │   12.50 │",
        "  done in 9.99 s, 240 rows/s",
    ]
    assert compare_console(printed, now) == []
    assert compare_console(printed, [*now[:3], now[3].replace("3,000", "3,001"), now[4]]) != []


def test_rewriting_keeps_the_annotations_row_by_row(tmp_path: Path) -> None:
    lines = [
        "<!-- figures: x -->",
        "```sql",
        "SELECT 1",
        "```",
        "```",
        "│ a │   note a",
        "│ 1 │   one",
        "```",
    ]
    [block] = parse("\n".join(lines))
    assert block == Block("x", "sql", (2, 3), (5, 7), 0)
    out = rewritten(lines, [Outcome(block, render(["a"], [(2,), (3,)]), [])])
    assert out[5:8] == ["│ a │   note a", "│ 2 │   one", "│ 3 │"]
