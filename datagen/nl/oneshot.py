"""`datagen nl` and `datagen eval` on a terminal: the flows behind the two commands, kept out of cli.py
so the command functions stay flag parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from datagen.errors import GenerationError, LLMError
from datagen.io.confirm import long_run_confirmation
from datagen.io.manifest import DATASET
from datagen.io.names import default_output_dir
from datagen.nl.client import LLM, OpenAIClient, resolve_model
from datagen.nl.console import EventPrinter, ask_questions, print_outcome
from datagen.nl.conversation import Conversation
from datagen.nl.dataset_build import Outcome, build_with_repair
from datagen.nl.events import Event, State
from datagen.nl.model_eval import EvalResult, load_eval_set, run_eval, summarise
from datagen.nl.transcript import write_records
from datagen.redact import redact_data
from datagen.settings import Settings
from datagen.terminal import plain, styled


def transcript_path(schema_path: Path) -> Path:
    """`schema.json` -> `schema.conversation.jsonl`, beside it."""
    return schema_path.with_name(schema_path.stem + ".conversation.jsonl")


def _usage_lines(conv: Conversation) -> list[str]:
    lines = [
        f"LLM usage: {conv.usage.requests} request(s), {conv.usage.prompt_tokens:,} prompt + "
        f"{conv.usage.completion_tokens:,} completion tokens"
    ]
    for i, t in enumerate(conv.turns, 1):
        lines.append(
            f"  turn {i}: {t.requests} request(s) (limit {conv.max_requests}), {t.total_tokens:,} tokens, "
            f"{t.repairs} repair round(s), {t.questions} question(s)"
        )
    return lines


def run_nl(
    prompt: str | None,
    *,
    settings: Settings,
    out: Path,
    yes: bool,
    generate: bool,
    scale: float,
    seed: int,
    data_dir: Path | None,
    resume: Path | None,
    verbose: bool,
    console: Console,
    stdin: TextIO | None = None,
    client: LLM | None = None,
) -> int:
    """Talk until a schema is ready (asking the person, or taking defaults with `yes`), then write the
    schema and transcript, generate and validate; data that fails validation, or cannot be generated,
    gets one repair round (and is generated again when the model changed the schema). Returns the exit
    code; raises LLMError (exit 2) when the conversation fails — and then nothing has been written —
    and GenerationError (exit 1) when the data could not be generated even after the round."""
    printer = EventPrinter(console, verbose=verbose)
    llm = client or OpenAIClient(settings)
    if verbose:  # the model a server was asked for is named from here on
        console.print(styled((f"model: {getattr(llm, 'settings', settings).describe()}", "dim")))
    options: dict[str, Any] = {
        "on_event": printer,
        "seed": seed,
        "turn_timeout": settings.llm_timeout,
        "today": settings.today,
    }
    if resume is not None:
        conv = Conversation.resume(resume, llm, **options)
        console.print(plain(f"resumed {resume} ({conv.state.value})"))
    else:
        conv = Conversation(llm, **options)
    events: list[Event] = []
    if prompt:
        events = conv.send(prompt)
    elif resume is None:
        raise LLMError("describe the data you need", hint='datagen nl "a web shop\'s customers and orders"')
    while conv.state == State.ASKING:
        if yes:
            events = conv.answer()
        else:
            events = conv.answer(ask_questions(conv.pending_questions, console, stream=stdin))
    failed = next((e for e in events if e.kind == "failed"), None)
    if verbose and (failed is not None or conv.document is None or not generate):
        for line in _usage_lines(conv):
            console.print(styled((line, "dim")))
    if failed is not None or conv.document is None:
        text = failed.text if failed else "no schema yet"
        raise LLMError(f"no schema written: {text}", hint=(failed.data.get("hint") if failed else None))
    out.parent.mkdir(parents=True, exist_ok=True)

    def write_schema() -> None:
        write_records(transcript_path(out), conv.transcript)
        document = redact_data(conv.document)
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(plain(f"wrote {out} (conversation: {transcript_path(out)})"))

    write_schema()
    if not generate:
        return 0
    # The folder name comes from the model's text only as a slug, and never into a folder that holds
    # anything but an earlier dataset of ours.
    name = conv.schema.metadata.name if conv.schema else out.stem
    target = data_dir or default_output_dir(Path("data"), name, DATASET)
    confirm = long_run_confirmation(yes, console, stdin)

    shown: list[Outcome] = []

    def show_failed(first: Outcome) -> None:
        print_outcome(console, first)
        shown.append(first)
        console.print(plain("asking the model to fix the schema for the failed checks (one round)"))

    def show_error(error: GenerationError) -> None:
        console.print(styled(("generating the data failed: ", "bold red"), error.message), soft_wrap=True)
        console.print(plain("asking the model to fix the schema for the error (one round)"))

    try:
        outcome = build_with_repair(
            conv,
            target,
            seed=seed,
            scale=scale,
            confirm=confirm,
            on_failed=show_failed,
            on_error=show_error,
            on_changed=write_schema,
        )
    finally:
        write_records(transcript_path(out), conv.transcript)  # the repair round, whatever came of it
    if verbose:
        for line in _usage_lines(conv):
            console.print(styled((line, "dim")))
    if not any(outcome is o for o in shown):  # unchanged by the repair round: already shown
        print_outcome(console, outcome)
    return 0 if outcome.quality.passed else 1


def run_eval_command(
    prompts_file: Path,
    *,
    settings: Settings,
    data_root: Path | None,
    seed: int,
    scale: float,
    json_out: Path | None,
    console: Console,
) -> int:
    """Run every prompt, print one line each as it finishes, then the table and the rates."""
    prompts = load_eval_set(prompts_file)
    settings = resolve_model(settings)  # once: a server's only model, or the list of them in the error
    console.print(plain(f"{len(prompts)} prompt(s) against {settings.describe()}"))

    def progress(r: EvalResult) -> None:
        mark = ("✓", "green") if r.ready else ("✗", "red")
        error = f"  {r.error}" if r.error else ""
        console.print(styled(mark, f" {r.id} ({r.requests} requests, {r.seconds:.1f} s){error}"))

    def client() -> LLM:
        return OpenAIClient(settings)

    results = run_eval(
        prompts,
        client,
        data_root=data_root,
        seed=seed,
        scale=scale,
        turn_timeout=settings.llm_timeout,
        today=settings.today,
        on_result=progress,
    )
    view = Table(title="eval (first: valid on the first proposal; asked: questions)", title_justify="left")
    view.add_column("prompt", no_wrap=True)
    view.add_column("domain", no_wrap=True)
    for name in ("first", "repairs", "asked", "data", "quality", "requests", "tokens"):
        view.add_column(name, justify="right")
    for r in results:
        view.add_row(
            plain(r.id),
            plain(r.domain),
            "yes" if r.first_try_valid else "no",
            str(r.repairs),
            str(r.questions),
            "yes" if r.generated else "no",
            "–" if r.quality is None else f"{r.quality:.1f}",
            str(r.requests),
            f"{r.tokens:,}",
        )
    console.print(view)
    summary = summarise(results)
    quality = "–" if summary["mean_quality"] is None else format(summary["mean_quality"], ".1f")
    line = (
        f"first-try valid {summary['first_try_valid_rate']:.0%}, ready {summary['ready_rate']:.0%}, "
        f"generated {summary['generation_success_rate']:.0%}, validated {summary['validated_rate']:.0%}, "
        f"mean repairs {summary['mean_repairs']:.2f}, mean questions {summary['mean_questions']:.2f}, "
        f"mean quality {quality}; {summary['requests']} requests, {summary['tokens']:,} tokens"
    )
    console.print(plain(line), soft_wrap=True)
    if json_out is not None:
        report = redact_data({"summary": summary, "results": [r.to_dict() for r in results]})
        json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
