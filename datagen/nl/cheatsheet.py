"""The DSL cheat sheet the model reads, generated from the schema models so it never drifts from them:
every feature the language lists (datagen.dsl.features) gets its own line.

A full JSON Schema of the DSL is ~34 kB; this compact notation carries the same keys, types and defaults
in a few kB: `{start?: int = 1, step?: int = 1}` — `?` marks an optional key, `= x` its default."""

from __future__ import annotations

import types
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
        "- lifetime (entity): children at any depth happen only inside [start, end); the fanout is a rate "
        "(a row alive a third of the time has a third of the children); end.column is a nullable datetime "
        "the engine fills: a share of rows end `after` a duration, or `walk` ends a row when its "
        "state_transition_model enters a terminal state",
        "- activity (entity): a per-row level (gamma/lognormal/…, normalised to mean 1) multiplying all its "
        "children's rates: heavy and light users",
        "- active_in (fact): rate × the weight of the parent's state in `walk` at each instant (unlisted "
        "states: 0, e.g. no usage while paused or after churn); needs a fanout",
        '- state_at: the walk\'s state at the column `at` (on a sibling fact), or `"at": "end"` on the '
        "entity: its latest state (a plan column that changes with the walk)",
        '- fanout: {"distribution": "constant", "count": 3} is exactly 3 per parent; {"every": "10min"} '
        "is one row per 10 minutes of each parent's life (its first time column "
        '{"datetime_series": {"slot": true}}); "where": "status == \'accepted\'" gives children only to '
        "such parents; a fact may be the parent of a fact (times increase along the chain)",
        '- datetime_series values are continuous instants; "snap": true puts them on the freq grid (daily '
        'snapshots); within {"start": "policies.start_date", "end": "policies.end_date"} keeps each row '
        "inside its own related row's window",
        "- an inequality compares a row with itself, a parent (at any depth) or a looked-up row, and one "
        "side must be a datetime_series, a distribution, an expression or a copy",
        '- tables that agree: on a parent, {"rollup": {"from": "order_items.line_total", "agg": "sum"}} is '
        "exactly the sum of its children (agg min of a child time: a first order date); on a fact, "
        '{"running": {"of": "signed_amount", "order_by": "booked_at", "start": "accounts.opening_balance"}} '
        'is the balance after each row; {"lookup": {"from": "scooters.scooter_id", "on": {"city_id": '
        '"city_id"}, "pick": "random"}} picks a scooter of this row\'s city (never a random unrelated row)',
        "- attribution: on a conversions fact (no fanout) whose first parent also parents the touches; "
        "each touch may convert, odds x each channel_lift of the touches in the lookback window",
        "",
        'Modifier: {"transform": <name>, "args": {...}}, applied in list order; args by name:',
    ]
    out += [f"- {mod.keyword}: {render_type(mod.model_fields['args'].annotation)}" for mod in MODIFIERS]
    out += [
        "",
        'Values that look real: "decimals": 2 on money (float) columns; price_point (endings [0.99, 0.49]) '
        "on prices, after what scales them; a distribution's clamp draws again inside the bounds, the clamp "
        'modifier clips (values pile up at the bound); "output": false on a helper column other columns '
        "read (a delay, a noise factor, an effect's strength) keeps it out of the files.",
    ]
    return "\n".join(out) + "\n"
