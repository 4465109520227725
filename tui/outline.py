"""A schema in words a non-technical reader can scan: per table, its size and its columns with type and
where the values come from; the behaviours and targets that shape it; the relations between tables.
Pure data, so it is tested without a screen.

`PHRASES` holds one phrase per feature of the language, keyed on the feature's model type (the parity
test checks every feature has one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datagen.dsl import behaviours as b
from datagen.dsl import generators as g
from datagen.dsl import modifiers as m
from datagen.dsl import targets as t
from datagen.dsl.features import TARGETS
from datagen.dsl.models import Column, Node, Schema
from datagen.dsl.references import walk_columns


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
    return "timestamps" + (f" by {patterns}" if patterns else "")


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


PHRASES: dict[type, Callable[[Any], str]] = {
    # generators: where the values come from
    g.SequenceGen: _sequence,
    g.ChoiceGen: _choice,
    g.DistributionGen: lambda x: f"{x.distribution.type} distribution",
    g.DatetimeSeriesGen: _timestamps,
    g.FakerGen: lambda x: f"faker {x.faker.method}" + (" (unique)" if x.faker.unique else ""),
    g.LookupGen: _lookup,
    g.ExpressionGen: lambda x: f"= {_short(x.expression.code)}",
    g.EnumListGen: lambda x: f"list of {len(x.enum_list.values)}",
    g.RollupGen: _rollup,
    g.RunningGen: _running,
    # modifiers: what happens to them next
    m.Multiply: lambda x: f"× {_num(x.args.factor)}",
    m.Add: lambda x: f"+ {_num(x.args.value)}",
    m.Clamp: _clamp,
    m.Jitter: lambda x: f"noise ({'×' if x.args.mode == 'mul' else '±'}{_num(x.args.std)})",
    m.MapValues: lambda x: f"relabelled ({len(x.args.mapping)})",
    m.Seasonality: lambda x: f"by {x.args.dimension}",
    m.TimeJitter: lambda x: f"± {_num(x.args.std_minutes)} min",
    m.Effect: _effect,
    m.Outliers: _outliers,
    m.Trend: _trend,
    # behaviour blocks: what shapes the table's rows
    b.SegmentBehavior: lambda x: f"segments by {x.segment_column}: {', '.join(x.behaviors)}",
    b.VintageBehavior: lambda x: f"activity changes with age since {x.created_at_column}",
    b.StageConfig: lambda x: "funnel: " + " → ".join(s.stage_name for s in x.stages),
    b.StateTransitionModel: lambda x: f"lifecycle starting in '{x.initial_state}'",
    b.Attribution: _attribution,
    # targets: what an analyst should find
    t.WeekendShareTarget: lambda x: f"target: weekend share of {x.timestamp} in [{x.min:g}, {x.max:g}]",
    t.MeanInRangeTarget: lambda x: f"target: mean {x.column} in [{x.min:g}, {x.max:g}]",
    t.CompositeEffectTarget: lambda x: f"target: {x.metric} lifts by {', '.join(x.influences)}",
}


def phrase(feature: object) -> str:
    return PHRASES[type(feature)](feature)


def describe_source(column: Column) -> str:
    """The generator as a phrase: `choice of 8`, `faker name`, `lookup customers.customer_id`, ..."""
    return phrase(column.generator)


def _with_modifiers(column: Column) -> str:
    changes = [phrase(m) for m in column.modifiers]
    return describe_source(column) + (f" · {', '.join(changes)}" if changes else "")


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
        return f"{fanout.min}–{fanout.max} per row of {parent}"
    return f"~{fanout.mean:g} per row of {parent}"


def _behaviours(schema: Schema, node: Node) -> list[str]:
    out = [phrase(b) for b in node.behaviours]
    out += [f"effect of {m.args.effect_table}" for m in node.modifiers]
    if schema.targets is not None:
        found = (t for kind in TARGETS for t in getattr(schema.targets, kind.keyword))
        out += [phrase(t) for t in found if t.table == node.id]
    return out


def outline(schema: Schema) -> list[TableOutline]:
    return [_table(schema, n) for n in schema.nodes]


def _table(schema: Schema, n: Node) -> TableOutline:
    walked = walk_columns(n)  # a funnel's or state model's columns: their generators are placeholders
    return TableOutline(
        id=n.id,
        kind=n.kind,
        size=_size(schema, n),
        description=n.description,
        columns=[
            ColumnLine(
                c.name, c.type, "filled by the walk" if c.name in walked else _with_modifiers(c), c.nullable
            )
            for c in n.columns
        ],
        behaviours=_behaviours(schema, n),
    )


def relations(schema: Schema) -> list[str]:
    """One line per foreign key, child first: `orders.customer_id → customers.customer_id`."""
    return [f"{fk.from_} → {fk.to}" for fk in schema.constraints.foreign_keys]
