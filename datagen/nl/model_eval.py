"""`datagen eval`: run a set of prompts against the configured endpoint and measure how the model does
with our prompts: first-try validity, repair rounds, questions, generation, quality — per prompt.
(One schema's own check-and-sample judgement is `trial`; building its dataset is `dataset_build`.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from datagen.errors import DatagenError, InputError
from datagen.io.names import output_slug
from datagen.nl.client import LLM
from datagen.nl.conversation import Conversation
from datagen.nl.dataset_build import build_with_repair
from datagen.nl.events import State
from datagen.settings import DEFAULT_LLM_TIMEOUT

_REQUIRED = ("id", "domain", "prompt")


@dataclass(frozen=True)
class EvalPrompt:
    id: str
    domain: str
    prompt: str
    answers: dict[str, str] = field(default_factory=dict)  # by question id; others take the default


@dataclass
class EvalResult:
    id: str
    domain: str
    ready: bool = False
    first_try_valid: bool = False
    first_problems: list[str] = field(default_factory=list)  # why the first proposal was refused
    repairs: int = 0
    questions: int = 0
    simplified: bool = False
    data_repairs: int = 0  # rounds the model got after the full data failed validation
    requests: int = 0
    tokens: int = 0
    generated: bool = False
    validated: bool = False  # the data passed validation (what `datagen validate` exits 0 on)
    quality: float | None = None
    failed_checks: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_eval_set(path: Path) -> list[EvalPrompt]:
    """A YAML file: `prompts: [{id, domain, prompt, answers?}]`; ids must be unique."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {exc}") from None
    items = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}: expected a top-level 'prompts:' list", hint="see evals/prompts.yaml")
    out, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in _REQUIRED):
            raise InputError(f"{path}: prompts[{i}] needs text fields id, domain and prompt")
        if item["id"] in seen:
            raise InputError(f"{path}: prompts[{i}]: duplicate id '{item['id']}'")
        seen.add(item["id"])
        answers = {str(k): str(v) for k, v in (item.get("answers") or {}).items()}
        out.append(EvalPrompt(item["id"], item["domain"], item["prompt"], answers))
    return out


def run_one(
    item: EvalPrompt,
    client: LLM,
    *,
    data_dir: Path | None,
    seed: int,
    scale: float,
    turn_timeout: float = DEFAULT_LLM_TIMEOUT,
    today: date | None = None,
) -> EvalResult:
    """One prompt, non-interactively (its `answers`, defaults for the rest); data written to `data_dir`
    and validated when given, with one repair round when it fails (as `datagen nl` does)."""
    result = EvalResult(item.id, item.domain)
    started = time.perf_counter()
    conv = Conversation(client, seed=seed, turn_timeout=turn_timeout, today=today)
    try:
        events = conv.send(item.prompt)
        while conv.state == State.ASKING:
            events = conv.answer(item.answers)
        result.ready = conv.state == State.READY
        if not result.ready:
            result.error = next((e.text for e in reversed(events) if e.kind == "failed"), "no schema")
        elif data_dir is not None:
            outcome = build_with_repair(conv, data_dir, seed=seed, scale=scale)
            result.generated = True
            result.validated = outcome.quality.passed
            result.quality = outcome.quality.score
            result.failed_checks = list(outcome.quality.failed_checks)
    except DatagenError as exc:
        result.error = exc.message
    judged = [t.first_try_valid for t in conv.turns if t.first_try_valid is not None]
    result.first_try_valid = bool(judged and judged[0])
    result.first_problems = next((t.first_problems for t in conv.turns if t.first_try_valid is not None), [])
    result.repairs = sum(t.repairs for t in conv.turns)
    result.data_repairs = sum(t.data_repairs for t in conv.turns)
    result.questions = conv.questions_asked
    result.simplified = any(t.simplified for t in conv.turns)
    result.requests, result.tokens = conv.usage.requests, conv.usage.total_tokens
    result.seconds = time.perf_counter() - started
    return result


def run_eval(
    prompts: list[EvalPrompt],
    make_client: Callable[[], LLM],
    *,
    data_root: Path | None,
    seed: int = 42,
    scale: float = 0.1,
    turn_timeout: float = DEFAULT_LLM_TIMEOUT,
    today: date | None = None,
    on_result: Callable[[EvalResult], None] | None = None,
) -> list[EvalResult]:
    results = []
    for item in prompts:
        target = data_root / output_slug(item.id) if data_root is not None else None
        result = run_one(
            item,
            make_client(),
            data_dir=target,
            seed=seed,
            scale=scale,
            turn_timeout=turn_timeout,
            today=today,
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def summarise(results: list[EvalResult]) -> dict[str, Any]:
    """Rates over all prompts; means over those that got that far."""
    n = len(results) or 1
    quality = [r.quality for r in results if r.quality is not None]
    return {
        "prompts": len(results),
        "first_try_valid_rate": sum(r.first_try_valid for r in results) / n,
        "ready_rate": sum(r.ready for r in results) / n,
        "generation_success_rate": sum(r.generated for r in results) / n,
        "validated_rate": sum(r.validated for r in results) / n,
        "mean_repairs": sum(r.repairs for r in results) / n,
        "data_repairs": sum(r.data_repairs for r in results),
        "mean_questions": sum(r.questions for r in results) / n,
        "mean_quality": sum(quality) / len(quality) if quality else None,
        "requests": sum(r.requests for r in results),
        "tokens": sum(r.tokens for r in results),
    }
