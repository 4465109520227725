"""The conversations the cassettes hold: what the person says, and (for authored cassettes) what the
model answers, step by step. Tests replay them; `author_cassettes` records them.

`live=True` marks scenarios that make sense against a real model too (a person asks, a model answers);
they can be re-recorded with `--record-mode=rewrite`. Fault scenarios (invalid JSON, 429, refusals…)
only exist as authored cassettes: a live model cannot be made to fail on cue."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.nl.conversation import Conversation
from datagen.nl.events import Event, State
from tests.nl.wire import Raw, Refusal, Reply, Step, rate_limited, server_error

REPLIES = Path(__file__).resolve().parent / "replies"


def turn(name: str, edit: Callable[[dict[str, Any]], None] | None = None, **fields: Any) -> dict[str, Any]:
    """A reply from tests/nl/replies, optionally with its schema edited and other fields replaced."""
    data = copy.deepcopy(json.loads((REPLIES / f"{name}.json").read_text(encoding="utf-8")))
    if edit is not None:
        edit(data["schema"])
    return {**data, **fields}


def _fk_to_missing_table(schema: dict[str, Any]) -> None:
    schema["constraints"]["foreign_keys"] = [{"from": "enrollments.course_id", "to": "classes.course_id"}]


def _fee_share(schema: dict[str, Any]) -> None:
    columns = schema["nodes"][2]["columns"]
    columns[-1] = {
        "name": "fee_share",
        "type": "float",
        "generator": {"expression": {"code": "fee / amount"}},
    }


def _pets_with_parents(schema: dict[str, Any]) -> None:
    """The slip the evaluation found: an entity (it has a segment) that also names its parent."""
    schema["nodes"][1]["parents"] = ["owners"]


def _four_thousand_pets(schema: dict[str, Any]) -> None:
    schema["nodes"][1]["rows"] = 4000


def _wrong_cohort_column(schema: dict[str, Any]) -> None:
    schema["nodes"][0]["vintage_behavior"]["created_at_column"] = "signup_at"


def _two_years_refunds_vip(schema: dict[str, Any]) -> None:
    schema["timeframe"] = {"start": "2023-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    schema["nodes"][0]["segment_behavior"] = {
        "segment_column": "segment",
        "behaviors": {"vip": {"fanout_multiplier": 3.0}, "regular": {"fanout_multiplier": 1.0}},
    }
    schema["nodes"].append(
        {
            "id": "refunds",
            "kind": "fact",
            "pk": "refund_id",
            "parents": ["orders"],
            "fanout": {"distribution": "poisson", "lambda": 0.06, "min": 0, "max": 1},
            "columns": [
                {"name": "refund_id", "type": "int", "generator": {"sequence": {"start": 1}}},
                {"name": "order_id", "type": "int", "generator": {"lookup": {"from": "orders.order_id"}}},
                {
                    "name": "refunded_at",
                    "type": "datetime",
                    "generator": {"datetime_series": {"within": "timeframe", "freq": "h"}},
                },
                {
                    "name": "amount",
                    "type": "float",
                    "generator": {"lookup": {"from": "orders.amount", "on": {"order_id": "order_id"}}},
                },
                {
                    "name": "reason",
                    "type": "string",
                    "generator": {
                        "choice": {"choices": ["damaged", "late", "changed_mind"], "weights": [0.3, 0.2, 0.5]}
                    },
                },
            ],
        }
    )
    schema["constraints"]["inequalities"] = [
        {"left": "refunds.refunded_at", "op": ">=", "right": "orders.ordered_at"}
    ]


ASK_TIMEFRAME = {
    "type": "ask",
    "questions": [
        {
            "id": "timeframe",
            "text": "What period should the data cover?",
            "kind": "choice",
            "options": ["the last 12 months", "the last 2 years", "the last 5 years"],
            "default": "the last 2 years",
        }
    ],
}
ASK_TWO = {
    "type": "ask",
    "questions": [
        {
            "id": "period",
            "text": "Which period should the campaigns run in?",
            "kind": "choice",
            "options": ["one quarter", "half a year", "a full year"],
            "default": "one quarter",
        },
        {
            "id": "funnel",
            "text": "Should clicks lead on to sign-ups and purchases (a conversion funnel)?",
            "kind": "yes_no",
            "options": [],
            "default": "yes",
        },
    ],
}


@dataclass(frozen=True)
class Scenario:
    name: str
    mode: str
    about: str
    steps: list[Step]
    prompt: str
    answers: list[dict[str, str]] = field(default_factory=list)
    refinements: list[str] = field(default_factory=list)
    live: bool = False

    @property
    def cassette(self) -> str:
        return f"{self.name}.yaml"


def drive(conv: Conversation, scenario: Scenario) -> list[list[Event]]:
    """Say what the person says; answer questions in order (defaults when the scenario has none left)."""
    answers = iter(scenario.answers)
    steps = [conv.send(scenario.prompt)]
    for text in [None, *scenario.refinements]:
        if text is not None:
            steps.append(conv.send(text))
        while conv.state == State.ASKING:
            steps.append(conv.answer(next(answers, {})))
    return steps


_SCENARIOS = [
    Scenario(
        "domain_retail_coffee_chain",
        "TOOLS",
        "retail: straight to a valid schema on the first try",
        [Reply(turn("coffee_chain"))],
        "A coffee chain with about 40 stores: the stores, the menu and every sale at the till for 2024. "
        "Mornings are the rush hour and weekends are busier.",
        live=True,
    ),
    Scenario(
        "domain_healthcare_clinic",
        "TOOLS",
        "healthcare: straight to a valid schema with a segment behaviour",
        [Reply(turn("clinic"))],
        "Patients, doctors and appointments for an outpatient clinic over two years. Some appointments are "
        "no-shows, and older patients come more often.",
        live=True,
    ),
    Scenario(
        "domain_iot_sensors",
        "JSON_SCHEMA",
        "IoT: straight to a valid schema, JSON_SCHEMA mode (response_format), modifiers",
        [Reply(turn("sensors"))],
        "Hourly temperature readings from 200 sensors in a factory for June 2024, with a daily cycle, a slow "
        "upward drift and the odd spike from a faulty sensor.",
        live=True,
    ),
    Scenario(
        "domain_hr_staff",
        "TOOLS",
        "HR: straight to a valid schema with a vocab table and a self-reference (managers)",
        [Reply(turn("people"))],
        "Our company's staff: departments, 600 employees with their managers, and a salary record per year "
        "from 2022 to 2024.",
        live=True,
    ),
    Scenario(
        "domain_logistics_parcels",
        "TOOLS",
        "logistics: straight to a valid schema with a stage funnel",
        [Reply(turn("parcels"))],
        "Parcel deliveries for the first half of 2024: the senders, each shipment and its tracking events "
        "from accepted to delivered. Business customers send more.",
        live=True,
    ),
    Scenario(
        "ask_one_question",
        "TOOLS",
        "one clarifying question (no timeframe given), answered, then a valid schema",
        [Reply(ASK_TIMEFRAME), Reply(turn("saas_usage"))],
        "Usage data for our note-taking app, with realistic retention.",
        answers=[{"timeframe": "the last 2 years"}],
        live=True,
    ),
    Scenario(
        "ask_two_questions",
        "JSON_SCHEMA",
        "two clarifying questions at once, answered; afterwards only Propose is offered",
        [Reply(ASK_TWO), Reply(turn("marketing"))],
        "Marketing data: campaigns, clicks and conversions.",
        answers=[{"period": "1", "funnel": "y"}],
        live=True,
    ),
    Scenario(
        "invalid_json_then_repaired",
        "TOOLS",
        "the first reply is truncated JSON; the re-ask carries the parse error; the second is valid",
        [Raw(json.dumps({"turn": turn("school")})[:1500]), Reply(turn("school"))],
        "An online course platform for one school year: students, courses and enrollments with grades.",
    ),
    Scenario(
        "check_error_then_repaired",
        "TOOLS",
        "a foreign key to a missing table fails `datagen check`; the repair request carries the error",
        [Reply(turn("school", _fk_to_missing_table)), Reply(turn("school"))],
        "An online course platform for one school year: students, courses and enrollments with grades.",
    ),
    Scenario(
        "preflight_error_then_repaired",
        "TOOLS",
        "the schema checks but the sample has inf values (division by zero); repaired on the second try",
        [Reply(turn("bank_preflight_bad")), Reply(turn("bank_preflight_bad", _fee_share))],
        "Retail banking for 2024: customers, their accounts and card transactions, with the fee of each.",
    ),
    Scenario(
        "repeated_problems_then_simplified",
        "TOOLS",
        "the same behaviour-block error three times: the second repair sends the schema with the failing "
        "part cut; when that brings the same error back, the simplifier drops vintage_behavior and says so",
        [Reply(turn("saas_usage", _wrong_cohort_column)) for _ in range(3)],
        "Usage data for our note-taking app over two years, with realistic retention.",
    ),
    Scenario(
        "entity_with_parents_kept",
        "TOOLS",
        "an entity with a segment that also names a parent: kept an entity holding the foreign key as a "
        "lookup (its 3,000 rows and its segment kept), the fix reported; the next message tells the model",
        [
            Reply(turn("vet_clinic", _pets_with_parents)),
            Reply(turn("vet_clinic", _four_thousand_pets, summary="Now 4,000 pets.")),
        ],
        "A vet clinic over the last 18 months: 2,000 owners, 3,000 pets and their visits; dogs come twice "
        "as often as cats.",
        refinements=["Make it 4,000 pets."],
    ),
    Scenario(
        "rate_limited_then_ok",
        "TOOLS",
        "429 with retry-after, retried after the pause inside the budget, then a valid schema",
        [rate_limited(1), Reply(turn("bookshop"))],
        "Customers and orders of an online bookshop for 2024.",
    ),
    Scenario(
        "endpoint_errors_exhaust_budget",
        "TOOLS",
        "429s and 5xx on every request: exactly 8 requests, then a clear failure",
        [rate_limited(1), server_error(503), server_error(500), rate_limited(2)] * 2,
        "Customers and orders of an online bookshop for 2024.",
    ),
    Scenario(
        "refusal",
        "JSON_SCHEMA",
        "the model refuses (structured-outputs refusal field): a clear failure, no retry",
        [Refusal("I'm sorry, but I can't help with creating records about real, identifiable people.")],
        "The real employees of ACME Corp with their home addresses and social security numbers.",
    ),
    Scenario(
        "refinement",
        "TOOLS",
        "a valid schema, then an edit (two years, refunds, VIP 3x) reported as a diff",
        [
            Reply(turn("bookshop")),
            Reply(
                turn(
                    "bookshop",
                    _two_years_refunds_vip,
                    summary="Now two years (2023–2024), with refunds for about 6 % of orders and VIP "
                    "customers ordering three times as often as regular ones.",
                    assumptions=[
                        "2023–2024",
                        "1,500 customers",
                        "refunds are full refunds",
                        "10 % of customers are VIPs",
                    ],
                )
            ),
        ],
        "Customers and orders of an online bookshop for 2024.",
        refinements=["Make it two years, add refunds, and VIP customers should order three times as often."],
        live=True,
    ),
]
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _SCENARIOS}
# `datagen eval` over tests/nl/eval_small.yaml: the first prompt goes straight through, the second asks.
EVAL_STEPS: list[Step] = [Reply(turn("coffee_chain")), Reply(ASK_TIMEFRAME), Reply(turn("saas_usage"))]
