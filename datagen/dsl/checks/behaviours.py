"""Checks of the behaviour blocks of a table, one per block (keyed on the block's model type): the
columns each reads or fills exist with the right type, and the child columns it scales are values,
never keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datagen.dsl.base import NUMERIC, TIME, split_ref
from datagen.dsl.behaviours import (
    ActiveIn,
    Activity,
    Attribution,
    BehaviourBlock,
    Lifetime,
    SegmentBehavior,
    StageConfig,
    StateTransitionModel,
    VintageBehavior,
)
from datagen.dsl.checks.attribution import attribution
from datagen.dsl.generators import ChoiceGen, DatetimeSeriesGen, LookupGen
from datagen.dsl.issues import did_you_mean
from datagen.dsl.models import Node
from datagen.dsl.modifiers import TimeJitter
from datagen.dsl.related_rows import first_parent_line

if TYPE_CHECKING:
    from datagen.dsl.checks import Checker, Path


def check_behaviours(c: Checker, ni: int, node: Node) -> None:
    base: Path = ["nodes", ni]
    for block in node.behaviours:
        BEHAVIOUR_CHECKS[type(block)](c, node, block, [*base, block.keyword])
    if node.stage_config is not None and node.state_transition_model is not None:
        c.issues.error(
            base, "a fact can walk stages or states, not both; split it into two facts", code="two_walks"
        )


def _children(c: Checker, node: Node) -> list[Node]:
    return [n for n in c.s.nodes if node.id in (n.parents or [])]


def _child_column(c: Checker, node: Node, ref: str, path: Path, *, descendants: bool = False) -> None:
    """A column a block scales: numeric, in a child table (`descendants`: or in a table descended from
    one through first parents), and neither a key nor a value a check must find in another table."""
    child_ids = [n.id for n in _children(c, node)]
    found = c.ref(ref, path, NUMERIC)
    if not found:
        return
    table, col = found
    gen = col.generator
    if table.id not in child_ids and not (descendants and node.id in first_parent_line(c.s, table)):
        children = ", ".join(child_ids) or "none"
        why = (
            _not_a_descendant(c, node, table, ref, child_ids)
            if descendants
            else f"'{ref}' is not in a child table of '{node.id}' (children: {children})"
        )
        c.issues.error(path, why, code="not_a_child")
    elif col.name == table.pk or (isinstance(gen, LookupGen) and gen.is_key_into(c.s)):
        c.issues.error(
            path,
            f"'{ref}' is a key (the table's own, or one copied from another table); keys are never scaled",
            code="scaled_key",
        )
    elif isinstance(gen, LookupGen) and gen.lookup.scoped:
        c.issues.error(
            path,
            f"'{ref}' is picked from a random matching '{gen.lookup.from_}' row, and must stay one of "
            "their values; scale a column computed from it instead",
            code="scaled_pick",
        )
    elif gen.deferred:
        c.issues.error(
            path,
            f"'{ref}' is a {col.kind}, computed exactly from other rows; scale the column it is "
            "computed from instead",
            code="scaled_exact",
        )


def _not_a_descendant(c: Checker, node: Node, table: Node, ref: str, child_ids: list[str]) -> str:
    """Why a segment cannot scale `table`: it does not descend from `node`, or only through a further
    parent (then: the path it takes, the line of first parents the multiplier follows, and the fix)."""
    children = ", ".join(child_ids) or "none"
    via = _descent(c, table, node.id)
    if via is None:
        return (
            f"'{ref}' is not in a table descended from '{node.id}' (its children: {children}, the "
            "tables whose first parent is one of them, and so on)"
        )
    line = " → ".join([table.id, *first_parent_line(c.s, table)])
    step = next(i for i, t in enumerate(via[:-1]) if c.nodes[t].primary_parent != via[i + 1])
    return (
        f"'{ref}' descends from '{node.id}' only through a further parent ({' → '.join(via)}), but a "
        f"segment's value_multiplier follows first parents ({line}); make '{via[step + 1]}' the first "
        f"parent of '{via[step]}', or scale a column of a child of '{node.id}' (children: {children})"
    )


def _descent(c: Checker, table: Node, ancestor: str) -> list[str] | None:
    """The shortest chain of parents (any position) from `table` up to `ancestor`, both included."""
    paths: dict[str, list[str]] = {table.id: [table.id]}
    frontier = [table.id]
    while frontier:
        nxt = []
        for t in frontier:
            here = c.nodes.get(t)
            for up in (here.parents or []) if here is not None else []:
                if up not in paths:
                    paths[up] = [*paths[t], up]
                    nxt.append(up)
        if ancestor in paths:
            return paths[ancestor]
        frontier = nxt
    return None


def _segments(c: Checker, node: Node, sb: SegmentBehavior, path: Path) -> None:
    seg = c.column(node, sb.segment_column, [*path, "segment_column"])
    if seg is not None and isinstance(seg.generator, ChoiceGen) and seg.generator.choice.choices is not None:
        values = [str(v) for v in seg.generator.choice.choices]
        for name in sb.behaviors:
            if name not in values:
                c.issues.warning(
                    [*path, "behaviors", name],
                    f"segment '{name}' is not a value of "
                    f"'{sb.segment_column}'{did_you_mean(name, values)} (values: "
                    f"{', '.join(values)})",
                    code="unknown_segment",
                )
    for i, ref in enumerate(sb.applies_to_columns):
        _child_column(c, node, ref, [*path, "applies_to_columns", i], descendants=True)
    scaled = [name for name, b in sb.behaviors.items() if b.value_multiplier != 1]
    if scaled and not sb.applies_to_columns:
        c.issues.warning(
            [*path, "applies_to_columns"],
            f"value_multiplier of {', '.join(scaled)} scales nothing: no column is listed; name the child "
            'columns it multiplies, e.g. "applies_to_columns": ["orders.amount"]',
            code="value_multiplier_unused",
        )


def _vintage(c: Checker, node: Node, vb: VintageBehavior, path: Path) -> None:
    c.column(node, vb.created_at_column, [*path, "created_at_column"], TIME)
    children = _children(c, node)
    for name, mult in vb.age_based_multipliers.items():
        if not mult.scales_fanout:
            for i, ref in enumerate(mult.columns):
                where = [*path, "age_based_multipliers", name, "applies_to", i]
                _child_column(c, node, ref, where)
                parts = split_ref(ref)
                child = c.nodes.get(parts[0]) if parts else None
                if child is not None and child.first_time_column() is None:
                    c.issues.error(
                        where,
                        f"a value curve is read at each child's age, but '{child.id}' has no "
                        "datetime column; add one (e.g. the event time) or drop it from applies_to",
                        code="no_time_column",
                    )
        elif not any(ch.fanout is not None for ch in children if ch.primary_parent == node.id):
            c.issues.warning(
                [*path, "age_based_multipliers", name],
                f"applies_to 'fanout' but no fact has '{node.id}' as its first parent with a fanout",
                code="no_fanout",
            )


def _stages(c: Checker, node: Node, sc: StageConfig, path: Path) -> None:
    cols = sc.columns
    _walk_column(c, node, cols.stage_name if cols else "stage_name", [*path, "columns", "stage_name"], cols)
    if cols is None or cols.stage_index:
        name = (cols.stage_index if cols else None) or "stage_index"
        if cols is not None or node.column(name) is not None:
            _walk_column(c, node, name, [*path, "columns", "stage_index"], cols, explicit=True, types=NUMERIC)
    _walk_time(c, node, cols.time if cols else None, path)
    _segment_variation(c, node, sc, path)
    names = [s.stage_name for s in sc.stages]
    if len(set(names)) != len(names):
        c.issues.error([*path, "stages"], "stage names must be unique", code="duplicate_id")


def _states(c: Checker, node: Node, sm: StateTransitionModel, path: Path) -> None:
    states = list(sm.states)
    if sm.initial_state not in sm.states:
        c.issues.error(
            [*path, "initial_state"],
            f"unknown state '{sm.initial_state}'"
            f"{did_you_mean(sm.initial_state, states)} (states: {', '.join(states)})",
            code="unknown_state",
        )
    for name, spec in sm.states.items():
        for nxt in spec.next_states:
            if nxt not in sm.states:
                c.issues.error(
                    [*path, "states", name, "next_states", nxt],
                    f"unknown state '{nxt}'{did_you_mean(nxt, states)} (states: {', '.join(states)})",
                    code="unknown_state",
                )
        total = sum(spec.next_states.values())
        if spec.next_states and abs(total - 1) > 1e-6:
            c.issues.note(
                [*path, "states", name, "next_states"],
                f"probabilities sum to {total:g}; they are normalised to 1",
                code="normalised_weights",
            )
    cols = sm.columns
    _walk_column(c, node, cols.state if cols else "state", [*path, "columns", "state"], cols)
    prev = cols.previous_state if cols else "previous_state"
    if prev and (cols is not None or node.column(prev) is not None):
        _walk_column(c, node, prev, [*path, "columns", "previous_state"], cols, explicit=True)
    _walk_time(c, node, cols.time if cols else None, path)
    _segment_variation(c, node, sm, path)


def _walk_column(
    c: Checker,
    node: Node,
    name: str,
    path: Path,
    declared: Any,
    *,
    explicit: bool | None = None,
    types: tuple[str, ...] | None = None,
) -> None:
    """A column the walk fills: it must exist (by default or as named in `columns`), and its own
    generator is only a placeholder."""
    explicit = declared is not None if explicit is None else explicit
    col = node.column(name)
    if col is None and not explicit:
        c.issues.error(
            path,
            f"table '{node.id}' has no column '{name}' for the block to fill; add it or name "
            'the column in "columns"',
            code="unknown_column",
        )
        return
    col = c.column(node, name, path, types)
    if col is not None:
        c.issues.note(
            path,
            f"'{node.id}.{name}' is filled by the behaviour block; its generator is a placeholder",
            code="behaviour_overrides",
        )


def _walk_time(c: Checker, node: Node, named: str | None, path: Path) -> None:
    where = [*path, "columns", "time"]
    if named:
        c.column(node, named, where, TIME)
    elif node.first_time_column() is None:
        c.issues.error(
            where, f"table '{node.id}' has no datetime column for the walk's times", code="no_time_column"
        )


def _segment_variation(c: Checker, node: Node, walk: StageConfig | StateTransitionModel, path: Path) -> None:
    if not walk.segment_variation:
        return
    parent = c.nodes.get(node.primary_parent or "")
    if parent is None or parent.segment_behavior is None:
        c.issues.error(
            [*path, "segment_variation"],
            f"segment_variation needs the first parent of '{node.id}' to declare "
            "segment_behavior (which column holds the segment)",
            code="no_segments",
        )


def _descendants(c: Checker, node: Node) -> list[Node]:
    """Facts born from this table's rows, at any depth (primary parents only)."""
    out: list[Node] = []
    todo = [node.id]
    while todo:
        pid = todo.pop()
        for n in c.s.nodes:
            if n.primary_parent == pid and n.id != node.id and n not in out:
                out.append(n)
                todo.append(n.id)
    return out


def _lifetime(c: Checker, node: Node, lt: Lifetime, path: Path) -> None:
    c.column(node, lt.start, [*path, "start"], TIME)
    if lt.end is not None:
        where = [*path, "end", "column"]
        col = c.column(node, lt.end.column, where, ("datetime",))
        if col is not None:
            if not col.nullable or col.null_rate or col.modifiers:
                c.issues.error(
                    where,
                    f"'{node.id}.{col.name}' holds when a row ended: declare it \"nullable\": true (null "
                    "means alive at the timeframe end), with no null_rate and no modifiers",
                    code="end_column",
                )
            elif col.name == lt.start:
                c.issues.error(where, "the end column must differ from the start column", code="end_column")
            else:
                c.issues.note(
                    where,
                    f"'{node.id}.{col.name}' is filled by the lifetime; its generator is a placeholder",
                    code="behaviour_overrides",
                )
        if lt.end.walk is not None:
            _end_walk(c, node, lt.end.walk, [*path, "end", "walk"])
    for child in _descendants(c, node):
        for col in child.columns:
            if col.type not in TIME:
                continue
            jitter = [m for m in col.modifiers if isinstance(m, TimeJitter)]
            if isinstance(col.generator, DatetimeSeriesGen) and jitter:
                c.issues.warning(
                    [*path, "start"],
                    f"'{child.id}.{col.name}' is drawn inside the life of its '{node.id}' row, but its "
                    "time_jitter can move it out again; drop the time_jitter",
                    code="outside_life",
                )
        own = child.first_time_column()
        own_col = child.column(own) if own else None
        gen = own_col.generator if own_col is not None else None
        walked = child.walk is not None and child.walk.walk_columns(child).time == own
        if own and not walked and not isinstance(gen, DatetimeSeriesGen):
            c.issues.warning(
                [*path, "start"],
                f"'{child.id}.{own}' is a {gen.keyword if gen else 'column'}, so it is not drawn inside "
                f"the life of its '{node.id}' row; make it a datetime_series to keep it inside",
                code="outside_life",
            )


def _end_walk(c: Checker, node: Node, walk_id: str, path: Path) -> None:
    walk = c.table(walk_id, path)
    if walk is None:
        return
    sm = walk.state_transition_model
    if sm is None or walk.primary_parent != node.id:
        c.issues.error(
            path,
            f"'{walk_id}' must be a fact with a state_transition_model whose first parent is "
            f"'{node.id}': its walk is each '{node.id}' row's lifecycle",
            code="not_a_walk",
        )
    elif not any(s.terminal for s in sm.states.values()):
        c.issues.error(
            path,
            f"the walk of '{walk_id}' has no terminal state, so no row would ever end; mark the state "
            'that ends a row with "terminal": true',
            code="no_terminal_state",
        )


def _activity(c: Checker, node: Node, act: Activity, path: Path) -> None:
    if not any(n.fanout is not None and n.primary_parent == node.id for n in c.s.nodes):
        c.issues.warning(
            path,
            f"no fact with a fanout has '{node.id}' as its first parent, so the activity levels change "
            "nothing; give a child fact a fanout or drop activity",
            code="no_fanout",
        )


def _active_in(c: Checker, node: Node, ai: ActiveIn, path: Path) -> None:
    walk = c.table(ai.walk, [*path, "walk"])
    if walk is None:
        return
    sm = walk.state_transition_model
    if sm is None or walk.primary_parent is None or walk.primary_parent != node.primary_parent:
        c.issues.error(
            [*path, "walk"],
            f"'{ai.walk}' must be a fact with a state_transition_model and the same first parent as "
            f"'{node.id}' ('{node.primary_parent or 'none'}'): the state of that parent row sets the rate",
            code="not_a_walk",
        )
        return
    for name in ai.states:
        if name not in sm.states:
            c.issues.error(
                [*path, "states", name],
                f"unknown state '{name}'{did_you_mean(name, list(sm.states))} "
                f"(states of '{ai.walk}': {', '.join(sm.states)})",
                code="unknown_state",
            )
    if node.fanout is None:
        c.issues.error(
            path,
            f"active_in scales a rate of children, but '{node.id}' has no fanout (one row per parent); "
            "give it a fanout",
            code="no_fanout",
        )
    own = node.first_time_column()
    col = node.column(own) if own else None
    if col is None or not isinstance(col.generator, DatetimeSeriesGen):
        c.issues.error(
            path,
            f"active_in places each '{node.id}' row in time by its parent's state, so its first datetime "
            "column must be a datetime_series",
            code="no_time_column",
        )


BehaviourCheck = Callable[["Checker", Node, Any, "Path"], None]
# One check per behaviour block, on its model type.
BEHAVIOUR_CHECKS: dict[type[BehaviourBlock], BehaviourCheck] = {
    SegmentBehavior: _segments,
    VintageBehavior: _vintage,
    StageConfig: _stages,
    StateTransitionModel: _states,
    Lifetime: _lifetime,
    Activity: _activity,
    ActiveIn: _active_in,
    Attribution: attribution,
}
