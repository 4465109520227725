"""The conversation both front ends drive: request → (maybe) ask → propose → deterministic fixes →
check → preflight → repair (≤ 3 rounds) → simplify → ready → refine …

It is UI-agnostic and synchronous: a CLI calls it directly, a TUI from a worker thread. Every step is
reported as an `Event` (returned, and passed to `on_event` as it happens). The model is reached only
through the injected `LLM`. A turn is one thing the person asked for, until it has a schema: the
model's questions and their answers, and one repair round after the full data failed validation
(`fix_data`), belong to it. A turn may send at most `max_requests` requests, whatever happens
(re-asks, repairs, retries after 429/5xx/timeouts all count) and stops at `max_turn_tokens` tokens;
each stretch of it waiting on the model ends within `turn_timeout` seconds of wall-clock time (each
request gets what is left of it; a retry is not started when its pause would not fit) — the time the
person takes to answer, or the data takes to generate, is not counted. Secrets are redacted from
every reply as it arrives, so a key the model echoes never reaches the schema, the data or the
transcript.

What the model sees is kept small and bounded: the system prompt (with today's date), the person's
request (with the questions and answers), the current schema when editing, and — on a repair — only
its latest reply as it sent it, the fixes made to it and the problems found, never the whole history
of failed attempts. When a repair brings back the same problems, the next request changes approach
(the schema with the failing part cut out); when that does not help either, the simplifier takes
over. Nothing datagen changes in a reply goes unsaid: the model reads the fixes in its next message,
the person in the events."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from datagen.dsl import Schema
from datagen.errors import InputError, LLMError
from datagen.nl.client import LLM, Message, Refusal, TransientError, UnreadableReply, Usage
from datagen.nl.diff import schema_diff
from datagen.nl.events import Event, EventKind, State, TurnStats
from datagen.nl.fixes import apply_fixes
from datagen.nl.prompts import Prompts, default_prompts
from datagen.nl.simplify import Simplified, simplify
from datagen.nl.transcript import read_records, write_records
from datagen.nl.trial import Problem, Trial, try_schema
from datagen.nl.turns import MAX_QUESTIONS, Ask, ProposalTurn, Propose, Question, Turn, turn_json
from datagen.redact import redact_data
from datagen.settings import DEFAULT_LLM_TIMEOUT

M = TypeVar("M", bound=BaseModel)
MAX_REQUESTS = 8
MAX_REPAIRS = 3
MAX_TURN_TOKENS = 250_000
_YES = {"y", "yes", "true", "ok", "sure"}
_NO = {"n", "no", "false", "nope"}


TIME_HINT = (
    "check that the server is running and not overloaded (a smaller model answers faster), or allow "
    "more time with --timeout SECONDS or DATAGEN_LLM_TIMEOUT"
)


class BudgetExhausted(LLMError):
    """The per-turn request or token limit is reached."""


class TurnTimedOut(LLMError):
    """The turn's wall-clock limit is used up (never retried: there is no time left to retry in)."""


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _without_secrets(reply: M) -> M:
    """The reply with every string redacted (the model may echo the key into a summary, a description
    or a generator name); the same object when there was nothing to redact."""
    data = reply.model_dump(mode="json", by_alias=True)
    clean = redact_data(data)
    if clean == data:
        return reply
    try:
        return type(reply).model_validate(clean)
    except PydanticValidationError as exc:
        raise UnreadableReply(
            "- (reply): it quoted a secret (now redacted) where the reply format allows no such text",
            raw=str(clean),
            usage=Usage(),
        ) from exc


def _user(text: str) -> Message:
    return {"role": "user", "content": text}


def _assistant(text: str) -> Message:
    return {"role": "assistant", "content": text}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _tables(schema: Schema) -> list[dict[str, Any]]:
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "rows": n.row_count if not n.parents and n.kind != "vocab" else None,
            "parents": n.parents or [],
            "columns": n.column_names,
        }
        for n in schema.nodes
    ]


def _problem_lines(problems: list[Problem]) -> str:
    return _lines([str(p) for p in problems])


def _lines(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _mentions(text: str, words: list[str]) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", text, re.IGNORECASE) for w in words)


def honest(proposal: Propose, result: Simplified) -> Propose:
    """The proposal as the simplified schema really is: the summary starts by saying plainly what the
    data does not have, each assumption that names a dropped part (a segment, a stage, a curve …)
    says that it may not hold any more, and one line per dropped part follows."""
    lost = "; ".join(result.dropped)
    summary = f"Simplified: the data does not have {lost} (it could not be made to work). {proposal.summary}"
    assumptions = [
        f"may not hold (dropped from the schema): {a}" if _mentions(a, result.words) else a
        for a in proposal.assumptions
    ]
    dropped = [f"simplified: dropped {d}" for d in result.dropped]
    return proposal.model_copy(update={"summary": summary, "assumptions": [*assumptions, *dropped]})


def normalise_answer(question: Question, given: str) -> str:
    """A typed answer in the question's terms: y/n for yes/no, an option by text or 1-based number;
    anything else is kept as the person's own words."""
    text = given.strip()
    low = text.lower()
    if question.kind == "yes_no" and low in _YES | _NO:
        return "yes" if low in _YES else "no"
    for option in question.options:
        if option.lower() == text.lower():
            return option
    if text.isdigit() and 1 <= int(text) <= len(question.options):
        return question.options[int(text) - 1]
    return text


class Conversation:
    """One person, one dataset. See the module docstring for the flow; `state`, `schema`, `document`,
    `pending_questions`, `usage` and `last_turn` say where it stands."""

    def __init__(
        self,
        client: LLM,
        *,
        on_event: Callable[[Event], None] | None = None,
        prompts: Prompts | None = None,
        max_requests: int = MAX_REQUESTS,
        max_repairs: int = MAX_REPAIRS,
        max_turn_tokens: int = MAX_TURN_TOKENS,
        preflight_rows: int = 50,
        seed: int = 42,
        backoff: float = 1.0,
        turn_timeout: float = DEFAULT_LLM_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        today: date | None = None,
        on_partial: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.client = client
        self.on_event = on_event
        self.prompts = prompts or default_prompts()
        self.max_requests = max_requests
        self.max_repairs = max_repairs
        self.max_turn_tokens = max_turn_tokens
        self.preflight_rows = preflight_rows
        self.seed = seed
        self.backoff = backoff
        self.turn_timeout = turn_timeout  # seconds of wall-clock time for one user turn, all included
        self.sleep = sleep
        self.clock = clock
        self.today = today or datetime.now(UTC).date()  # "the last 18 months" ends here
        self.on_partial = on_partial  # the schema as the model writes it; needs a client that streams
        self._deadline = clock() + turn_timeout
        self.state = State.IDLE
        self.schema: Schema | None = None
        self.document: dict[str, Any] | None = None
        self.summary = ""
        self.assumptions: list[str] = []
        self.pending_questions: list[Question] = []
        self.last_turn = TurnStats()
        self.turns: list[TurnStats] = []
        self._recorded_turn: TurnStats | None = None  # the turn whose usage the transcript last holds
        self.questions_asked = 0
        self._brief: list[Message] = []  # the request, questions and answers: context for every turn
        self._defaults: list[str] = []  # questions answered by their default
        self._draft: tuple[dict[str, Any], list[Problem]] | None = None  # a loaded schema that fails
        self._untold_fixes: list[str] = []  # fixes to the accepted schema the model has not read yet
        self._records: list[dict[str, Any]] = [{"kind": "start", "at": _now()}]
        self._events: list[Event] = []

    # ------------------------------------------------------------------ public API
    def send(self, text: str) -> list[Event]:
        """The person's words: the first request, a typed answer to pending questions, or an edit."""
        text = text.strip()
        if not text:
            raise InputError('say what data you need, e.g. "an online shop\'s customers and orders"')
        if self.state == State.ASKING:
            return self._answered({q.id: text for q in self.pending_questions}, typed=text)
        self._record({"kind": "user", "text": text})
        if self.document is None and self._draft is None:
            self._brief = [_user(text)]
            return self._run(self._brief, allow_ask=True)
        return self._run(self._edit_base(text), allow_ask=False)

    def answer(self, answers: Mapping[str, str] | None = None) -> list[Event]:
        """Answers by question id; a missing or empty answer takes the question's default (reported as
        an assumption). `answer()` with nothing takes every default — what `--yes` does."""
        if self.state != State.ASKING:
            raise InputError("there is no open question to answer")
        return self._answered(dict(answers or {}))

    def load_schema(self, document: Any) -> list[Event]:
        """Open an existing schema without the model: ready if it checks and generates, otherwise kept
        as a draft whose problems the next `send()` asks the model to fix."""
        self._begin()
        self._record({"kind": "loaded", "document": document})
        self._restore_loaded(document)
        if self.state == State.READY:
            assert self.schema is not None  # ready means the schema checked
            self._emit("ready", self._ready_text(), {"tables": _tables(self.schema), "diff": None})
        else:
            problems = self._draft[1] if self._draft else []
            self._emit(
                "failed",
                f"the schema has {len(problems)} problem(s); describe a change (or say 'fix it') and the "
                "model will repair it",
                {"reason": "invalid", "problems": [str(p) for p in problems]},
            )
        return self._finish()

    def save(self, path: str | Path) -> None:
        """Write the transcript (JSONL); `Conversation.resume(path, client)` continues from it."""
        write_records(Path(path), self._records)

    @classmethod
    def resume(cls, path: str | Path, client: LLM, **options: Any) -> Conversation:
        """Rebuild a conversation from its transcript: request, questions, answers, current schema."""
        conv = cls(client, **options)
        records = read_records(Path(path))
        conv._records = records
        latest: dict[str, Any] | None = None  # the last schema shown; only it is checked again
        for rec in records:
            if rec.get("kind") in ("schema", "loaded"):
                latest = rec
            conv._replay(rec, has_schema=latest is not None)
        if latest is not None:
            conv._restore_loaded(latest["document"])
            if latest["kind"] == "schema" and conv.state == State.READY:
                conv.summary, conv.assumptions = latest.get("summary", ""), latest.get("assumptions") or []
                conv._untold_fixes = list(latest.get("fixes") or [])
        if conv.turns:
            conv._recorded_turn = conv.last_turn = conv.turns[-1]
        return conv

    @property
    def transcript(self) -> list[dict[str, Any]]:
        return list(self._records)

    @property
    def questions_left(self) -> int:
        return MAX_QUESTIONS - self.questions_asked

    # ------------------------------------------------------------------ turns
    def _answered(self, answers: dict[str, str], typed: str | None = None) -> list[Event]:
        lines, chosen, defaulted = [], {}, []
        for q in self.pending_questions:
            given = (answers.get(q.id) or "").strip()
            value = normalise_answer(q, given) if given else q.default
            if not given:
                defaulted.append(f"{q.text} → {q.default} (default)")
            chosen[q.id] = value
            lines.append(f"- {q.text} → {value}")
        message = self.prompts.text("answers", answers="\n".join(lines))
        self._brief.append(_user(message))
        self._defaults += defaulted
        self.pending_questions = []
        self.state = State.IDLE
        self._record(
            {"kind": "answers", "answers": chosen, "typed": typed, "defaults": defaulted, "message": message}
        )
        return self._run(self._brief, allow_ask=True, preface=defaulted, continuing=True)

    def fix_data(
        self, failures: list[str], *, rows: Mapping[str, int] | None = None, stopped: bool = False
    ) -> list[Event]:
        """The dataset generated from the current schema failed validation (`failures`: the failed
        checks), or generating it `stopped` with an error (`failures`: that error): one more round for
        the model, inside the budget of the turn that made the schema. Ready with the corrected schema,
        or — when the model cannot fix it — with the schema as it was."""
        if self.state != State.READY or self.document is None:
            raise InputError("there is no schema whose data could be fixed")
        problems = "\n".join(f"- {f}" for f in failures)
        if stopped:
            feedback = self.prompts.text("repair_generation", problems=problems)
            said = "generating the data stopped with an error"
        else:
            where = ", ".join(f"{table}: {n:,} rows" for table, n in (rows or {}).items()) or "all tables"
            feedback = self.prompts.text("repair_data", rows=where, problems=problems)
            said = f"the data failed {len(failures)} check(s)"
        base = [*self._brief, _assistant(turn_json(self._current())), _user(self._with_untold(feedback))]
        self._begin(continuing=True)
        self.last_turn.data_repairs += 1
        self._emit(
            "progress",
            f"{said}; asking the model to fix the schema",
            {"stage": "data_repair", "problems": failures},
        )
        return self._run(base, allow_ask=False, continuing=None, repairing=True)

    def _current(self) -> Propose:
        assert self.document is not None
        return Propose(
            type="propose", summary=self.summary, assumptions=self.assumptions, schema_=self.document
        )

    def _with_untold(self, text: str) -> str:
        """`text` after the fixes datagen made to the accepted schema (the schema the model is shown
        already has them). They are said until a new schema is accepted, so a request that failed
        does not leave them unsaid."""
        if not self._untold_fixes:
            return text
        fixed = self.prompts.text(
            "fixed", which="last proposal (the schema above includes them)", fixes=_lines(self._untold_fixes)
        )
        return f"{fixed}\n\n{text}"

    def _edit_base(self, request: str) -> list[Message]:
        instruction = self.prompts.text("refine", request=request)
        if self.document is not None:
            return [
                *self._brief,
                _assistant(turn_json(self._current())),
                _user(self._with_untold(instruction)),
            ]
        assert self._draft is not None
        draft, problems = self._draft
        current = Propose(type="propose", summary="the schema as loaded", schema_=draft)
        note = f"\n\nIt currently has these problems; fix them too:\n{_problem_lines(problems)}"
        return [*self._brief, _assistant(turn_json(current)), _user(instruction + note)]

    def _run(
        self,
        base: list[Message],
        *,
        allow_ask: bool,
        preface: list[str] | None = None,
        continuing: bool | None = False,
        repairing: bool = False,
    ) -> list[Event]:
        """One stretch of a turn: a new turn, or (`continuing`) the answers to the model's questions;
        None when the caller has begun it already."""
        if continuing is not None:
            self._begin(continuing=continuing)
        for line in preface or []:
            self._emit("message", f"assumed: {line}", {"assumption": line})
        try:
            self._loop(base, allow_ask and self.questions_left > 0, repairing=repairing)
        except Refusal as exc:
            self._fail(f"the model declined to answer: {exc.reason}", "refused")
        except BudgetExhausted as exc:
            self._fail(exc.message, "budget")
        except TurnTimedOut as exc:
            self._fail(exc.message, "timeout", hint=exc.hint)
        except TransientError as exc:
            spent = self.turn_timeout - self._remaining()
            self._fail(
                f"{exc.message}; gave up after {self.last_turn.requests} request(s) and "
                f"{_seconds(spent)} of this turn (limits: {self.max_requests} requests, "
                f"{_seconds(self.turn_timeout)})",
                exc.kind,
                hint="try again in a minute; check that the endpoint is up (OPENAI_BASE_URL)",
            )
        except LLMError as exc:
            self._fail(exc.message, "endpoint", hint=exc.hint)
        return self._finish()

    def _loop(self, base: list[Message], allow_ask: bool, *, repairing: bool = False) -> None:
        """Propose, check, repair; `repairing`: the first reply is itself a repair (of the data), so it
        does not count as a first proposal, and failing keeps the schema that was there."""
        system = {"role": "system", "content": self.prompts.system(self.today)}
        first = [*base]
        if allow_ask:
            note = f"\n\n(You may ask up to {self.questions_left} question(s), only if essential.)"
            first[-1] = _user(first[-1]["content"] + note)
        messages: list[Message] = [system, *first]
        model: type[Turn] | type[ProposalTurn] = Turn if allow_ask else ProposalTurn
        candidate: tuple[Propose, dict, list[str], Trial] | None = None
        history: list[list[str]] = []
        changed_approach = False
        for round_ in range(self.max_repairs + 1):
            approach = ""
            try:
                reply = self._request(messages, model).turn
            except UnreadableReply as bad:
                reply_text, problems = bad.raw or "(an empty reply)", bad.problems
                feedback = self.prompts.text("repair_unreadable", problems=bad.problems)
                self._emit("progress", "the model's reply could not be read", {"problems": problems})
                history.append([problems])
                if round_ == 0 and not repairing:
                    self.last_turn.first_try_valid = False
                    self.last_turn.first_problems = [problems]
            else:
                if isinstance(reply, Ask):
                    self._ask(reply, base)
                    return
                candidate = self._consider(reply, round_, judged=not repairing)
                proposal, doc, notes, ev = candidate
                if ev.ok:
                    self._accept(proposal, ev, notes, history)
                    return
                reply_text = turn_json(proposal)  # as the model sent it; the fixes are listed below
                found = [str(p) for p in ev.problems]
                repeated = bool(history) and set(found) == set(history[-1])
                history.append(found)
                if repeated and changed_approach:
                    break  # a new approach brought the same problems back too: simplify
                if repeated:
                    changed_approach = True
                    approach = "the same problems again, so trying another way; "
                    feedback = self._stuck_feedback(doc, ev)
                else:
                    template = "repair_check" if ev.stage == "check" else "repair_preflight"
                    feedback = self.prompts.text(template, problems=_problem_lines(ev.problems))
                if notes:
                    fixed = self.prompts.text(
                        "fixed", which="reply (shown above as you sent it)", fixes=_lines(notes)
                    )
                    feedback = f"{fixed}\n\n{feedback}"
            if round_ == self.max_repairs:
                break
            self.last_turn.repairs += 1
            self._emit(
                "progress",
                f"found {len(history[-1])} problem(s); {approach}asking the model to fix them "
                f"(repair {round_ + 1} of {self.max_repairs})",
                {"stage": "repair", "round": round_ + 1, "problems": history[-1], "stuck": bool(approach)},
            )
            messages = [system, *base, _assistant(reply_text), _user(feedback)]
            model = ProposalTurn
        if repairing:
            self._fail(
                "the model could not fix the schema for the data's failed checks",
                "invalid",
                problems=history[-1] if history else [],
            )
            return
        self._give_up(candidate, history)

    def _stuck_feedback(self, doc: dict, ev: Trial) -> str:
        """The same problems came back: show the schema with the failing part cut out (when that
        gives one that works), so the model starts from something that works instead of repeating."""
        cut = simplify(doc, rows=self.preflight_rows, seed=self.seed)
        text = ""
        if cut.ok and cut.dropped:
            text = (
                self.prompts.text(
                    "repair_cut",
                    dropped="; ".join(cut.dropped),
                    schema=json.dumps(cut.document, separators=(",", ":"), ensure_ascii=False),
                )
                + "\n\n"
            )
        return self.prompts.text("repair_stuck", problems=_problem_lines(ev.problems), cut=text)

    def _consider(
        self, proposal: Propose, round_: int, *, judged: bool = True
    ) -> tuple[Propose, dict, list[str], Trial]:
        self.last_turn.proposals += 1
        doc, notes = apply_fixes(proposal.schema_)
        tables = [n.get("id") for n in doc.get("nodes") or [] if isinstance(n, dict)]
        self._emit(
            "proposed",
            f"the model proposed {len(tables)} table(s): {', '.join(map(str, tables))}",
            {
                "round": round_,
                "tables": tables,
                "summary": proposal.summary,
                "assumptions": proposal.assumptions,
            },
        )
        self._emit("progress", f"checking the schema and generating a {self.preflight_rows}-row sample")
        ev = try_schema(doc, rows=self.preflight_rows, seed=self.seed)
        if round_ == 0 and judged:
            self.last_turn.first_try_valid = ev.ok
            self.last_turn.first_problems = [str(p) for p in ev.problems]
        return proposal, doc, notes, ev

    def _give_up(self, candidate: tuple[Propose, dict, list[str], Trial] | None, history: list) -> None:
        if candidate is None:
            self._fail(
                f"the model's replies could not be read, even after {self.last_turn.repairs} repair round(s)",
                "unreadable",
                problems=history[-1] if history else [],
                hint="a larger model, or another DATAGEN_LLM_MODE, usually helps",
            )
            return
        proposal, doc, notes, _ = candidate
        result = simplify(doc, rows=self.preflight_rows, seed=self.seed)
        if not result.ok or not result.dropped:
            self._fail(
                f"the schema still has problems after {self.last_turn.repairs} repair round(s)",
                "invalid",
                problems=[str(p) for p in result.evaluation.problems],
                hint="describe the data more simply, or ask for fewer behaviours at once",
            )
            return
        self.last_turn.simplified = True
        self._emit(
            "simplified",
            "to get a working schema, dropped: " + "; ".join(result.dropped),
            {"dropped": result.dropped, "problems": history[-1] if history else []},
        )
        self._accept(honest(proposal, result), result.evaluation, notes, history)

    def _ask(self, ask: Ask, base: list[Message]) -> None:
        questions = ask.questions[: self.questions_left]
        for extra in ask.questions[self.questions_left :]:
            self._defaults.append(f"{extra.text} → {extra.default} (default; no more questions allowed)")
        self.questions_asked += len(questions)
        self.last_turn.questions += len(questions)
        self.pending_questions = questions
        self.state = State.ASKING
        shown = Ask(type="ask", questions=questions)
        self._brief = [*base, _assistant(turn_json(shown))]
        self._record(
            {
                "kind": "asked",
                "questions": [q.model_dump() for q in questions],
                "message": self._brief[-1]["content"],
            }
        )
        self._emit(
            "asked",
            "\n".join(q.text for q in questions),
            {"questions": [q.model_dump() for q in questions], "left": self.questions_left},
        )

    def _accept(self, proposal: Propose, ev: Trial, notes: list[str], history: list[list[str]]) -> None:
        before = self.document
        self.document, self.schema = ev.checked.document, ev.checked.schema
        assert self.schema is not None  # only a trial that checked is accepted
        self.summary = proposal.summary
        self.assumptions = [*proposal.assumptions, *self._defaults]
        self._draft = None
        self._untold_fixes = list(notes)  # the model reads them with its next message
        self.state = State.READY
        if notes:
            self.last_turn.fixes += len(notes)
            self._emit(
                "repaired",
                f"fixed {len(notes)} slip(s) without the model",
                {"source": "fixes", "fixes": notes},
            )
        if self.last_turn.repairs and not self.last_turn.simplified:
            self._emit(
                "repaired",
                f"the model fixed the problems in {self.last_turn.repairs} repair round(s)",
                {"source": "model", "rounds": self.last_turn.repairs, "problems": history},
            )
        diff = schema_diff(before, self.document) if before is not None else None
        self._record(
            {
                "kind": "schema",
                "document": self.document,
                "summary": self.summary,
                "assumptions": self.assumptions,
                "fixes": notes,
            }
        )
        self._emit(
            "ready",
            self._ready_text(),
            {
                "tables": _tables(self.schema),
                "summary": self.summary,
                "assumptions": self.assumptions,
                "warnings": [str(w) for w in ev.checked.warnings],
                "fixes": notes,
                "diff": diff.to_dict() if diff is not None else None,
                "diff_lines": diff.lines() if diff is not None else [],
                "turn": self.last_turn.to_dict(),
            },
        )

    def _ready_text(self) -> str:
        assert self.schema is not None
        names = ", ".join(n.id for n in self.schema.nodes)
        return f"schema ready: {len(self.schema.nodes)} table(s) ({names})"

    def _fail(
        self, text: str, reason: str, *, hint: str | None = None, problems: list[str] | None = None
    ) -> None:
        self.state = State.READY if self.document is not None else State.FAILED
        if self.document is not None:
            text += " (the previous schema is unchanged)"
        self._emit("failed", text, {"reason": reason, "hint": hint, "problems": problems or []})

    # ------------------------------------------------------------------ requests
    def _request(self, messages: list[Message], model: type[M]) -> M:
        """One reply; transient failures are retried with exponential backoff inside the turn's budget."""

        def attempt() -> M:
            turn = self.last_turn
            if turn.requests >= self.max_requests:
                raise BudgetExhausted(
                    f"stopped: this turn used its {self.max_requests} requests to the model "
                    f"({turn.repairs} repair round(s))"
                )
            if turn.total_tokens >= self.max_turn_tokens:
                raise BudgetExhausted(
                    f"stopped: this turn used {turn.total_tokens:,} tokens (limit {self.max_turn_tokens:,})"
                )
            remaining = self._remaining()
            if remaining <= 0:
                raise TurnTimedOut(
                    f"stopped: this turn used its {_seconds(self.turn_timeout)} time limit", hint=TIME_HINT
                )
            turn.requests += 1
            self._emit(
                "progress",
                f"asking the model (request {turn.requests} of {self.max_requests})",
                {"stage": "request", "request": turn.requests},
            )
            try:
                streaming = {"on_partial": self._partial_reply} if self.on_partial is not None else {}
                parsed, usage = self.client.complete(messages, model, timeout=remaining, **streaming)
            except (UnreadableReply, Refusal) as exc:
                self._count(exc.usage)
                raise
            except TransientError as exc:
                if self._remaining() <= 0:
                    raise TurnTimedOut(
                        f"{exc.message} — the time limit for one turn "
                        f"({_seconds(self.turn_timeout)}) is used up",
                        hint=TIME_HINT,
                    ) from None
                raise
            self._count(usage)
            return _without_secrets(parsed)

        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=lambda state: self._out_of_requests(state) or self._out_of_time(state),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._announce_retry,
            reraise=True,
        )
        return retrying(attempt)

    def _partial_reply(self, reply: dict[str, Any]) -> None:
        """A reply still being written: its schema so far (redacted) goes to `on_partial`."""
        turn = reply.get("turn")
        if isinstance(turn, dict) and turn.get("type") == "propose" and isinstance(turn.get("schema"), dict):
            assert self.on_partial is not None
            self.on_partial(redact_data(turn["schema"]))

    def _out_of_requests(self, _: RetryCallState) -> bool:
        return self.last_turn.requests >= self.max_requests

    def _out_of_time(self, state: RetryCallState) -> bool:
        """No retry whose pause would end past the turn's deadline."""
        return self._remaining() <= (state.upcoming_sleep or 0.0)

    def _remaining(self) -> float:
        return self._deadline - self.clock()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = self.backoff * 2 ** (state.attempt_number - 1)
        hinted = getattr(exc, "retry_after", None) or 0.0
        return min(max(backoff, hinted), 30.0)

    def _announce_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self._emit(
            "progress",
            f"{exc}; retrying in {delay:.0f} s",
            {"stage": "retry", "error": str(exc), "wait": delay},
        )

    def _count(self, usage: Usage) -> None:
        self.last_turn.prompt_tokens += usage.prompt_tokens
        self.last_turn.completion_tokens += usage.completion_tokens

    # ------------------------------------------------------------------ bookkeeping
    @property
    def usage(self) -> Usage:
        """Requests and tokens of every turn so far."""
        total = Usage()
        for turn in self.turns:
            total.add(Usage(turn.requests, turn.prompt_tokens, turn.completion_tokens))
        return total

    def _begin(self, *, continuing: bool = False) -> None:
        """Start a turn, or (`continuing`) go on with the last one: its requests and tokens keep
        counting against the same limits, and only the clock starts again (the time the person took
        to answer, or the data took to generate, is not the model's)."""
        self._events = []
        if not (continuing and self.turns):
            self.last_turn = TurnStats()
            self.turns.append(self.last_turn)
        else:
            self.last_turn = self.turns[-1]
        self._deadline = self.clock() + self.turn_timeout

    def _finish(self) -> list[Event]:
        turn = self.last_turn
        if turn.requests:
            continues = self._recorded_turn is turn  # replaces the record of its earlier stretch
            self._record({"kind": "usage", **turn.to_dict(), **({"continues": True} if continues else {})})
            self._recorded_turn = turn
        events, self._events = self._events, []
        return events

    def _emit(self, kind: EventKind, text: str, data: dict[str, Any] | None = None) -> None:
        event = Event(kind, text, data or {})
        self._events.append(event)
        if kind != "progress":
            self._record({"kind": "event", "event": event.to_dict()})
        if self.on_event is not None:
            self.on_event(event)

    def _record(self, record: dict[str, Any]) -> None:
        self._records.append(record)

    def _restore_loaded(self, document: Any) -> None:
        ev = try_schema(document, rows=self.preflight_rows, seed=self.seed)
        if ev.ok:
            self.document, self.schema, self._draft = ev.checked.document, ev.checked.schema, None
            meta = self.document.get("metadata") or {}
            self.summary = str(meta.get("description") or meta.get("name") or "")
            self.assumptions = []
            self.state = State.READY
        else:
            self.document, self.schema = None, None
            self._draft = (document if isinstance(document, dict) else {}, ev.problems)
            self.state = State.FAILED

    def _replay(self, rec: dict[str, Any], *, has_schema: bool) -> None:
        """Rebuild the model's context and the question state from one record (schemas: see resume)."""
        kind = rec.get("kind")
        if kind == "user" and not has_schema:
            self._brief = [_user(rec["text"])]
        elif kind == "asked":
            self.pending_questions = [Question.model_validate(q) for q in rec["questions"]]
            self.questions_asked += len(self.pending_questions)
            self._brief.append(_assistant(rec["message"]))
            self.state = State.ASKING
        elif kind == "answers":
            self._brief.append(_user(rec["message"]))
            self._defaults += rec.get("defaults") or []
            self.pending_questions = []
            self.state = State.IDLE
        elif kind == "event" and rec["event"]["kind"] == "failed" and not has_schema:
            self.state = State.ASKING if self.pending_questions else State.FAILED
        elif kind == "usage":
            turn = TurnStats(**{k: v for k, v in rec.items() if k in TurnStats.__dataclass_fields__})
            if rec.get("continues") and self.turns:
                self.turns[-1] = turn  # the same turn, further on
            else:
                self.turns.append(turn)
        elif kind not in ("start", "event", "user", "schema", "loaded"):
            raise InputError(
                f"unknown conversation record '{kind}'", hint="was it written by a newer datagen?"
            )
