"""The DSL cheat sheet the model reads, generated from the schema models so it never drifts from them:
every feature the language lists (datagen.dsl.features) gets its own line.

A full JSON Schema of the DSL is ~34 kB; this compact notation carries the same keys, types and defaults
in a few kB: `{start?: int = 1, step?: int = 1}` — `?` marks an optional key, `= x` its default.

Knowing the keys is not knowing when to use them: the hand-written IDIOMS say when a real dataset
needs each coherent-world feature, each with a fragment the tests validate against its model."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from datagen.dsl import models as m
from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.expressions import FUNCTIONS
from datagen.dsl.features import BEHAVIOURS, GENERATORS, MODIFIERS, TARGETS, influence_names
from datagen.dsl.generators import DISTRIBUTION_PARAMS, PATTERN_LENGTHS

_SCALARS = {int: "int", float: "number", str: "string", bool: "bool", type(None): "null", Any: "any"}
_SKIP = {"comment", "schema_"}  # documentation everywhere; `$schema` is for editors
# Models described in a section of their own; elsewhere they are referred to by these names.
_NAMED: dict[Any, str] = {
    m.Metadata: "Metadata",
    m.Timeframe: "Timeframe",
    m.Node: "Node",
    m.Column: "Column",
    m.Fanout: "Fanout",
    m.Constraints: "Constraints",
    m.Targets: "Targets",
    **{block: block.__name__ for block in BEHAVIOURS},
    **{target: target.__name__ for target in TARGETS},
}
_GENERATOR_SET = frozenset(GENERATORS)


@dataclass(frozen=True)
class Idiom:
    """One habit of real data: when to use it, and a fragment of the model `kind` that shows how
    (the tests validate every fragment against that model)."""

    say: str
    kind: str  # column, generator, modifier, fanout, lifetime, activity, active_in, attribution
    fragment: dict[str, Any]


IDIOMS = (
    Idiom(
        "money: a float column with 2 decimals; a price also ends like a shop's (price_point last, after "
        "what scales it)",
        "column",
        {
            "name": "price",
            "type": "float",
            "decimals": 2,
            "generator": {"distribution": {"type": "lognormal", "params": {"mean": 3, "sigma": 0.5}}},
            "modifiers": [{"transform": "price_point", "args": {"endings": [0.99, 0.49]}}],
        },
    ),
    Idiom(
        "an email built from the row's name column (locale_from: a country column of the row, for "
        "names and cities)",
        "generator",
        {"faker": {"method": "email", "from": "full_name", "unique": True}},
    ),
    Idiom(
        "entities that churn/cancel/close get a lifetime: every descendant fact falls inside [start, end); "
        'end comes from the walk\'s terminal state, or "share" + "after" a duration; the end column '
        "is a nullable datetime_series placeholder; a fanout is then a rate over the life",
        "lifetime",
        {"start": "signup_at", "end": {"column": "cancelled_at", "walk": "subscription_events"}},
    ),
    Idiom(
        "heavy and light users: activity on the entity multiplies all its facts' rates (mean 1)",
        "activity",
        {"distribution": {"type": "gamma", "params": {"shape": 2, "scale": 1}}},
    ),
    Idiom(
        "usage only in some states (none while paused or after churn): active_in on a fact with a fanout; "
        "unlisted states weigh 0",
        "active_in",
        {"walk": "subscription_events", "states": {"active": 1.0}},
    ),
    Idiom(
        'a current plan/status on the entity (or the state at a sibling fact\'s own time: "at": its '
        "time column)",
        "generator",
        {"state_at": {"walk": "subscription_events", "at": "end"}},
    ),
    Idiom(
        "a total that agrees with its children: an order amount = sum of its lines (agg min of a child "
        "time: a first order date)",
        "generator",
        {"rollup": {"from": "order_lines.line_total", "agg": "sum"}},
    ),
    Idiom(
        "a running balance after each row, per parent",
        "generator",
        {"running": {"of": "signed_amount", "order_by": "booked_at", "start": "accounts.opening_balance"}},
    ),
    Idiom(
        "a related row of the same scope (a scooter of the trip's city), never an unrelated random row",
        "generator",
        {"lookup": {"from": "scooters.scooter_id", "on": {"city_id": "city_id"}, "pick": "random"}},
    ),
    Idiom(
        'a regular series ("every 10 minutes", daily readings): one row per period of the parent\'s '
        'life; the fact\'s first time column {"datetime_series": {"slot": true}} is the period\'s start',
        "fanout",
        {"every": "10min"},
    ),
    Idiom("exactly N children per parent", "fanout", {"distribution": "constant", "count": 3}),
    Idiom(
        "a chain (offer → sale): a fact whose parent is a fact, children only for matching parents; "
        "times increase along the chain",
        "fanout",
        {"distribution": "constant", "count": 1, "where": "status == 'accepted'"},
    ),
    Idiom(
        "a time inside a related row's window (a claim within its policy)",
        "generator",
        {"datetime_series": {"within": {"start": "policies.start_date", "end": "policies.end_date"}}},
    ),
    Idiom(
        "times are continuous instants; snap only for values on a grid (daily snapshots, hourly meters)",
        "generator",
        {"datetime_series": {"freq": "D", "snap": True}},
    ),
    Idiom(
        "touches (ads, emails) before a purchase: attribution on the conversions fact (no fanout; its "
        'first parent also parents the touches); "credit_table": "<new id>" adds each touch\'s credit '
        "(ground truth)",
        "attribution",
        {
            "touches": "ad_touches",
            "channel_column": "channel",
            "time_column": "touched_at",
            "lookback": {"days": 14},
            "base_rate": 0.05,
            "channel_lift": {"search": 1.8, "display": 0.8},
        },
    ),
    Idiom(
        "a helper other columns read (a delay, a noise factor) kept out of the files",
        "column",
        {
            "name": "delay_hours",
            "type": "float",
            "output": False,
            "generator": {"distribution": {"type": "exponential", "params": {"scale": 6}}},
        },
    ),
)
RULES = (
    "an inequality joins a row with itself, a parent at any depth or a table it looks up without on; the "
    "engine makes "
    "it hold by building one side (a datetime_series, a distribution, an expression; `==` only a copy) "
    "or check refuses it",
    "a distribution's clamp draws again inside the bounds; the clamp modifier clips (values pile up)",
)


def _union_members(tp: Any) -> list[Any]:
    if get_origin(tp) is Annotated:
        return _union_members(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        return [x for a in get_args(tp) for x in _union_members(a)]
    return [tp]


def render_type(tp: Any) -> str:
    """One type in the cheat-sheet notation; small nested models are inlined, big ones named."""
    members = [t for t in _union_members(tp) if t is not type(None)] or [type(None)]
    if set(members) == _GENERATOR_SET:
        return "Generator"
    if all(
        isinstance(t, type) and issubclass(t, BaseModel) and "transform" in t.model_fields for t in members
    ):
        names = [get_args(t.model_fields["transform"].annotation)[0] for t in members]
        return "Modifier" if len(names) > 1 else f'Modifier (transform "{names[0]}")'
    if len(members) > 1:
        return " | ".join(render_type(t) for t in members)
    tp = members[0]
    origin = get_origin(tp)
    if tp in _SCALARS:
        return _SCALARS[tp]
    if origin is Literal:
        return "|".join(f'"{a}"' if isinstance(a, str) else str(a) for a in get_args(tp))
    if origin is list:
        inner = render_type(get_args(tp)[0])
        return f"({inner})[]" if " | " in inner else f"{inner}[]"
    if origin is tuple:
        return "[" + ", ".join(render_type(a) for a in get_args(tp)) + "]"
    if origin is dict:
        key, value = get_args(tp)
        return f"{{{render_type(key)}: {render_type(value)}}}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _NAMED[tp] if tp in _NAMED else render_model(tp)
    return getattr(tp, "__name__", str(tp))


def _default(field: Any) -> str:
    if field.default_factory is not None or field.default in (None, PydanticUndefined):
        return ""
    value = field.default
    if isinstance(value, str):
        return f' = "{value}"'
    if isinstance(value, bool):
        return f" = {str(value).lower()}"
    if isinstance(value, int | float):
        return f" = {value:g}"
    return ""


def render_model(model: type[BaseModel]) -> str:
    """`{key: type, key?: type = default, …}` with DSL key names (aliases), required keys first."""
    parts = []
    fields = sorted(model.model_fields.items(), key=lambda kv: not kv[1].is_required())
    for name, field in fields:
        if name in _SKIP:
            continue
        key = field.alias or name
        opt = "" if field.is_required() else "?"
        parts.append(f"{key}{opt}: {render_type(field.annotation)}{_default(field)}")
    return "{" + ", ".join(parts) + "}"


def _placement(model: Any) -> str:
    """Where a behaviour block may sit, from its descriptor: `(entities only) `."""
    if isinstance(model, type) and issubclass(model, BehaviourBlock):
        kinds = " or ".join({"entity": "entities", "fact": "facts"}.get(k, k) for k in model.node_kinds)
        return f"({kinds} only) "
    return ""


def cheatsheet() -> str:
    """Markdown text: every key, generator, modifier, distribution, behaviour block, constraint and
    target the models accept, with types and defaults."""
    out = ["## DSL reference (generated from the schema models)", ""]
    out.append(f"- Schema (the whole document): {render_model(m.Schema)}")
    for model, name in _NAMED.items():
        out.append(f"- {name}: {_placement(model)}{render_model(model)}")
    out += ["", "Generator: an object with exactly one of these keys:"]
    for gen in GENERATORS:
        out.append(f"- {gen.keyword}: {render_type(gen.model_fields[gen.keyword].annotation)}")
    params = "; ".join(f"{t} {{{', '.join(req + opt)}}}" for t, (req, opt) in DISTRIBUTION_PARAMS.items())
    lengths = ", ".join(f"{d} {n} weights" for d, n in PATTERN_LENGTHS.items())
    functions = ", ".join(f.usage for f in FUNCTIONS.values())
    out += [
        f"- distribution params by type: {params}",
        '- choice weights_kind: "uniform" | "zipf@<alpha>" | "head_tail@{<head_share>,<tail_alpha>}"',
        f"- pattern/seasonality dimensions: {lengths} (dow is Monday first)",
        f"- composite_effect influences: {', '.join(influence_names())}, or the id of an effect table "
        "of the target's table",
        f"- expression: {functions}; + - * / // % **, comparisons, and/or/not, `a if cond else b`",
        "",
        'Modifier: {"transform": <name>, "args": {...}}, applied in list order; args by name:',
    ]
    out += [f"- {mod.keyword}: {render_type(mod.model_fields['args'].annotation)}" for mod in MODIFIERS]
    out += ["", "## A coherent world: use these where a real dataset would, unasked", ""]
    out += [f"- {idiom.say}: `{json.dumps(idiom.fragment)}`" for idiom in IDIOMS]
    out += [f"- {line}" for line in RULES]
    return "\n".join(out) + "\n"
