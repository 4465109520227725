"""A schema in words a non-technical reader can scan: per table, its size and its columns with type and
where the values come from; the behaviours and targets that shape it; the relations between tables.
Pure data, so it is tested without a screen.

`PHRASES` holds one `Phrase` per feature of the language, keyed on the feature's model type: the
technical words and the plain ones (the parity test checks every feature has both). The plain view is
what the app shows first; the technical one is a toggle away."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from datagen.dsl import behaviours as b
from datagen.dsl import generators as g
from datagen.dsl import modifiers as m
from datagen.dsl import targets as t
from datagen.dsl.features import TARGETS
from datagen.dsl.models import Column, Node, Schema
from datagen.dsl.references import walk_columns


class Phrase(NamedTuple):
    """A feature in a few words, twice: in the schema's own terms, and for someone who never saw them."""

    technical: Callable[[Any], str]
    plain: Callable[[Any], str]


@dataclass(frozen=True)
class ColumnLine:
    name: str
    type: str
    source: str  # the generator in a few words
    nullable: bool = False


@dataclass(frozen=True)
class TableOutline:
    id: str
    kind: str
    size: str
    description: str | None
    columns: list[ColumnLine] = field(default_factory=list)
    behaviours: list[str] = field(default_factory=list)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(x: float) -> str:
    return f"{x:g}"


def _choice(g: g.ChoiceGen) -> str:
    a = g.choice
    if a.choices_ref:
        return f"choice from {a.choices_ref}"
    return f"choice of {len(a.choices or [])}" + (f" ({a.weights_kind})" if a.weights_kind else "")


def _timestamps(g: g.DatetimeSeriesGen) -> str:
    patterns = ", ".join(p.dimension for p in g.datetime_series.pattern)
    curve = g.datetime_series.curve
    return (
        "timestamps"
        + (f" by {patterns}" if patterns else "")
        + (f" on a {curve.type} curve" if curve else "")
    )


def _lifetime(x: b.Lifetime) -> str:
    if x.end is None:
        return f"lives from {x.start}"
    how = f"when {x.end.walk} ends" if x.end.walk else f"{x.end.share:.0%} end"
    return f"lives from {x.start} to {x.end.column} ({how})"


def _sequence(g: g.SequenceGen) -> str:
    a = g.sequence
    return f"sequence from {a.start}" + (f" step {a.step}" if a.step != 1 else "")


def _clamp(m: m.Clamp) -> str:
    lo, hi = m.args.min, m.args.max
    if lo is not None and hi is not None:
        return f"within [{_num(lo)}, {_num(hi)}]"
    return f"at least {_num(lo)}" if lo is not None else f"at most {_num(hi or 0)}"


def _trend(m: m.Trend) -> str:
    return f"{m.args.type} trend {m.args.growth_rate:+.0%}/year"


def _effect(m: m.Effect) -> str:
    return f"{'×' if m.args.map.op == 'mul' else '+'} effect of {m.args.effect_table}"


def _lookup(g: g.LookupGen) -> str:
    a = g.lookup
    if a.scoped and a.on:
        scope = ", ".join(f"{mine} = {theirs}" for mine, theirs in a.on.items())
        return f"random {a.from_} where {scope}"
    return f"lookup {a.from_}"


def _rollup(g: g.RollupGen) -> str:
    a = g.rollup
    return f"{a.agg} of {a.from_}" + (f" where {_short(a.where, 24)}" if a.where else "")


def _running(g: g.RunningGen) -> str:
    a = g.running
    start = f" from {a.start}" if a.start else ""
    return f"running {a.agg} of {a.of} by {a.order_by}{start}"


def _attribution(b: b.Attribution) -> str:
    credit = f", credit in {b.credit_table}" if b.credit_table else ""
    return (
        f"converts after touches in {b.touches} ({b.base_rate:.1%} base, lifts by {b.channel_column}){credit}"
    )


def _outliers(m: m.Outliers) -> str:
    return f"{m.args.rate:.1%} outliers ({m.args.mode})"


# ----- the same features in plain words, for someone who has never seen the schema language --------


def words(name: str) -> str:
    return name.replace("_", " ")


def one_of(table: str) -> str:
    """A table's name for one of its rows: `order_items` → `order item` (a guess, only for reading)."""
    name = words(table)
    for plural, single in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x")):
        if name.endswith(plural):
            return name[: -len(plural)] + single
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _list(items: list[str], limit: int = 4) -> str:
    """`a`, `a and b`, `a, b and c`, `a, b, c, d and 3 more`."""
    shown = [str(i) for i in items[:limit]]
    if len(items) > limit:
        return ", ".join(shown) + f" and {len(items) - limit} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1] if shown else ""


def percent(x: float) -> str:
    return f"{x * 100:.0f} %" if x >= 0.01 or x == 0 else f"{x * 100:.1g} %"


def _plain_choice(g: g.ChoiceGen) -> str:
    a = g.choice
    if a.choices_ref:
        return f"one of the values of {words(a.choices_ref)}"
    choices = [str(c) for c in a.choices or []]
    if a.weights and len(a.weights) == len(choices) and len(choices) <= 4:
        total = sum(a.weights) or 1
        shares = ", ".join(f"{c} ({percent(w / total)})" for c, w in zip(choices, a.weights, strict=True))
        return f"one of: {shares}"
    return f"one of: {_list(choices)}"


_DIMENSION = {"dow": "day of the week", "hour": "hour of the day", "month": "month"}
_DAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _busiest(dimension: str, weights: list[float]) -> str:
    """`more on Saturdays and Sundays`, `busiest around 18:00`, `busiest in December`."""
    if not weights or max(weights) == min(weights):
        return ""
    top = max(weights)
    peaks = [i for i, w in enumerate(weights) if w >= top * 0.9]
    if dimension == "dow" and len(weights) == 7:
        named = {(0, 1, 2, 3, 4): "weekdays", (5, 6): "weekends"}.get(tuple(peaks))
        return "more on " + (named or _list([_DAYS[i] for i in peaks], 3))
    if dimension == "hour":
        return f"busiest around {peaks[0]:02d}:00"
    if dimension == "month" and len(weights) == 12:
        return "busiest in " + _list([_MONTHS[i] for i in peaks], 3)
    return f"varies by {_DIMENSION.get(dimension, dimension)}"


def _plain_lifetime(x: b.Lifetime) -> str:
    if x.end is None:
        return f"each one starts at {words(x.start)}"
    how = f"when {words(x.end.walk)} ends" if x.end.walk else f"about {percent(x.end.share or 0)} of them end"
    return f"each one lives from {words(x.start)} to {words(x.end.column)}, {how}; nothing happens after"


def _plain_timestamps(g: g.DatetimeSeriesGen) -> str:
    shapes = [s for s in (_busiest(p.dimension, p.weights) for p in g.datetime_series.pattern) if s]
    curve = g.datetime_series.curve
    if curve is not None:
        shapes.append(
            "slow at first, then taking off" if curve.type == "bass" else "growing along an S-curve"
        )
    return "a date and time in the period" + (f", {', '.join(shapes)}" if shapes else "")


_FAKER_WORDS = {
    "name": "people's names",
    "email": "e-mail addresses",
    "phone_number": "phone numbers",
    "company": "company names",
    "city": "city names",
    "street_address": "street addresses",
    "country_code": "country codes",
    "user_name": "user names",
    "job": "job titles",
}


def _plain_faker(g: g.FakerGen) -> str:
    method = g.faker.method
    if method in ("bothify", "numerify", "lexify", "hexify"):
        text = (g.faker.args or {}).get("text")
        what = f"codes like {_short(str(text), 20)}" if text else "made-up codes"
    else:
        plural = words(method) if method.endswith("s") else words(method) + "s"
        what = "realistic " + _FAKER_WORDS.get(method, plural)
    return what + (", each one different" if g.faker.unique else "")


def _plain_lookup(g: g.LookupGen) -> str:
    table, _, column = g.lookup.from_.partition(".")
    if g.lookup.on is None:
        if g.lookup.pick == "random":  # a random row (from the parent's table: not its own parent)
            return f"a random {one_of(table)}'s {words(column)}"
        if column == "id" or column.endswith("_id"):
            return f"the {one_of(table)} it belongs to"
        return f"its {one_of(table)}'s {words(column)}"
    if g.lookup.scoped:
        same = _list([words(k) for k in g.lookup.on])
        return f"a {one_of(table)} with the same {same}, picked at random"
    return f"the matching {one_of(table)}'s {words(column)}"


_AGG_WORDS = {
    "sum": "the total",
    "count": "how many",
    "mean": "the average",
    "min": "the smallest",
    "max": "the largest",
    "first": "the first",
    "last": "the latest",
}


def _plain_rollup(g: g.RollupGen) -> str:
    table, _, column = g.rollup.from_.partition(".")
    agg = _AGG_WORDS.get(g.rollup.agg, g.rollup.agg)
    return f"{agg} {words(column)} of its {words(table)}" + (" (some of them)" if g.rollup.where else "")


def _plain_running(g: g.RunningGen) -> str:
    agg = _AGG_WORDS.get(g.running.agg, g.running.agg)
    start = f", starting from {words(g.running.start.partition('.')[2])}" if g.running.start else ""
    return f"{agg} {words(g.running.of)} so far, in order of {words(g.running.order_by)}{start}"


def _plain_distribution(g: g.DistributionGen) -> str:
    d, p = g.distribution.type, g.distribution.params
    if d == "uniform":
        return f"any number from {_num(p['low'])} to {_num(p['high'])}"
    if d == "normal":
        return f"around {_num(p['mean'])}, most within {_num(p['std'])} of it"
    if d == "poisson":
        return f"a count, about {_num(p['lambda'])} on average"
    if d == "lognormal":
        return f"mostly around {math.exp(p['mean']):.3g}, a few much larger"
    if d == "exponential":
        return f"mostly small, about {_num(p['scale'])} on average"
    return f"a random number ({d} shape)"


def _plain_clamp(m: m.Clamp) -> str:
    lo, hi = m.args.min, m.args.max
    if lo is not None and hi is not None:
        return f"kept between {_num(lo)} and {_num(hi)}"
    return f"never below {_num(lo)}" if lo is not None else f"never above {_num(hi or 0)}"


def _plain_multiply(m: m.Multiply) -> str:
    f = m.args.factor
    return f"{'raised' if f >= 1 else 'lowered'} by {percent(abs(f - 1))}" if f > 0 else f"times {_num(f)}"


def _plain_trend(m: m.Trend) -> str:
    r = m.args.growth_rate
    return f"{'growing' if r >= 0 else 'shrinking'} about {percent(abs(r))} a year"


def _plain_segments(b: b.SegmentBehavior) -> str:
    parts = []
    for name, effect in b.behaviors.items():
        if effect.fanout_multiplier != 1:
            parts.append(f"{name}: {_num(effect.fanout_multiplier)}× as many")
        elif effect.value_multiplier != 1:
            parts.append(f"{name}: values {_num(effect.value_multiplier)}×")
    return f"groups by {words(b.segment_column)}" + (f": {'; '.join(parts)}" if parts else "")


# One Phrase per feature of the language: the technical view (the schema's own terms) and plain words.
# The parity test (tests/test_parity.py) fails for a feature without both.
PHRASES: dict[type, Phrase] = {
    # generators: where the values come from
    g.SequenceGen: Phrase(_sequence, lambda x: f"a number counting up from {x.sequence.start}"),
    g.ChoiceGen: Phrase(_choice, _plain_choice),
    g.DistributionGen: Phrase(lambda x: f"{x.distribution.type} distribution", _plain_distribution),
    g.DatetimeSeriesGen: Phrase(_timestamps, _plain_timestamps),
    g.FakerGen: Phrase(
        lambda x: f"faker {x.faker.method}" + (" (unique)" if x.faker.unique else ""), _plain_faker
    ),
    g.LookupGen: Phrase(_lookup, _plain_lookup),
    g.RollupGen: Phrase(_rollup, _plain_rollup),
    g.RunningGen: Phrase(_running, _plain_running),
    g.ExpressionGen: Phrase(
        lambda x: f"= {_short(x.expression.code)}", lambda x: f"worked out: {_short(x.expression.code)}"
    ),
    g.EnumListGen: Phrase(
        lambda x: f"list of {len(x.enum_list.values)}",
        lambda x: f"from a list: {_list([str(v) for v in x.enum_list.values], 3)}",
    ),
    g.StateAtGen: Phrase(
        lambda x: f"state of {x.state_at.walk} at " + ("the end" if x.state_at.at_end else x.state_at.at),
        lambda x: (
            f"the {words(x.state_at.walk)} state "
            + ("it ended in" if x.state_at.at_end else f"at {words(x.state_at.at)}")
        ),
    ),
    # modifiers: what happens to them next
    m.Multiply: Phrase(lambda x: f"× {_num(x.args.factor)}", _plain_multiply),
    m.Add: Phrase(lambda x: f"+ {_num(x.args.value)}", lambda x: f"plus {_num(x.args.value)}"),
    m.Clamp: Phrase(_clamp, _plain_clamp),
    m.Jitter: Phrase(
        lambda x: f"noise ({'×' if x.args.mode == 'mul' else '±'}{_num(x.args.std)})",
        lambda x: "with a little random variation",
    ),
    m.MapValues: Phrase(
        lambda x: f"relabelled ({len(x.args.mapping)})", lambda x: f"{len(x.args.mapping)} values renamed"
    ),
    m.Seasonality: Phrase(
        lambda x: f"by {x.args.dimension}",
        lambda x: f"changes with the {_DIMENSION.get(x.args.dimension, x.args.dimension)}",
    ),
    m.TimeJitter: Phrase(
        lambda x: f"± {_num(x.args.std_minutes)} min",
        lambda x: f"times moved by a few minutes (about {_num(x.args.std_minutes)})",
    ),
    m.Effect: Phrase(_effect, lambda x: f"changed by {words(x.args.effect_table)}"),
    m.Outliers: Phrase(_outliers, lambda x: f"{percent(x.args.rate)} unusual values"),
    m.Trend: Phrase(_trend, _plain_trend),
    m.PricePoint: Phrase(
        lambda x: "price points ending " + "/".join(f"{e:g}" for e in sorted(x.args.endings)),
        lambda x: "prices ending in " + _list([f"{e:g}" for e in sorted(x.args.endings)]),
    ),
    # behaviour blocks: what shapes the table's rows
    b.SegmentBehavior: Phrase(
        lambda x: f"segments by {x.segment_column}: {', '.join(x.behaviors)}", _plain_segments
    ),
    b.VintageBehavior: Phrase(
        lambda x: f"activity changes with age since {x.created_at_column}",
        lambda x: f"activity changes as time passes since {words(x.created_at_column)}",
    ),
    b.StageConfig: Phrase(
        lambda x: "funnel: " + " → ".join(s.stage_name for s in x.stages),
        lambda x: "steps, fewer reaching each: " + " → ".join(s.stage_name for s in x.stages),
    ),
    b.StateTransitionModel: Phrase(
        lambda x: f"lifecycle starting in '{x.initial_state}'",
        lambda x: f"a life story: starts as {x.initial_state}, then moves between states",
    ),
    b.Lifetime: Phrase(_lifetime, _plain_lifetime),
    b.Attribution: Phrase(
        _attribution,
        lambda x: (
            f"each happens after earlier {words(x.touches)}, some channels leading to more"
            + (f"; {words(x.credit_table)} says how much each touch counted" if x.credit_table else "")
        ),
    ),
    b.Activity: Phrase(
        lambda x: f"activity differs per row ({x.distribution.type}, mean 1)",
        lambda x: "some are much more active than others, and stay that way",
    ),
    b.ActiveIn: Phrase(
        lambda x: f"active while {x.walk} is in " + ", ".join(s for s, w in x.states.items() if w > 0),
        lambda x: (
            "only happens while " + words(x.walk) + " is " + _list([s for s, w in x.states.items() if w > 0])
        ),
    ),
    # targets: what an analyst should find
    t.WeekendShareTarget: Phrase(
        lambda x: f"target: weekend share of {x.timestamp} in [{x.min:g}, {x.max:g}]",
        lambda x: f"{percent(x.min)}–{percent(x.max)} of them fall on a weekend, as asked",
    ),
    t.MeanInRangeTarget: Phrase(
        lambda x: f"target: mean {x.column} in [{x.min:g}, {x.max:g}]",
        lambda x: f"{words(x.column)} averages between {x.min:g} and {x.max:g}, as asked",
    ),
    t.CompositeEffectTarget: Phrase(
        lambda x: f"target: {x.metric} lifts by {', '.join(x.influences)}",
        lambda x: f"{words(x.metric)} goes up with {_list([words(i) for i in x.influences])}, as asked",
    ),
}


def phrase(feature: object, plain: bool = False) -> str:
    words = PHRASES[type(feature)]
    return words.plain(feature) if plain else words.technical(feature)


def describe_source(column: Column, plain: bool = False) -> str:
    """The generator as a phrase: `choice of 8`, `faker name`, `lookup customers.customer_id`, ..."""
    return phrase(column.generator, plain)


def _with_modifiers(column: Column, plain: bool) -> str:
    changes = [phrase(m, plain) for m in column.modifiers]
    if column.decimals is not None:
        changes.append(f"rounded to {column.decimals} decimals" if plain else f"{column.decimals} decimals")
    text = describe_source(column, plain) + (f" · {', '.join(changes)}" if changes else "")
    if column.output:
        return text
    return (
        f"{text} (used to work out other columns, not saved)"
        if plain
        else f"{text} (hidden helper, not written)"
    )


def _plain_size(schema: Schema, node: Node) -> str:
    """`200 owners`, `each owner has about 3 dogs`, `each order has 1 to 5 order items`."""
    if node.kind == "vocab":
        return f"a fixed list of {node.vocab_size:,}"
    if not node.parents:
        return f"{node.row_count:,} {words(node.id)}"
    parent, own = one_of(node.parents[0]), words(node.id)
    if node.stage_config is not None:
        return f"for each {parent}, one per step reached"
    if node.state_transition_model is not None:
        return f"for each {parent}, one per state it goes through"
    if node.attribution is not None:
        return f"for each {parent}, one per touch that led to a purchase"
    if b.credit_source(schema, node.id) is not None:
        return f"one per touch before each {parent}"
    fanout = node.fanout
    if fanout is None:
        return f"one per {parent}"
    if fanout.distribution == "uniform":
        size = f"{fanout.min} to {fanout.max}"
    elif fanout.distribution == "constant":
        size = f"{fanout.constant_count}"
    else:
        size = f"about {fanout.mean:g}"
    if fanout.every:
        text = f"each {parent} has {size} {own} every {fanout.every} while it exists"
    else:
        text = f"each {parent} has {size} {own}"
    return text + (f" (only when {fanout.where})" if fanout.where else "")


def _size(schema: Schema, node: Node) -> str:
    if node.kind == "vocab":  # as many rows as its lists have values
        return f"{node.vocab_size:,} rows"
    if not node.parents:
        return f"{node.row_count:,} rows"
    parent = node.parents[0]
    if node.stage_config is not None:
        return f"one per stage reached, per row of {parent}"
    if node.state_transition_model is not None:
        return f"one per state entered, per row of {parent}"
    if node.attribution is not None:
        return f"one per converting touch, per row of {parent}"
    if b.credit_source(schema, node.id) is not None:
        return f"one per touch in the window of each row of {parent}"
    fanout = node.fanout
    if fanout is None:
        return f"1 per row of {parent}"
    if fanout.distribution == "uniform":
        size = f"{fanout.min}–{fanout.max}"
    elif fanout.distribution == "constant":
        size = f"{fanout.constant_count}"
    else:
        size = f"~{fanout.mean:g}"
    per = f"per {fanout.every} of each life of {parent}" if fanout.every else f"per row of {parent}"
    return f"{size} {per}" + (f" where {fanout.where}" if fanout.where else "")


def _behaviours(schema: Schema, node: Node, plain: bool) -> list[str]:
    out = [phrase(b, plain) for b in node.behaviours]
    out += [
        f"changed by {words(m.args.effect_table)}" if plain else f"effect of {m.args.effect_table}"
        for m in node.modifiers
    ]
    if schema.targets is not None:
        found = (t for kind in TARGETS for t in getattr(schema.targets, kind.keyword))
        out += [phrase(t, plain) for t in found if t.table == node.id]
    return out


def outline(schema: Schema, plain: bool = False) -> list[TableOutline]:
    """Every table, in the schema's terms or (`plain`) in words for someone who never saw them."""
    return [_table(schema, n, plain) for n in schema.nodes]


_KINDS = {"entity": "things", "fact": "events", "vocab": "a list"}
_TYPES = {
    "int": "whole number",
    "float": "number",
    "string": "text",
    "bool": "yes/no",
    "datetime": "date and time",
    "date": "date",
}


def _table(schema: Schema, n: Node, plain: bool) -> TableOutline:
    walked = walk_columns(n)  # a funnel's or state model's columns: their generators are placeholders
    if b.credit_source(schema, n.id) is not None:  # an attribution's credit table: it fills all but the key
        walked = walked | {c.name for c in n.columns[1:]}
    filled = "set by the steps above" if plain else "filled by the walk"
    return TableOutline(
        id=n.id,
        kind=_KINDS.get(n.kind, n.kind) if plain else n.kind,
        size=_plain_size(schema, n) if plain else _size(schema, n),
        description=n.description,
        columns=[
            ColumnLine(
                c.name,
                _TYPES.get(c.type, c.type) if plain else c.type,
                filled if c.name in walked else _with_modifiers(c, plain),
                c.nullable,
            )
            for c in n.columns
        ],
        behaviours=_behaviours(schema, n, plain),
    )


def relations(schema: Schema, plain: bool = False) -> list[str]:
    """One line per foreign key, child first: `orders.customer_id → customers.customer_id`, or
    (`plain`) `every order belongs to a real customer`."""
    keys = schema.constraints.foreign_keys
    if plain:
        return [
            f"every {one_of(fk.from_.split('.')[0])} belongs to a real {one_of(fk.to.split('.')[0])}"
            for fk in keys
        ]
    return [f"{fk.from_} → {fk.to}" for fk in keys]
