"""How every declared relation between a column and a column of a related row is made true
(docs/schema-language.md §6, §10.4): the one definition the check step reports from and the engine's
plan draws by, so the check step refuses exactly what the engine cannot build.

An inequality `left op right` is made true on one side, the *target* (the left side when it can be
built so, else the right), against the other, the *source*, read from the target row's related row
(related_rows.py: the same row, a parent, a looked-up row, or theirs at any depth; the validator joins
them through the keys each row carries, and says so when a row carries none):

- **drawn**: a `datetime_series` (times) or a `distribution` without modifiers (numbers) is drawn
  inside [source, …] or […, source] — its pattern or distribution kept, truncated to the bound;
- **capped**: an `expression`, or a `distribution` with modifiers, is computed and then capped at the
  bound (a value past it takes the bound itself);
- **walk**: a walk's time column starts at its parent's life start, so `>=` that column holds;
- **copy**: a `lookup` copies the source, so `==`, `<=` and `>=` hold.

Anything else is refused with the reason and what to write instead. A strict `<`/`>` keeps one
microsecond (times) or the next representable number (floats) or one (ints) between the sides.

Three kinds of bound come from the language itself rather than a declared inequality: `within` read
from a related row ([start, end) of its own window), a parent's creation time (§8.2) and chains — a
fact born from a fact has its own time at or after its parent's, and inside every upper bound its
parent's time has (an ancestor's window)."""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Literal

from datagen.dsl.base import TIME
from datagen.dsl.finishing import deferred_columns
from datagen.dsl.generators import DatetimeSeriesGen, DistributionGen, ExpressionGen, LookupGen
from datagen.dsl.models import Inequality, Node, Schema
from datagen.dsl.references import column_local_refs, split_ref, table_dependencies
from datagen.dsl.related_rows import Ambiguous, Hop, Path, extended, path_to

Side = Literal["lo", "hi"]
Ref = tuple[str, str]  # (table, column)
Construction = Literal["drawn", "capped", "walk", "regular", "copy"]
Origin = Literal["inequality", "window", "creation", "chain", "ancestor window"]
ExtraDeps = dict[str, dict[str, set[str]]]  # table -> column -> same-row columns it must follow


@dataclass(frozen=True)
class Bound:
    """The target column is >= (`lo`) or <= (`hi`) `source` of the row `path` leads to."""

    side: Side
    source: Ref
    path: Path
    strict: bool
    origin: Origin

    @property
    def source_table(self) -> str:
        return self.source[0]

    @property
    def source_column(self) -> str:
        return self.source[1]


@dataclass(frozen=True)
class Made:
    """How a relation is made true: `target` built by `construction` (against `bound`, when it has one)."""

    target: Ref
    construction: Construction
    bound: Bound | None
    note: str


@dataclass(frozen=True)
class Refused:
    """Why the engine cannot make a relation true, and what to write instead (one message)."""

    message: str


Outcome = Made | Refused


@dataclass(frozen=True)
class Chain:
    """A fact born from a fact: `column` of `table` never before `parent_column` of its parent row."""

    table: str
    column: str
    parent: str
    parent_column: str
    hop: Hop


@dataclass
class Enforcement:
    """Everything the engine makes true about related rows, and what it refuses."""

    inequalities: list[Outcome] = field(default_factory=list)  # one per declared inequality
    windows: dict[Ref, list[Outcome]] = field(default_factory=dict)  # `within` sides read from a row
    bounds: dict[str, dict[str, list[Bound]]] = field(default_factory=dict)
    extra: ExtraDeps = field(default_factory=dict)
    chains: list[Chain] = field(default_factory=list)

    def column_bounds(self, table: str, column: str) -> list[Bound]:
        return self.bounds.get(table, {}).get(column, [])

    def add(self, table: str, column: str, bound: Bound) -> None:
        found = self.bounds.setdefault(table, {}).setdefault(column, [])
        if bound not in found:
            found.append(bound)
        if not bound.path.hops and bound.source_column != column:
            self.extra.setdefault(table, {}).setdefault(column, set()).add(bound.source_column)


def text(ref: Ref) -> str:
    return f"{ref[0]}.{ref[1]}"


def walk_time(node: Node) -> str | None:
    """The column a walk writes its times to (None without a walk)."""
    walk = node.walk
    if walk is None:
        return None
    cols = walk.walk_columns(node)
    return cols.time if cols.time and node.column(cols.time) is not None else None


def construction(node: Node, column: str) -> Construction | None:
    """How the engine can build `column` to meet a bound (None: it cannot)."""
    col = node.column(column)
    if col is None:
        return None
    walk = node.walk
    if walk is not None and column in walk.walk_columns(node).filled(node):
        return "walk" if column == walk_time(node) else None
    gen = col.generator
    if isinstance(gen, DatetimeSeriesGen):
        regular = node.fanout is not None and node.fanout.every is not None
        return "regular" if regular and column == node.first_time_column() else "drawn"
    if isinstance(gen, DistributionGen):
        return "capped" if col.modifiers else "drawn"
    if isinstance(gen, ExpressionGen):
        return "capped"
    if isinstance(gen, LookupGen):
        return "copy"
    return None


def reads_transitively(node: Node, extra: ExtraDeps, column: str, other: str) -> bool:
    """Does `column` read `other` (a column of the same table), directly or through the columns it
    reads (declared references and the dependencies bounds already added)?"""
    seen: set[str] = set()
    todo = [column]
    while todo:
        name = todo.pop()
        col = node.column(name)
        if col is None or name in seen:
            continue
        seen.add(name)
        refs = column_local_refs(node, col) | extra.get(node.id, {}).get(name, set())
        if other in refs:
            return True
        todo.extend(refs)
    return False


class _Enforcer:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.nodes: dict[str, Node] = {}
        for n in schema.nodes:
            self.nodes.setdefault(n.id, n)  # a duplicate id is reported; references go to the first
        self.out = Enforcement()

    # --- one bound ---------------------------------------------------------------------------------
    def relation(self, target: Ref, source: Ref) -> Path | str:
        """The path from the target's row to the source's, or why there is none usable."""
        found = path_to(self.schema, target[0], source[0])
        if found is None:
            return (
                f"a row of '{target[0]}' has no row of '{source[0]}': it knows its own row, its parents' "
                "rows (and theirs), and the rows it looks up; add "
                f"'{source[0]}' to the parents of '{target[0]}' (or a lookup of its key)"
            )
        if isinstance(found, Ambiguous):
            return (
                f"a row of '{target[0]}' reaches '{source[0]}' along two paths "
                f"({found.first.describe(target[0])} and {found.second.describe(target[0])}), so which "
                f"row is meant is ambiguous; copy the column onto one of the tables in between and compare "
                "with that copy"
            )
        return found

    def order_problem(self, target: Ref, source: Ref) -> str | None:
        """A same-row bound needs the source first; not when the source is computed from the target."""
        if target[0] != source[0]:
            return None
        if target == source:
            return f"'{text(target)}' is compared with itself"
        if reads_transitively(self.nodes[target[0]], self.out.extra, source[1], target[1]):
            return (
                f"'{text(source)}' is computed from '{text(target)}' (directly or through other "
                f"columns), so '{target[1]}' cannot be built inside it"
            )
        return None

    def bound(self, target: Ref, side: Side, source: Ref, strict: bool, origin: Origin, word: str) -> Outcome:
        """Make `target` (lo) >= or (hi) <= `source` where the target can be built so."""
        node = self.nodes[target[0]]
        how = construction(node, target[1])
        if how not in ("drawn", "capped"):
            return Refused(self.cannot_build(target, how))
        if source[1] in deferred_columns(self.nodes[source[0]]):
            return Refused(
                f"{text(source)} is computed when '{source[0]}' is finished (it summarises or accumulates "
                f"other rows), after {text(target)} is drawn, so it cannot bound it; compare them in a query "
                "instead"
            )
        path = self.relation(target, source)
        if isinstance(path, str):
            return Refused(path)
        if problem := self.order_problem(target, source):
            return Refused(problem)
        b = Bound(side, source, path, strict, origin)
        self.out.add(target[0], target[1], b)
        col = node.column(target[1])
        timed = col is not None and col.type in TIME
        if how == "capped":
            where = word or "capped at"
        else:
            after, before = ("after", "before") if timed else ("no lower than", "no higher than")
            where = f"drawn {word or (after if side == 'lo' else before)}"
        via = "" if len(path.hops) < 2 else f" (through {path.describe(target[0])})"
        return Made(target, how, b, f"{where} {text(source)}{via}")

    def cannot_build(self, target: Ref, how: Construction | None) -> str:
        col = self.nodes[target[0]].column(target[1])
        kind = col.kind if col is not None else "unknown"
        if how == "walk":
            return (
                f"'{text(target)}' is filled by a walk, which starts at its parent's life start and cannot "
                "be drawn inside other bounds"
            )
        if how == "copy":
            return f"'{text(target)}' is a lookup: it copies its source and cannot be drawn inside a bound"
        return (
            f"'{text(target)}' comes from a {kind} generator, which cannot be drawn inside a bound; make it "
            "a datetime_series (times), a distribution (numbers) or an expression"
        )

    # --- declared inequalities -----------------------------------------------------------------------
    def inequality(self, q: Inequality) -> Outcome:
        left, right = split_ref(q.left), split_ref(q.right)
        if not left or not right or not self.known(left) or not self.known(right):
            return Refused(f"{q.left} {q.op} {q.right}: a side is not a column")  # reported elsewhere
        rule = f"{q.left} {q.op} {q.right}"
        if q.op == "==":
            return self.equality(rule, left, right)
        strict = q.op in (">", "<")
        # The left side is what a schema constrains ("claims.amount <= policies.coverage"): built first.
        left_side: Side = "lo" if q.op in (">", ">=") else "hi"
        right_side: Side = "hi" if left_side == "lo" else "lo"
        candidates: list[tuple[Ref, Side, Ref]] = [(left, left_side, right), (right, right_side, left)]
        reasons: list[tuple[int, str]] = []  # (0: the target's row knows the source's; 1: it does not)
        for wanted in (("drawn",), ("walk", "regular", "copy"), ("capped",), (None,)):
            for target, side, source in candidates:
                how = construction(self.nodes[target[0]], target[1])
                if how not in wanted:
                    continue
                related = not isinstance(self.relation(target, source), str)
                if how is None:
                    outcome: Outcome = Refused(self.cannot_build(target, None))
                elif how == "walk":
                    outcome = self.walk(rule, target, side, source, strict)
                elif how == "regular":
                    outcome = self.regular(target, side, source, strict)
                elif how == "copy":
                    outcome = self.copy(rule, target, source, q.op)
                else:
                    outcome = self.bound(target, side, source, strict, "inequality", "")
                if isinstance(outcome, Made):
                    note = f"{rule}: {outcome.note}"
                    return Made(outcome.target, outcome.construction, outcome.bound, note)
                reasons.append((0 if related else 1, outcome.message))
        reason = min(reasons, key=lambda r: r[0])[1]
        return Refused(f"{rule} cannot be made true by construction: {reason}")

    def walk(self, rule: str, target: Ref, side: Side, source: Ref, strict: bool) -> Outcome:
        node = self.nodes[target[0]]
        parent = self.nodes.get(node.primary_parent or "")
        start = parent.life_start_column() if parent is not None else None
        if parent is None or side != "lo" or strict or source != (parent.id, start):
            return Refused(
                f"'{text(target)}' is filled by a walk, which starts at its parent's life start"
                + (f" ('{parent.id}.{start}')" if parent is not None and start else "")
                + f"; a walk's times are only ever >= that column, so declare "
                f"'{text(target)} >= {parent.id if parent else '…'}.{start or '…'}' instead"
            )
        return Made(target, "walk", None, f"the walk of '{target[0]}' starts at {text(source)}")

    def regular(self, target: Ref, side: Side, source: Ref, strict: bool) -> Outcome:
        """A regular series' periods start inside its parent's life: at or after its start, before its
        end."""
        node = self.nodes[target[0]]
        parent = self.nodes.get(node.primary_parent or "")
        start = parent.life_start_column() if parent is not None else None
        end = parent.life_end_column() if parent is not None else None
        if parent is not None and side == "lo" and not strict and source == (parent.id, start):
            return Made(
                target, "regular", None, f"the periods of '{target[0]}' start at or after {text(source)}"
            )
        if parent is not None and side == "hi" and end is not None and source == (parent.id, end):
            return Made(target, "regular", None, f"the periods of '{target[0]}' start before {text(source)}")
        life = f"'{parent.id}.{start}'" if parent is not None and start else "the timeframe's start"
        return Refused(
            f"'{text(target)}' is the period of a regular series, one row per period of its parent's "
            f"life (from {life}); it is only ever >= that column, so it cannot be built inside other bounds"
        )

    def copy(self, rule: str, target: Ref, source: Ref, op: str) -> Outcome:
        col = self.nodes[target[0]].column(target[1])
        assert col is not None
        gen = col.generator
        node = self.nodes[target[0]]
        copies = (
            isinstance(gen, LookupGen)
            and not gen.lookup.on
            and gen.source == source
            and not gen.picks_another_row(node)
        )
        if not copies:
            return Refused(
                f"'{text(target)}' is a lookup of '{gen.args.from_ if isinstance(gen, LookupGen) else '?'}', "
                f"not of '{text(source)}'"
            )
        if op in ("<", ">"):
            return Refused(f"'{text(target)}' copies '{text(source)}', so the two are always equal")
        return Made(target, "copy", None, f"{text(target)} copies {text(source)}")

    def equality(self, rule: str, left: Ref, right: Ref) -> Outcome:
        for target, source in ((left, right), (right, left)):
            col = self.nodes[target[0]].column(target[1])
            assert col is not None
            gen = col.generator
            node = self.nodes[target[0]]
            if (
                isinstance(gen, LookupGen)
                and not gen.lookup.on
                and gen.source == source
                and not gen.picks_another_row(node)
            ):
                return Made(target, "copy", None, f"{rule}: {text(target)} copies {text(source)}")
            if (
                target[0] == source[0]
                and isinstance(gen, ExpressionGen)
                and gen.expression.code.strip() == source[1]
            ):
                return Made(target, "copy", None, f"{rule}: {text(target)} copies {text(source)}")
        if left[0] == right[0]:
            write = f'{{"expression": {{"code": "{right[1]}"}}}}'
        else:
            write = f'{{"lookup": {{"from": "{text(right)}"}}}}'
        return Refused(
            f"{rule} holds by construction only when one side copies the other; write "
            f"'{text(left)}' as {write}, or drop the constraint"
        )

    def known(self, ref: Ref) -> bool:
        node = self.nodes.get(ref[0])
        return node is not None and node.column(ref[1]) is not None

    # --- bounds from the language itself -------------------------------------------------------------
    def windows(self) -> None:
        """`within` sides read from a related row: [start, end) of each row's own window."""
        for node in self.schema.nodes:
            for col in node.columns:
                gen = col.generator
                if not isinstance(gen, DatetimeSeriesGen):
                    continue
                for side, source in gen.related_window():
                    ref = (node.id, col.name)
                    if not self.known(source):
                        continue  # reported by the column's own check
                    word = "inside the window from" if side == "lo" else "before the window end"
                    # the end of a window is exclusive, as the timeframe's
                    outcome = self.bound(ref, side, source, side == "hi", "window", word)
                    self.out.windows.setdefault(ref, []).append(outcome)

    def creation(self) -> None:
        """A parent's behaviour blocks bound its children's own time (never before its creation)."""
        for node in self.schema.nodes:
            parent = self.nodes.get(node.primary_parent or "")
            tcol = node.first_time_column()
            col = node.column(tcol) if tcol else None
            if (
                parent is None
                or col is None
                or tcol is None
                or not isinstance(col.generator, DatetimeSeriesGen)
            ):
                continue
            if construction(node, tcol) != "drawn":
                continue
            hop = path_to(self.schema, node.id, parent.id)
            if not isinstance(hop, Path):
                continue
            for side, column in parent_bounds(parent):
                self.out.add(node.id, tcol, Bound(side, (parent.id, column), hop, False, "creation"))

    def chains(self) -> None:
        """Facts born from facts: a child's own time at or after its parent's own time, and inside every
        upper bound of its parent's time (parents first, so bounds pass down a whole chain)."""
        try:
            order = list(TopologicalSorter(table_dependencies(self.schema)).static_order())
        except CycleError:
            return  # reported by the table checks
        for tid in order:
            node = self.nodes.get(tid)
            if node is None or node.kind != "fact" or not node.parents:
                continue
            parent = self.nodes.get(node.parents[0])
            if parent is None or parent.kind != "fact":
                continue
            own, theirs = node.first_time_column(), parent.life_start_column()
            if own is None or theirs is None or theirs in deferred_columns(parent):
                continue  # a time computed when the parent is finished (a rollup) starts nothing
            path = path_to(self.schema, node.id, parent.id)
            if not isinstance(path, Path) or len(path.hops) != 1:
                continue
            hop = path.hops[0]
            col = node.column(own)
            if own == walk_time(node) or construction(node, own) == "regular":  # both start at its start
                self.out.chains.append(Chain(node.id, own, parent.id, theirs, hop))
                continue
            if (
                col is None
                or construction(node, own) != "drawn"
                or not isinstance(col.generator, DatetimeSeriesGen)
            ):
                continue  # only drawn times are chained
            self.out.chains.append(Chain(node.id, own, parent.id, theirs, hop))
            self.out.add(node.id, own, Bound("lo", (parent.id, theirs), path, False, "chain"))
            for b in self.out.column_bounds(parent.id, theirs):
                if b.side == "hi":
                    self.out.add(
                        node.id,
                        own,
                        Bound("hi", b.source, extended(hop, b.path), b.strict, "ancestor window"),
                    )


def parent_bounds(parent: Node) -> list[tuple[Side, str]]:
    """The bounds a parent's behaviour blocks put on its children's own time."""
    out: list[tuple[Side, str]] = []
    for block in parent.behaviours:
        for side, column in block.child_time_bounds():
            if (side, column) not in out:
                out.append((side, column))
    return out


def enforcement(schema: Schema) -> Enforcement:
    """How every relation of `schema` is made true, or why it cannot be (the schema's references are
    assumed to resolve where they matter; unresolved ones are skipped)."""
    e = _Enforcer(schema)
    for q in schema.constraints.inequalities:
        e.out.inequalities.append(e.inequality(q))
    e.windows()
    e.creation()
    e.chains()
    return e.out
