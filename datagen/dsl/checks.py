"""Cross-reference checks (DSL.md §2–8): everything a single object cannot know about itself.
All findings are gathered; each names a path, what was found, what is allowed and, where close, a fix."""

from __future__ import annotations

import math
from graphlib import CycleError, TopologicalSorter

from datagen.dsl.expressions import expression_problems, referenced_columns
from datagen.dsl.feasibility import check_feasible
from datagen.dsl.issues import IssueList, PathPart, allowed_list, did_you_mean
from datagen.dsl.models import Column, ForeignKey, Node, RangeConstraint, Schema, parse_instant
from datagen.dsl.modifiers import TIME_ARGUMENT
from datagen.dsl.references import (
    column_local_refs,
    first_datetime_column,
    modifier_time_column,
    split_ref,
    table_dependencies,
    table_refs,
)
from datagen.faker_pool import method_problem

Path = list[PathPart]
NUMERIC = ("int", "float")
TIME = ("datetime", "date")
# Which column types each generator can fill.
GENERATOR_TYPES = {
    "sequence": ("int", "string"),
    "distribution": ("int", "float"),
    "datetime_series": TIME,
}
INFLUENCE_WORDS = ("hour", "dow", "month", "outliers", "trend", "segment")


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def comparable(a: str, b: str) -> bool:
    """Column types whose values can meet: in a join, an inequality or a copy between non-key columns."""
    return a == b or {a, b} <= set(NUMERIC) or {a, b} <= set(TIME)


class Checker:
    """One pass over a parsed schema. Mutates `schema.constraints` only to add implied constraints."""

    def __init__(self, schema: Schema, issues: IssueList) -> None:
        self.s = schema
        self.issues = issues
        self.nodes: dict[str, Node] = {}
        for n in schema.nodes:
            self.nodes.setdefault(n.id, n)  # a duplicate id is reported; references go to the first

    # --- reference helpers -------------------------------------------------------------------------
    def table(self, table_id: str, path: Path, what: str = "table") -> Node | None:
        node = self.nodes.get(table_id)
        if node is None:
            self.issues.error(
                path,
                f"unknown {what} '{table_id}'{did_you_mean(table_id, self.nodes)} "
                f"(tables: {allowed_list(self.nodes)})",
                code="unknown_table",
            )
        return node

    def column(
        self, node: Node, name: str, path: Path, types: tuple[str, ...] | None = None
    ) -> Column | None:
        col = node.column(name)
        if col is None:
            self.issues.error(
                path,
                f"unknown column '{name}' in table '{node.id}'{did_you_mean(name, node.column_names)} "
                f"(columns: {allowed_list(node.column_names)})",
                code="unknown_column",
            )
            return None
        if types and col.type not in types:
            self.issues.error(
                path,
                f"column '{node.id}.{name}' has type {col.type}; expected {' or '.join(types)}",
                code="wrong_type",
            )
        return col

    def ref(self, ref: str, path: Path, types: tuple[str, ...] | None = None) -> tuple[Node, Column] | None:
        parts = split_ref(ref)
        if parts is None:
            self.issues.error(path, f"'{ref}' is not of the form 'table.column'", code="bad_reference")
            return None
        node = self.table(parts[0], path)
        if node is None:
            return None
        col = self.column(node, parts[1], path, types)
        return (node, col) if col else None

    # --- the checks --------------------------------------------------------------------------------
    def run(self) -> None:
        self.check_ids()
        for ni, node in enumerate(self.s.nodes):
            self.check_node(ni, node)
        self.check_table_graph()
        self.check_constraints()
        self.check_targets()
        check_feasible(self.s, self.issues)
        self.add_implied_constraints()

    def check_ids(self) -> None:
        seen: set[str] = set()
        for ni, node in enumerate(self.s.nodes):
            if node.id in seen:
                self.issues.error(
                    ["nodes", ni, "id"],
                    f"duplicate table id '{node.id}'; ids must be unique",
                    code="duplicate_id",
                )
            seen.add(node.id)
            names: set[str] = set()
            for ci, col in enumerate(node.columns):
                if col.name in names:
                    self.issues.error(
                        ["nodes", ni, "columns", ci, "name"],
                        f"duplicate column '{col.name}' in table '{node.id}'",
                        code="duplicate_id",
                    )
                names.add(col.name)

    def check_node(self, ni: int, node: Node) -> None:
        base: Path = ["nodes", ni]
        if node.pk is not None:
            pk = self.column(node, node.pk, [*base, "pk"])
            if pk is not None and (pk.nullable or pk.null_rate):
                self.issues.error(
                    [*base, "pk"], f"primary key '{node.pk}' must not be nullable", code="nullable_pk"
                )
        if node.kind != "fact":
            for key in ("parents", "fanout", "stage_config", "state_transition_model"):
                if getattr(node, key) is not None:
                    self.issues.error(
                        [*base, key],
                        f"'{key}' is only allowed on facts; '{node.id}' is {_article(node.kind)}"
                        + (' (make it "kind": "fact" with parents)' if key in ("parents", "fanout") else ""),
                        code="wrong_kind",
                    )
        else:
            if node.fanout is not None and not node.parents:
                self.issues.error(
                    [*base, "fanout"],
                    "fanout needs 'parents' (the first parent drives row creation)",
                    code="fanout_without_parent",
                )
            if node.parents and node.rows is not None:
                self.issues.warning(
                    [*base, "rows"],
                    "rows is ignored on a fact with parents (its fanout sets the row count); remove it",
                    code="ignored_rows",
                )
        if node.kind != "entity":
            for key in ("segment_behavior", "vintage_behavior"):
                if getattr(node, key) is not None:
                    self.issues.error(
                        [*base, key],
                        f"'{key}' is only allowed on entities; '{node.id}' is {_article(node.kind)}",
                        code="wrong_kind",
                    )
        if node.kind == "vocab":
            self.check_vocab(ni, node)
        for pi, parent in enumerate(node.parents or []):
            self.table(parent, [*base, "parents", pi], "parent table")
        for ci, col in enumerate(node.columns):
            self.check_column(node, col, [*base, "columns", ci])
        for mi, mod in enumerate(node.modifiers):
            self.check_effect(node, mod.args, [*base, "modifiers", mi, "args"], table_level=True)
        self.check_column_order(ni, node)
        self.check_behaviours(ni, node)

    def check_vocab(self, ni: int, node: Node) -> None:
        lengths = {c.name: len(c.args.values) for c in node.columns if c.kind == "enum_list"}
        if not lengths:
            self.issues.error(
                ["nodes", ni, "columns"],
                "a vocab table needs at least one enum_list column",
                code="vocab_without_values",
            )
        if len(set(lengths.values())) > 1:
            self.issues.error(
                ["nodes", ni, "columns"],
                "enum_list columns of a vocab table are zipped row by row, so "
                f"they need the same length (found {lengths})",
                code="vocab_lengths",
            )
        for ci, col in enumerate(node.columns):
            if col.kind in ("choice", "distribution", "faker", "datetime_series"):
                self.issues.error(
                    ["nodes", ni, "columns", ci, "generator"],
                    f"vocab columns are not independently random ('{col.kind}'); use enum_list, or derive "
                    "from one with expression or a map_values modifier",
                    code="vocab_random",
                )
        if node.rows is not None:
            self.issues.warning(
                ["nodes", ni, "rows"],
                "rows is ignored on a vocab table (it has one row per enum_list value)",
                code="ignored_rows",
            )

    def check_column(self, node: Node, col: Column, path: Path) -> None:
        kind, args = col.kind, col.args
        gpath = [*path, "generator", kind]
        allowed = GENERATOR_TYPES.get(kind)
        if allowed and col.type not in allowed:
            self.issues.error(
                [*path, "type"],
                f"a {kind} generator fills {' or '.join(allowed)} columns, not {col.type}",
                code="wrong_type",
            )
        if kind == "enum_list" and node.kind != "vocab":
            self.issues.error(
                gpath,
                "enum_list is for vocab tables; use choice to draw from a list",
                code="enum_list_outside_vocab",
            )
        if kind == "choice":
            if args.choices_ref:
                self.ref(args.choices_ref, [*gpath, "choices_ref"])
        elif kind == "datetime_series":
            if not isinstance(args.within, str):
                try:
                    if parse_instant(args.within.start) >= parse_instant(args.within.end):
                        self.issues.error(
                            [*gpath, "within"], "within.start must be before within.end", code="bad_window"
                        )
                except ValueError:
                    self.issues.error(
                        [*gpath, "within"], "within.start/end must be ISO-8601 timestamps", code="bad_window"
                    )
        elif kind == "faker":
            if p := method_problem(args.method, args.args, locale=args.locale):
                about_locale = p.startswith(("unknown locale", "faker locale"))
                self.issues.error([*gpath, "locale" if about_locale else "method"], p, code="faker_method")
            if args.locale_from:
                self.column(node, args.locale_from, [*gpath, "locale_from"])
        elif kind == "distribution" and args.clamp:
            self.check_whole_number_inside(col, *args.clamp, [*gpath, "clamp"], "clamp")
        elif kind == "expression":
            problems = expression_problems(args.code, node.column_names)
            for problem in problems:
                self.issues.error([*gpath, "code"], problem.message, code="expression")
            if not problems and col.name in referenced_columns(args.code):
                self.issues.error(
                    [*gpath, "code"],
                    f"the expression of '{col.name}' uses '{col.name}' itself, which does not exist yet; "
                    "compute it from other columns",
                    code="expression_self_reference",
                )
        elif kind == "lookup":
            self.check_lookup(node, col, args, gpath)
        for mi, mod in enumerate(col.modifiers):
            self.check_modifier(node, col, mod, [*path, "modifiers", mi])
        if col.constraints:
            c = col.constraints
            if c.enum_ref:
                self.ref(c.enum_ref, [*path, "constraints", "enum_ref"])

    def check_lookup(self, node: Node, col: Column, args, gpath: Path) -> None:
        found = self.ref(args.from_, [*gpath, "from"])
        if not found:
            return
        src, src_col = found
        if src_col.type != col.type and (src_col.name == src.pk or not comparable(src_col.type, col.type)):
            self.issues.error(
                [*gpath, "from"],
                f"'{col.name}' is {col.type} but '{args.from_}' is {src_col.type}; a lookup copies the "
                f"values (and keys keep their type), so make '{col.name}' {src_col.type}",
                code="type_mismatch",
            )
        if src is node:
            if args.on:
                self.issues.error([*gpath, "on"], "a self-reference cannot use 'on'", code="self_lookup_on")
            elif src.pk != src_col.name:
                self.issues.error(
                    [*gpath, "from"],
                    f"a self-reference must point at the table's primary key "
                    f"('{node.id}.{node.pk}'), so each row can name an earlier row",
                    code="self_ref_not_pk",
                )
            elif src_col.kind != "sequence":
                self.issues.error(
                    [*gpath, "from"],
                    f"a self-reference needs the primary key '{node.id}.{node.pk}' to be a sequence "
                    "(earlier rows are found by their position)",
                    code="self_ref_not_sequence",
                )
            elif not col.nullable:
                self.issues.error(
                    [*gpath[:-2]],
                    f"self-reference '{col.name}' needs \"nullable\": true: the first "
                    "row has no earlier row to point at",
                    code="self_ref_not_nullable",
                )
            return
        if args.on:
            for local, source in args.on.items():
                local_col = self.column(node, local, [*gpath, "on", local])
                source_col = self.column(src, source, [*gpath, "on", local])
                if local_col and source_col and not comparable(local_col.type, source_col.type):
                    self.issues.error(
                        [*gpath, "on", local],
                        f"joins '{node.id}.{local}' ({local_col.type}) with '{src.id}.{source}' "
                        f"({source_col.type}); values of these types never match",
                        code="type_mismatch",
                    )
                if source_col is not None and not self.is_unique(src, source_col):
                    self.issues.error(
                        [*gpath, "on", local],
                        f"'{src.id}.{source}' is not unique, so a join on it is ambiguous; join on "
                        f"'{src.id}.{src.pk}' or declare it unique",
                        code="lookup_not_unique",
                    )

    def is_unique(self, node: Node, col: Column) -> bool:
        return (
            col.name == node.pk
            or f"{node.id}.{col.name}" in self.s.constraints.unique
            or (col.kind == "faker" and col.args.unique)
            or (
                node.kind == "vocab"
                and col.kind in ("enum_list", "sequence")
                and (col.kind == "sequence" or len(set(map(str, col.args.values))) == len(col.args.values))
            )
        )

    def check_modifier(self, node: Node, col: Column, mod, path: Path) -> None:
        t, args = mod.transform, mod.args
        if t in ("multiply", "add", "clamp", "jitter", "outliers", "trend") and col.type not in (*NUMERIC,):
            self.issues.error(
                [*path, "transform"],
                f"'{t}' works on numeric columns; '{col.name}' is {col.type}",
                code="wrong_type",
            )
        if t == "time_jitter" and col.type not in TIME:
            self.issues.error(
                [*path, "transform"],
                f"'time_jitter' works on datetime columns; '{col.name}' is {col.type}",
                code="wrong_type",
            )
        if t == "seasonality":
            if col.type in TIME and args.time_column is None and col.kind != "datetime_series":
                self.issues.error(
                    [*path, "transform"],
                    f"seasonality on a datetime column shapes a datetime_series; '{col.name}' is not one",
                    code="wrong_generator",
                )
            elif col.type not in (*NUMERIC, *TIME):
                self.issues.error(
                    [*path, "transform"],
                    f"'seasonality' works on numeric or datetime columns; '{col.name}' is {col.type}",
                    code="wrong_type",
                )
        if t in TIME_ARGUMENT and not (t == "seasonality" and col.type in TIME and args.time_column is None):
            self.check_time_column(node, col, t, args, [*path, "args", TIME_ARGUMENT[t]])
        if t == "effect":
            self.check_effect(node, args, [*path, "args"], table_level=False)
        if t == "outliers" and args.mode == "burst" and first_datetime_column(node, exclude=col.name) is None:
            self.issues.error(
                [*path, "args", "mode"],
                "a 'burst' is a run of rows in time; the table has no datetime column",
                code="no_time_column",
            )

    def check_time_column(self, node: Node, col: Column, transform: str, args, path: Path) -> None:
        chosen = modifier_time_column(node, col, transform, args)
        if chosen is None:
            self.issues.error(
                path,
                f"'{transform}' reads time, but table '{node.id}' has no datetime column; add one "
                f"or name it in '{TIME_ARGUMENT[transform]}'",
                code="no_time_column",
            )
            return
        if getattr(args, TIME_ARGUMENT[transform], None) is None:
            self.issues.note(
                path,
                f"'{transform}' on '{node.id}.{col.name}' uses time column '{chosen}' (the table's "
                "first datetime column)",
                code="default_time_column",
            )
        else:
            self.column(node, chosen, path, TIME)

    def check_effect(self, node: Node, args, path: Path, *, table_level: bool) -> None:
        effect = self.table(args.effect_table, [*path, "effect_table"], "effect table")
        # A table-level effect scales fanout, so its keys and time are read on the primary parent's row.
        local = self.nodes.get(node.primary_parent or "") if table_level else node
        if table_level and local is None:
            self.issues.error(
                path,
                "a table-level effect scales fanout and needs a fact with parents",
                code="effect_without_parent",
            )
            return
        if effect is None or local is None:
            return
        for lk, ek in args.on.items():
            self.column(local, lk, [*path, "on", lk])
            self.column(effect, ek, [*path, "on", lk])
        self.column(effect, args.window.start_col, [*path, "window", "start_col"], TIME)
        self.column(effect, args.window.end_col, [*path, "window", "end_col"], TIME)
        self.column(effect, args.map.field, [*path, "map", "field"], NUMERIC)
        tcol = args.time_column or first_datetime_column(local)
        if tcol is None:
            self.issues.error(
                [*path, "time_column"],
                f"an effect is matched by time, but '{local.id}' has no datetime column",
                code="no_time_column",
            )
        elif args.time_column:
            self.column(local, tcol, [*path, "time_column"], TIME)

    def check_column_order(self, ni: int, node: Node) -> None:
        names = set(node.column_names)
        graph = {c.name: column_local_refs(node, c) & names for c in node.columns}
        try:
            tuple(TopologicalSorter(graph).static_order())
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            self.issues.error(
                ["nodes", ni, "columns"],
                f"columns refer to each other in a cycle: {cycle}; break it "
                "by generating one of them independently",
                code="column_cycle",
            )

    def check_table_graph(self) -> None:
        deps = table_dependencies(self.s)
        try:
            order = list(TopologicalSorter(deps).static_order())
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            self.issues.error(
                ["nodes"],
                f"tables depend on each other in a cycle: {cycle} (through parents, lookups, "
                "choices_ref or effect tables); one of them must not refer back",
                code="table_cycle",
            )
            return
        if self.s.dag is None:
            return
        level: dict[str, int] = {}
        for li, group in enumerate(self.s.dag):
            for gi, tid in enumerate(group):
                if tid in level:
                    self.issues.error(["dag", li, gi], f"'{tid}' appears twice in dag", code="dag")
                elif self.table(tid, ["dag", li, gi]):
                    level[tid] = li
        missing = [t for t in order if t not in level]
        if missing:
            self.issues.error(
                ["dag"], f"dag must list every table once; missing: {', '.join(missing)}", code="dag"
            )
        for tid, before in deps.items():
            for dep in before:
                if tid in level and dep in level and level[dep] >= level[tid]:
                    self.issues.error(
                        ["dag"],
                        f"dag puts '{tid}' (level {level[tid]}) no later than '{dep}' "
                        f"(level {level[dep]}), but '{tid}' depends on '{dep}'",
                        code="dag",
                    )

    def check_constraints(self) -> None:
        c = self.s.constraints
        for i, ref in enumerate(c.unique):
            self.ref(ref, ["constraints", "unique", i])
        for i, fk in enumerate(c.foreign_keys):
            self.ref(fk.from_, ["constraints", "foreign_keys", i, "from"])
            self.ref(fk.to, ["constraints", "foreign_keys", i, "to"])
        for i, r in enumerate(c.ranges):
            found = self.ref(r.attr, ["constraints", "ranges", i, "attr"])
            if found:
                self.check_range_bounds(found[1], r, ["constraints", "ranges", i])
            if (
                found
                and r.min is not None
                and r.max is not None
                and type(r.min) is type(r.max)
                and r.min > r.max
            ):
                self.issues.error(
                    ["constraints", "ranges", i], f"min ({r.min}) > max ({r.max})", code="bad_range"
                )
        for i, q in enumerate(c.inequalities):
            left = self.ref(q.left, ["constraints", "inequalities", i, "left"])
            right = self.ref(q.right, ["constraints", "inequalities", i, "right"])
            if left and right:
                self.check_inequality_tables(left[0], right[0], ["constraints", "inequalities", i])
                if not comparable(left[1].type, right[1].type):
                    self.issues.error(
                        ["constraints", "inequalities", i],
                        f"compares '{q.left}' ({left[1].type}) with '{q.right}' ({right[1].type}); "
                        "compare numbers with numbers and times with times",
                        code="type_mismatch",
                    )
        for i, p in enumerate(c.pattern):
            self.ref(p.attr, ["constraints", "pattern", i, "attr"])
        for i, e in enumerate(c.enum):
            self.ref(e.attr, ["constraints", "enum", i, "attr"])
            if e.enum_ref:
                self.ref(e.enum_ref, ["constraints", "enum", i, "enum_ref"])

    def check_whole_number_inside(self, col: Column, lo: object, hi: object, path: Path, what: str) -> None:
        """An int column is rounded last, so [lo, hi] must contain a whole number to be met at all."""
        numbers = isinstance(lo, int | float) and isinstance(hi, int | float)
        if col.type == "int" and numbers and math.ceil(lo) > math.floor(hi):
            self.issues.error(
                path,
                f"{what} [{lo:g}, {hi:g}] contains no whole number, and '{col.name}' is an int column; "
                "widen it or make the column a float",
                code="empty_int_range",
            )

    def check_range_bounds(self, col: Column, r: RangeConstraint, path: Path) -> None:
        """Numbers bound numeric columns, ISO-8601 text bounds time columns; nothing else has a range."""
        if col.type not in (*NUMERIC, *TIME):
            self.issues.error(
                [*path, "attr"],
                f"ranges apply to numeric and datetime columns; '{col.name}' is {col.type} "
                "(use an enum or pattern constraint)",
                code="wrong_type",
            )
            return
        self.check_whole_number_inside(col, r.min, r.max, path, "range")
        for key in ("min", "max"):
            bound = getattr(r, key)
            if bound is None:
                continue
            if col.type in NUMERIC and isinstance(bound, str):
                self.issues.error(
                    [*path, key],
                    f"'{col.name}' is {col.type}, so {key} is a number; found '{bound}'",
                    code="wrong_type",
                )
            elif col.type in TIME and not isinstance(bound, str):
                self.issues.error(
                    [*path, key],
                    f"'{col.name}' is {col.type}, so {key} is an ISO-8601 timestamp in quotes "
                    f'(e.g. "2024-01-01"); found {bound:g}',
                    code="wrong_type",
                )
            elif col.type in TIME:
                try:
                    parse_instant(bound)
                except ValueError:
                    self.issues.error(
                        [*path, key], f"'{bound}' is not an ISO-8601 date or timestamp", code="wrong_type"
                    )

    def check_inequality_tables(self, left: Node, right: Node, path: Path) -> None:
        """An inequality compares rows of one table, or a child with its parent (through their key)."""
        if left.id == right.id:
            return
        related = right.id in (left.parents or []) or left.id in (right.parents or [])
        if not related:
            self.issues.error(
                path,
                f"an inequality compares a row with itself or with its parent; '{left.id}' and "
                f"'{right.id}' are not parent and child",
                code="unrelated_inequality",
            )

    def check_targets(self) -> None:
        t = self.s.targets
        if t is None:
            return
        for i, ws in enumerate(t.weekend_share):
            path: Path = ["targets", "weekend_share", i]
            node = self.table(ws.table, [*path, "table"])
            col = self.column(node, ws.timestamp, [*path, "timestamp"], TIME) if node else None
            if ws.min > ws.max:
                self.issues.error(path, f"min ({ws.min}) > max ({ws.max})", code="bad_range")
            elif node and col is not None:
                self.check_weekend_reachable(col, ws.min, ws.max, path)
        for i, m in enumerate(t.mean_in_range):
            path = ["targets", "mean_in_range", i]
            node = self.table(m.table, [*path, "table"])
            if node:
                self.column(node, m.column, [*path, "column"], NUMERIC)
            if m.min > m.max:
                self.issues.error(path, f"min ({m.min}) > max ({m.max})", code="bad_range")
        for i, ce in enumerate(t.composite_effect):
            path = ["targets", "composite_effect", i]
            node = self.table(ce.table, [*path, "table"])
            if node is None:
                continue
            self.column(node, ce.metric, [*path, "metric"], NUMERIC)
            effect_tables = {
                m.args.effect_table for c in node.columns for m in c.modifiers if m.transform == "effect"
            }
            allowed = (*INFLUENCE_WORDS, *sorted(effect_tables))
            for ii, inf in enumerate(ce.influences):
                if inf not in allowed:
                    self.issues.error(
                        [*path, "influences", ii],
                        f"unknown influence '{inf}'{did_you_mean(inf, allowed)}"
                        f" (expected one of: {', '.join(allowed)})",
                        code="unknown_influence",
                    )

    def check_weekend_reachable(self, col: Column, lo: float, hi: float, path: Path) -> None:
        """Warn when the declared dow weights put the expected weekend share outside the target range."""
        weights = None
        if col.kind == "datetime_series":
            weights = [1.0] * 7
            for pat in col.args.pattern:
                if pat.dimension == "dow" and len(pat.weights) == 7:
                    weights = [a * b for a, b in zip(weights, pat.weights, strict=True)]
            for mod in col.modifiers:
                if (
                    mod.transform == "seasonality"
                    and mod.args.dimension == "dow"
                    and len(mod.args.weights) == 7
                ):
                    weights = [a * b for a, b in zip(weights, mod.args.weights, strict=True)]
        if not weights or sum(weights) <= 0:
            return
        share = (weights[5] + weights[6]) / sum(weights)
        if not lo - 1e-9 <= share <= hi + 1e-9:
            self.issues.warning(
                path,
                f"the dow weights of '{col.name}' give a weekend share of {share:.3f}, outside the "
                f"target [{lo}, {hi}]; change the weights or the target",
                code="unreachable_target",
            )

    def check_behaviours(self, ni: int, node: Node) -> None:
        base: Path = ["nodes", ni]
        children = [n for n in self.s.nodes if node.id in (n.parents or [])]
        child_ids = [n.id for n in children]

        def child_column(ref: str, path: Path) -> None:
            found = self.ref(ref, path, NUMERIC)
            if found and found[0].id not in child_ids:
                self.issues.error(
                    path,
                    f"'{ref}' is not in a child table of '{node.id}' (children: "
                    f"{', '.join(child_ids) or 'none'})",
                    code="not_a_child",
                )
            elif found and (found[1].name == found[0].pk or found[1].kind == "lookup"):
                self.issues.error(
                    path,
                    f"'{ref}' is a key (or copied from another table); keys are never scaled",
                    code="scaled_key",
                )

        if (sb := node.segment_behavior) is not None:
            path = [*base, "segment_behavior"]
            seg = self.column(node, sb.segment_column, [*path, "segment_column"])
            if seg is not None and seg.kind == "choice" and seg.args.choices is not None:
                values = [str(v) for v in seg.args.choices]
                for name in sb.behaviors:
                    if name not in values:
                        self.issues.warning(
                            [*path, "behaviors", name],
                            f"segment '{name}' is not a value of "
                            f"'{sb.segment_column}'{did_you_mean(name, values)} (values: "
                            f"{', '.join(values)})",
                            code="unknown_segment",
                        )
            for i, ref in enumerate(sb.applies_to_columns):
                child_column(ref, [*path, "applies_to_columns", i])
        if (vb := node.vintage_behavior) is not None:
            path = [*base, "vintage_behavior"]
            self.column(node, vb.created_at_column, [*path, "created_at_column"], TIME)
            for name, mult in vb.age_based_multipliers.items():
                if isinstance(mult.applies_to, list):
                    for i, ref in enumerate(mult.applies_to):
                        where = [*path, "age_based_multipliers", name, "applies_to", i]
                        child_column(ref, where)
                        child = self.nodes.get(split_ref(ref)[0]) if split_ref(ref) else None
                        if child is not None and first_datetime_column(child) is None:
                            self.issues.error(
                                where,
                                f"a value curve is read at each child's age, but '{child.id}' has no "
                                "datetime column; add one (e.g. the event time) or drop it from applies_to",
                                code="no_time_column",
                            )
                elif not any(c.fanout is not None for c in children if c.primary_parent == node.id):
                    self.issues.warning(
                        [*path, "age_based_multipliers", name],
                        f"applies_to 'fanout' but no fact has '{node.id}' as its first parent with a fanout",
                        code="no_fanout",
                    )
        if (sc := node.stage_config) is not None:
            path = [*base, "stage_config"]
            cols = sc.columns
            self.behaviour_column(
                node,
                cols.stage_name if cols else "stage_name",
                [*path, "columns", "stage_name"],
                explicit=cols is not None,
            )
            if cols is None or cols.stage_index:
                name = cols.stage_index if cols else "stage_index"
                if cols is not None or node.column(name) is not None:
                    self.behaviour_column(
                        node, name, [*path, "columns", "stage_index"], explicit=True, types=NUMERIC
                    )
            self.behaviour_time(node, cols.time if cols else None, [*path, "columns", "time"])
            self.check_segment_variation(node, sc.segment_variation, [*path, "segment_variation"])
            names = [s.stage_name for s in sc.stages]
            if len(set(names)) != len(names):
                self.issues.error([*path, "stages"], "stage names must be unique", code="duplicate_id")
        if (sm := node.state_transition_model) is not None:
            path = [*base, "state_transition_model"]
            states = list(sm.states)
            if sm.initial_state not in sm.states:
                self.issues.error(
                    [*path, "initial_state"],
                    f"unknown state '{sm.initial_state}'"
                    f"{did_you_mean(sm.initial_state, states)} (states: {', '.join(states)})",
                    code="unknown_state",
                )
            for name, spec in sm.states.items():
                for nxt in spec.next_states:
                    if nxt not in sm.states:
                        self.issues.error(
                            [*path, "states", name, "next_states", nxt],
                            f"unknown state '{nxt}'{did_you_mean(nxt, states)} (states: {', '.join(states)})",
                            code="unknown_state",
                        )
                total = sum(spec.next_states.values())
                if spec.next_states and abs(total - 1) > 1e-6:
                    self.issues.note(
                        [*path, "states", name, "next_states"],
                        f"probabilities sum to {total:g}; they are normalised to 1",
                        code="normalised_weights",
                    )
            cols = sm.columns
            self.behaviour_column(
                node, cols.state if cols else "state", [*path, "columns", "state"], explicit=cols is not None
            )
            prev = cols.previous_state if cols else "previous_state"
            if prev and (cols is not None or node.column(prev) is not None):
                self.behaviour_column(node, prev, [*path, "columns", "previous_state"], explicit=True)
            self.behaviour_time(node, cols.time if cols else None, [*path, "columns", "time"])
            self.check_segment_variation(node, sm.segment_variation, [*path, "segment_variation"])
        if node.stage_config is not None and node.state_transition_model is not None:
            self.issues.error(
                base, "a fact can walk stages or states, not both; split it into two facts", code="two_walks"
            )

    def behaviour_column(
        self, node: Node, name: str, path: Path, *, explicit: bool, types: tuple[str, ...] | None = None
    ) -> None:
        col = node.column(name)
        if col is None and not explicit:
            self.issues.error(
                path,
                f"table '{node.id}' has no column '{name}' for the block to fill; add it or name "
                'the column in "columns"',
                code="unknown_column",
            )
            return
        col = self.column(node, name, path, types)
        if col is not None:
            self.issues.note(
                path,
                f"'{node.id}.{name}' is filled by the behaviour block; its generator is a placeholder",
                code="behaviour_overrides",
            )

    def behaviour_time(self, node: Node, name: str | None, path: Path) -> None:
        if name:
            self.column(node, name, path, TIME)
        elif first_datetime_column(node) is None:
            self.issues.error(
                path, f"table '{node.id}' has no datetime column for the walk's times", code="no_time_column"
            )

    def check_segment_variation(self, node: Node, variation: dict, path: Path) -> None:
        if not variation:
            return
        parent = self.nodes.get(node.primary_parent or "")
        if parent is None or parent.segment_behavior is None:
            self.issues.error(
                path,
                f"segment_variation needs the first parent of '{node.id}' to declare "
                "segment_behavior (which column holds the segment)",
                code="no_segments",
            )

    def add_implied_constraints(self) -> None:
        c = self.s.constraints
        for node in self.s.nodes:
            if node.pk and node.column(node.pk) and f"{node.id}.{node.pk}" not in c.unique:
                c.unique.append(f"{node.id}.{node.pk}")
                self.issues.note(
                    ["constraints", "unique"],
                    f"added implied unique '{node.id}.{node.pk}' (primary key)",
                    code="implied_constraint",
                )
        declared = {(fk.from_, fk.to) for fk in c.foreign_keys}
        for ni, node, ref in table_refs(self.s):
            if ref.why != "lookup" or ref.target not in self.nodes:
                continue
            col = node.columns[ref.path[3]]
            target = self.nodes[ref.target]
            parts = split_ref(col.args.from_)
            if parts and target.pk == parts[1] and not col.args.on and target.column(parts[1]) is not None:
                pair = (f"{node.id}.{col.name}", col.args.from_)
                if pair not in declared:
                    c.foreign_keys.append(ForeignKey.model_validate({"from": pair[0], "to": pair[1]}))
                    declared.add(pair)
                    self.issues.note(
                        ["nodes", ni, "columns", ref.path[3]],
                        f"added implied foreign key {pair[0]} -> {pair[1]}",
                        code="implied_constraint",
                    )
