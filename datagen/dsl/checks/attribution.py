"""Checks of an attribution block (docs/schema-language.md §8.5), and the credit table it writes: the
check step adds that table to the schema (or holds a declared one to the same shape)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from datagen.dsl.base import TIME
from datagen.dsl.behaviours import Attribution, credit_node
from datagen.dsl.generators import ChoiceGen, EnumListGen
from datagen.dsl.issues import did_you_mean
from datagen.dsl.models import Node

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def attribution(c: Checker, node: Node, block: Attribution, path: Path) -> None:
    parent = node.primary_parent
    if parent is None:
        c.issues.error(
            path,
            f"the conversions of '{node.id}' follow touches of the same parent; give '{node.id}' parents "
            "(e.g. the users who convert)",
            code="attribution_parent",
        )
    if node.fanout is not None:
        c.issues.error(
            [*path[:-1], "fanout"],
            "the attribution decides how many conversions each parent has (one chance after each of its "
            "touches); drop fanout",
            code="attribution_fanout",
        )
    if node.walk is not None:
        c.issues.error(
            path, "a fact is born from one block; drop the walk or the attribution", code="two_walks"
        )
    touches = c.table(block.touches, [*path, "touches"], "touches table")
    if touches is not None:
        _touches(c, node, block, touches, path)
    time = block.conversion_time_column(node)
    where = [*path, "conversion_time"]
    if block.conversion_time:
        c.column(node, block.conversion_time, where, TIME)
    elif time is None:
        c.issues.error(
            where, f"'{node.id}' has no datetime column for the conversion times", code="no_time_column"
        )
    if time is not None and node.column(time) is not None:
        c.issues.note(
            where,
            f"'{node.id}.{time}' is filled by the attribution block; its generator is a placeholder",
            code="behaviour_overrides",
        )
    if block.credit_table is not None:
        if node.pk is None:
            c.issues.error(
                [*path, "credit_table"],
                f"credit rows name their conversion by key; give '{node.id}' a primary key",
                code="credit_keys",
            )
        if touches is not None and touches.pk is None:
            c.issues.error(
                [*path, "credit_table"],
                f"credit rows name their touch by key; give '{touches.id}' a primary key",
                code="credit_keys",
            )


def _touches(c: Checker, node: Node, block: Attribution, touches: Node, path: Path) -> None:
    if touches.id == node.id:
        c.issues.error(
            [*path, "touches"],
            "the touches are another fact than the conversions",
            code="attribution_touches",
        )
        return
    if touches.primary_parent != node.primary_parent:
        c.issues.error(
            [*path, "touches"],
            f"a conversion follows touches of its own parent, so '{touches.id}' needs the same first parent "
            f"as '{node.id}' ('{node.primary_parent}'); it has '{touches.primary_parent}'",
            code="attribution_touches",
        )
    channel = c.column(touches, block.channel_column, [*path, "channel_column"])
    c.column(touches, block.time_column, [*path, "time_column"], TIME)
    values = _channel_values(c, channel.generator) if channel is not None else None
    if values is None:
        return
    for name in block.channel_lift:
        if name not in values:
            c.issues.warning(
                [*path, "channel_lift", name],
                f"'{name}' is not a value of '{touches.id}.{block.channel_column}'"
                f"{did_you_mean(name, values)} "
                f"(values: {', '.join(values)}); its lift never applies",
                code="unknown_channel",
            )


def _channel_values(c: Checker, gen: object) -> list[str] | None:
    """The values a channel column can take, when its generator lists them."""
    if isinstance(gen, ChoiceGen):
        if gen.choice.choices is not None:
            return [str(v) for v in gen.choice.choices]
        ref = gen.choice.choices_ref or ""
        table, _, column = ref.partition(".")
        source = c.nodes.get(table)
        col = source.column(column) if source is not None else None
        if col is not None and isinstance(col.generator, EnumListGen):
            return [str(v) for v in col.generator.enum_list.values]
    return None


def add_credit_tables(c: Checker) -> None:
    """Add the credit table of each attribution block that names one (a declared one must have the same
    shape, so a schema the check step wrote checks again)."""
    for ni, conversions in enumerate(list(c.s.nodes)):
        block = conversions.attribution
        if block is None or block.credit_table is None:
            continue
        touches = c.nodes.get(block.touches)
        if touches is None or touches.pk is None or conversions.pk is None:
            continue  # the block's check says what is missing
        if conversions.column(conversions.pk) is None or touches.column(touches.pk) is None:
            continue
        expected = Node.model_validate(credit_node(conversions, block, touches), by_alias=True)
        path: Path = ["nodes", ni, "attribution", "credit_table"]
        declared = c.nodes.get(block.credit_table)
        if declared is None:
            c.s.nodes.append(expected)
            c.nodes[expected.id] = expected
            c.issues.note(
                path,
                f"added table '{expected.id}' (the credit of each touch in each conversion's lookback "
                f"window: {', '.join(expected.column_names)})",
                code="credit_table",
            )
        elif not _same_shape(declared, expected):
            c.issues.error(
                path,
                f"table '{declared.id}' is written by this attribution block; remove it from nodes "
                f"(the check step adds it) or give it kind fact, parents {expected.parents} and exactly "
                "these columns: " + ", ".join(f"{col.name} ({col.type})" for col in expected.columns),
                code="credit_table",
            )


def _same_shape(a: Node, b: Node) -> bool:
    def shape(n: Node) -> tuple[object, ...]:
        return (
            n.kind,
            n.parents,
            n.pk,
            n.fanout,
            [(x.name, x.type, x.nullable, x.generator) for x in n.columns],
        )

    return shape(a) == shape(b)
