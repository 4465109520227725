"""Which row of another table a row relates to (docs/schema-language.md §6, §10.4) — the definition the
engine draws by and the validator joins by.

A row of a table knows one row of each table it is *directly related* to: its primary parent (the row
it was born from), each further parent, and each table it copies values from with a `lookup` without
`on` (one row per table, shared by every such lookup). Through those rows it knows theirs, at any
depth: a sale knows its offer, the offer's viewing, the viewing's listing. The path to a table is the
shortest chain of such steps; two different shortest chains make the relation ambiguous. A step that
carries the related row's key (a lookup of its primary key, or a declared foreign key to it) can be
joined in the data; the engine needs no key to draw by it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from datagen.dsl.base import split_ref
from datagen.dsl.generators import LookupGen
from datagen.dsl.models import Node, Schema

How = Literal["primary parent", "parent", "lookup"]


@dataclass(frozen=True)
class Hop:
    """One step from a row of `table` to its row of `to`; `key`: the column of `table` holding the
    primary key of that row (None when the table carries none)."""

    table: str
    to: str
    how: How
    key: str | None


@dataclass(frozen=True)
class Path:
    """The steps from a row to its related row of `hops[-1].to` (no steps: the row itself)."""

    hops: tuple[Hop, ...]

    @property
    def tables(self) -> list[str]:
        return [h.to for h in self.hops]

    def describe(self, start: str) -> str:
        return " → ".join([start, *self.tables])


@dataclass(frozen=True)
class Ambiguous:
    """Two different shortest paths lead to the table."""

    first: Path
    second: Path


def key_column(schema: Schema, node: Node, to: Node) -> str | None:
    """The column of `node` holding `to`'s primary key: a lookup of it without `on`, else a declared
    foreign key to it."""
    if to.pk is None:
        return None
    for col in node.columns:
        gen = col.generator
        if (
            isinstance(gen, LookupGen)
            and not gen.lookup.on
            and gen.source == (to.id, to.pk)
            and not gen.picks_another_row(node)
        ):
            return col.name
    for fk in schema.constraints.foreign_keys:
        a, b = split_ref(fk.from_), split_ref(fk.to)
        if a and b and a[0] == node.id and b == (to.id, to.pk) and not another_row(node, a[1]):
            return a[1]
    return None


def another_row(node: Node, column: str) -> bool:
    """Whether a column of `node` holds a random row of its parent table other than its parent (so a
    foreign key on it is not the way to the parent), or is not a column at all."""
    col = node.column(column)
    return col is None or (isinstance(col.generator, LookupGen) and col.generator.picks_another_row(node))


def direct_relations(schema: Schema, node: Node) -> list[Hop]:
    """The tables a row of `node` knows one row of directly, in a fixed order: parents as declared,
    then looked-up tables in column order."""
    nodes = {n.id: n for n in schema.nodes}
    out: list[Hop] = []
    seen: set[str] = set()

    def add(to: str, how: How) -> None:
        if to in seen or to == node.id or to not in nodes:
            return
        seen.add(to)
        out.append(Hop(node.id, to, how, key_column(schema, node, nodes[to])))

    for i, parent in enumerate(node.parents or []):
        add(parent, "primary parent" if i == 0 else "parent")
    for col in node.columns:
        gen = col.generator
        if isinstance(gen, LookupGen) and not gen.lookup.on and gen.source is not None:
            add(gen.source[0], "lookup")
    return out


def path_to(schema: Schema, table: str, target: str) -> Path | Ambiguous | None:
    """The shortest path from a row of `table` to its related row of `target` (None: unrelated)."""
    if table == target:
        return Path(())
    nodes = {n.id: n for n in schema.nodes}
    if table not in nodes or target not in nodes:
        return None
    reached: dict[str, Path | Ambiguous] = {table: Path(())}
    frontier = [table]
    while frontier:
        found: dict[str, list[Path | Ambiguous]] = {}
        for here in frontier:
            before = reached[here]
            for hop in direct_relations(schema, nodes[here]):
                if hop.to in reached:
                    continue
                if isinstance(before, Ambiguous):  # every path through an ambiguous table is
                    step: Path | Ambiguous = Ambiguous(
                        Path((*before.first.hops, hop)), Path((*before.second.hops, hop))
                    )
                else:
                    step = Path((*before.hops, hop))
                found.setdefault(hop.to, []).append(step)
        for to, paths in found.items():
            first = paths[0]
            if len(paths) > 1 and not isinstance(first, Ambiguous):
                second = paths[1]
                first = Ambiguous(first, second.first if isinstance(second, Ambiguous) else second)
            reached[to] = first
        if target in reached:
            return reached[target]
        frontier = list(found)
    return None


def extended(first: Hop, rest: Path) -> Path:
    """`rest` seen from one step further down: a child's path through its parent."""
    return Path((first, *rest.hops))


def first_parent_line(schema: Schema, node: Node) -> list[str]:
    """The tables a row of `node` descends from through first parents, nearest first: the row it was
    born from, the row that one was born from, … (an order line: its order, then the order's customer).
    A segment's value multiplier reaches descendants along this line (docs/schema-language.md §8.1)."""
    line: list[str] = []
    here: Node | None = node
    while here is not None and (up := here.primary_parent) is not None and up not in line and up != node.id:
        line.append(up)
        here = schema.node(up)
    return line
