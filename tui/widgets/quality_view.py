"""The Quality tab: the score, the score per bucket, failed checks first (with examples), then the
charts and what passed."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Digits, Static, Tab, Tabs

from datagen.terminal import safe
from tui.widgets.charts import Chart, render

EMPTY = "No checks yet. They run on the preview as soon as there is a schema (ctrl+r runs them again)."


@dataclass(frozen=True)
class Failure:
    title: str
    message: str
    examples: list[str] = field(default_factory=list)
    hard: bool = False  # a declared constraint broken (not just a score deduction)


@dataclass(frozen=True)
class QualityModel:
    """What the tab shows; built from a validation report by `tui.quality.from_report`."""

    score: float  # 0–100
    passed: bool
    source: str  # "the preview sample" or the dataset folder
    buckets: list[tuple[str, float]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    passes: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    plain: bool = False  # passes are sentences (one per line), not check names


def _bucket_line(name: str, score: float, width: int) -> Text:
    filled = round(score / 100 * 20)
    style = "green" if score >= 90 else "yellow" if score >= 70 else "red"
    return Text.assemble(
        name.ljust(width) + " ", ("█" * filled, style), ("░" * (20 - filled), "dim"), f" {score:5.1f}"
    )


class QualityView(Vertical):
    def compose(self) -> ComposeResult:
        yield Tabs(
            Tab("In words", id="quality-plain"), Tab("Technical", id="quality-technical"), id="quality-mode"
        )
        with Horizontal(id="quality-head"):
            yield Digits("", id="quality-score")
            yield Static(EMPTY, id="quality-verdict", markup=False)
        with VerticalScroll(id="quality-body"):
            yield Static(id="quality-buckets")
            yield Static(id="quality-failures")
            yield Static(id="quality-charts")
            yield Static(id="quality-passes")

    def show(self, model: QualityModel | None) -> None:
        score = self.query_one("#quality-score", Digits)
        verdict = self.query_one("#quality-verdict", Static)
        parts = {
            k: self.query_one(f"#quality-{k}", Static) for k in ("buckets", "failures", "charts", "passes")
        }
        if model is None:
            score.update("")
            verdict.update(EMPTY)
            for part in parts.values():
                part.update("")
            return
        score.update(f"{model.score:.0f}")
        score.set_class(not model.passed, "failed")
        hard = sum(f.hard for f in model.failures)
        if model.plain:
            head = ("How closely the data follows what you described", "bold")
            outcome = (
                f"{len(model.failures)} thing(s) to look at" if model.failures else "everything checks out"
            )
        else:
            head = ("Quality score out of 100", "bold")
            outcome = f"{len(model.failures)} check(s) failed" if model.failures else "every check passed"
        verdict.update(
            Text.assemble(
                head,
                f"\nchecked on {model.source}\n",
                (outcome, "bold red" if hard else "yellow" if model.failures else "green"),
                (f", {hard} of them a declared rule" if hard and not model.plain else "", "red"),
            )
        )
        width = max((len(n) for n, _ in model.buckets), default=0)
        parts["buckets"].update(Text("\n").join(_bucket_line(n, s, width) for n, s in model.buckets))
        failures = Text()
        for f in model.failures:
            failures.append(
                ("✗ " if f.hard else "! ") + safe(f.title) + "\n",
                style="bold red" if f.hard else "bold yellow",
            )
            if f.message:
                failures.append("  " + safe(f.message) + "\n")
            for example in f.examples[:5]:
                failures.append("    e.g. " + safe(example) + "\n", style="dim")
        parts["failures"].update(failures)
        parts["charts"].update(Text("\n").join(render(c) for c in model.charts))
        passes = Text()
        if model.plain:
            passes = Text("\n").join(Text.assemble(("✓ ", "bold green"), safe(p)) for p in model.passes)
        elif model.passes:
            passes.append("✓ Passed: ", style="bold green")
            passes.append(", ".join(model.passes), style="green")
        parts["passes"].update(passes)
        for part in parts.values():
            part.display = bool(part.visual and str(part.visual))
