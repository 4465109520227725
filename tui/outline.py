"""A schema in words a non-technical reader can scan: per table, its size and its columns with type and
where the values come from; the relations between tables. Pure data, so it is tested without a screen."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def describe_source(column: Column) -> str:
    """The generator as a phrase: `choice of 8`, `faker name`, `lookup customers.customer_id`, ..."""
    kind, args = column.kind, column.args
    if kind == "sequence":
        return f"sequence from {args.start}" + (f" step {args.step}" if args.step != 1 else "")
    if kind == "choice":
        if args.choices_ref:
            return f"choice from {args.choices_ref}"
        return f"choice of {len(args.choices or [])}" + (
            f" ({args.weights_kind})" if args.weights_kind else ""
        )
    if kind == "distribution":
        return f"{args.type} distribution"
    if kind == "datetime_series":
        patterns = ", ".join(p.dimension for p in args.pattern)
        return "timestamps" + (f" by {patterns}" if patterns else "")
    if kind == "faker":
        return f"faker {args.method}" + (" (unique)" if args.unique else "")
    if kind == "lookup":
        return f"lookup {args.from_}"
    if kind == "expression":
        return f"= {_short(args.code)}"
    if kind == "enum_list":
        return f"list of {len(args.values)}"
    return kind


def _with_modifiers(column: Column) -> str:
    names = [m.transform for m in column.modifiers]
    return describe_source(column) + (f" · {', '.join(names)}" if names else "")


def _size(node: Node) -> str:
    if node.kind == "vocab":  # as many rows as its lists have values
        rows = next((len(c.args.values) for c in node.columns if c.kind == "enum_list"), node.row_count)
        return f"{rows:,} rows"
    if not node.parents:
        return f"{node.row_count:,} rows"
    parent = node.parents[0]
    if node.stage_config is not None:
        return f"one per stage reached, per row of {parent}"
    if node.state_transition_model is not None:
        return f"one per state entered, per row of {parent}"
    fanout = node.fanout
    if fanout is None:
        return f"1 per row of {parent}"
    if fanout.distribution == "uniform":
        return f"{fanout.min}–{fanout.max} per row of {parent}"
    return f"~{fanout.lambda_:g} per row of {parent}"


def _behaviours(node: Node) -> list[str]:
    out = []
    if node.segment_behavior:
        seg = node.segment_behavior
        out.append(f"segments by {seg.segment_column}: {', '.join(seg.behaviors)}")
    if node.vintage_behavior:
        out.append(f"activity changes with age since {node.vintage_behavior.created_at_column}")
    if node.stage_config:
        out.append("funnel: " + " → ".join(s.stage_name for s in node.stage_config.stages))
    if node.state_transition_model:
        out.append(f"lifecycle starting in '{node.state_transition_model.initial_state}'")
    out += [f"effect of {m.args.effect_table}" for m in node.modifiers]
    return out


def outline(schema: Schema) -> list[TableOutline]:
    return [_table(n) for n in schema.nodes]


def _table(n: Node) -> TableOutline:
    walked = walk_columns(n)  # a funnel's or state model's columns: their generators are placeholders
    return TableOutline(
        id=n.id,
        kind=n.kind,
        size=_size(n),
        description=n.description,
        columns=[
            ColumnLine(
                c.name, c.type, "filled by the walk" if c.name in walked else _with_modifiers(c), c.nullable
            )
            for c in n.columns
        ],
        behaviours=_behaviours(n),
    )


def relations(schema: Schema) -> list[str]:
    """One line per foreign key, child first: `orders.customer_id → customers.customer_id`."""
    return [f"{fk.from_} → {fk.to}" for fk in schema.constraints.foreign_keys]
