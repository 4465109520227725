"""After the conversation: build the dataset the schema describes — generate it, then validate it —
for `datagen nl` and `datagen eval` alike (tables, rows, quality score, failed checks). When the full
data fails validation, or generating it stops with an error, the model gets one round with the failed
checks or the error (`build_with_repair`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagen.dsl import CheckResult, check
from datagen.errors import GenerationError

if TYPE_CHECKING:
    from datagen.engine.estimate import RunEstimate
    from datagen.nl.conversation import Conversation
    from datagen.validate import Report


@dataclass
class Quality:
    score: float
    passed: bool
    failed_checks: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # each failed check with how to fix it (for the model)


@dataclass
class Outcome:
    out_dir: Path
    rows: dict[str, int]
    seconds: float
    quality: Quality

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.out_dir),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "quality_score": self.quality.score,
            "validation_passed": self.quality.passed,
            "failed_checks": self.quality.failed_checks,
        }


def quality_of(report: Report) -> Quality:
    """The validator's verdict in brief: score, pass/fail (hard checks and threshold), failed checks."""
    failed = [f"{r.where}: {r.check} — {r.message}" for r in report.failures]
    # a behavioural check's fix is about the schema (weights, ranges); a hard check's is about the data
    # (regenerate it, or report the engine) and would only mislead the model
    advice = [
        f"{line}; fix: {r.fix}" if r.fix and not r.hard else line
        for line, r in zip(failed, report.failures, strict=True)
    ]
    return Quality(report.score, report.ok, failed, advice)


def generate_and_validate(
    checked: CheckResult,
    out_dir: Path,
    *,
    seed: int,
    scale: float,
    confirm: Callable[[RunEstimate], bool] | None = None,
) -> Outcome:
    """Write the dataset (atomically, like `datagen generate`; a run estimated over an hour only when
    `confirm` accepts it) and validate what was written."""
    from datagen.engine.generate import Options
    from datagen.io.dataset import write_dataset
    from datagen.validate import validate_dataset

    started = time.perf_counter()
    result = write_dataset(checked, out_dir, Options(seed=seed, scale=scale), confirm=confirm)
    rows = {s.id: s.rows for s in result.stats}
    quality = quality_of(validate_dataset(checked, out_dir))
    return Outcome(out_dir, rows, time.perf_counter() - started, quality)


def build_with_repair(
    conv: Conversation,
    out_dir: Path,
    *,
    seed: int,
    scale: float,
    confirm: Callable[[RunEstimate], bool] | None = None,
    on_failed: Callable[[Outcome], None] | None = None,
    on_error: Callable[[GenerationError], None] | None = None,
    on_changed: Callable[[], None] | None = None,
) -> Outcome:
    """Build the conversation's dataset. When it fails validation (`on_failed` shows that), or
    generating it stops with an error (`on_error`: a value a column cannot hold, met at full size but
    not in the preflight's sample), give the model one round with the failed checks or the error
    (`Conversation.fix_data`, inside the turn's request budget), and — when it changed the schema
    (`on_changed`, e.g. to rewrite the schema file) — build again. The last outcome is returned, and the
    data on disk is always its; an error that no changed schema answered is raised."""
    assert conv.document is not None
    try:
        outcome = generate_and_validate(
            check(conv.document), out_dir, seed=seed, scale=scale, confirm=confirm
        )
    except GenerationError as error:
        if on_error is not None:
            on_error(error)
        before = conv.document
        fix = f" (fix: {error.hint})" if error.hint else ""
        conv.fix_data([error.message + fix], stopped=True)
        if conv.document is None or conv.document == before:
            raise
    else:
        if outcome.quality.passed:
            return outcome
        if on_failed is not None:
            on_failed(outcome)
        before = conv.document
        conv.fix_data(outcome.quality.advice, rows=outcome.rows)
        if conv.document is None or conv.document == before:
            return outcome
    if on_changed is not None:
        on_changed()
    return generate_and_validate(check(conv.document), out_dir, seed=seed, scale=scale, confirm=confirm)
