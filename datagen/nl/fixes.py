"""Deterministic fixes for slips models make often, applied before the checker sees a proposal.

Each fix rewrites a spelling whose meaning is unambiguous (a generator written as `{"type": ...}`,
distribution parameters outside `params`, `sd` for `std`, percentages as weights, a fact that names its
parent only through its lookups) and says what it did. Nothing here guesses: anything that could mean
two things is left for the checker to report and the model to fix.

A fix that changes the shape of what the model wrote (a table's kind, its row count) keeps what the
model evidently wanted most — the behaviour blocks it declared, the number of rows it asked for — and
its note says what became of the rest, because the model reads these notes in its next message."""

from __future__ import annotations

import copy
import math
from typing import Any

from datagen.dsl.features import BEHAVIOURS
from datagen.dsl.generators import DISTRIBUTION_PARAMS, GENERATOR_MODELS
from datagen.dsl.issues import PathPart, format_path
from datagen.dsl.load import read_as
from datagen.dsl.modifiers import MODIFIER_NAMES

# Other names models use for a distribution parameter, by type; only renamed when the right name is absent.
PARAM_ALIASES: dict[str, dict[str, str]] = {
    "normal": {"mu": "mean", "sd": "std", "stddev": "std", "stdev": "std", "sigma": "std"},
    "lognormal": {"mu": "mean"},
    "uniform": {"min": "low", "max": "high"},
    "poisson": {"lam": "lambda", "mu": "lambda", "mean": "lambda"},
    "exponential": {"mean": "scale", "beta": "scale"},
    "gamma": {"k": "shape", "theta": "scale"},
    "weibull": {"k": "shape", "lambda": "scale"},
    "beta": {"alpha": "a", "beta": "b"},
}
_DOC_KEYS = {"comment"}
# Behaviour blocks by the kind of table they need (their descriptors say where they sit).
ENTITY_BLOCKS = tuple(b.keyword for b in BEHAVIOURS if "fact" not in b.node_kinds)
FACT_BLOCKS = tuple(b.keyword for b in BEHAVIOURS if "entity" not in b.node_kinds)

Notes = list[str]


def _note(notes: Notes, path: list[PathPart], text: str) -> None:
    notes.append(f"{format_path(path)}: {text}")


def _fix_generator(gen: Any, path: list[PathPart], notes: Notes) -> Any:
    if gen == "sequence":
        _note(notes, path, 'generator "sequence" written as {"sequence": {}}')
        return {"sequence": {}}
    if not isinstance(gen, dict):
        return gen
    kind = gen.get("type")
    if isinstance(kind, str) and kind in GENERATOR_MODELS and kind not in gen:
        rest = {k: v for k, v in gen.items() if k != "type"}
        inner = [k for k in rest if k not in _DOC_KEYS]
        if len(inner) == 1 and inner[0] in ("args", "params") and isinstance(rest[inner[0]], dict):
            rest = {**rest[inner[0]], **{k: rest[k] for k in rest if k in _DOC_KEYS}}
        gen = {kind: rest}
        _note(
            notes, path, f'generator written as {{"type": "{kind}", ...}}; rewritten as {{"{kind}": {{...}}}}'
        )
    if isinstance(gen.get("distribution"), dict):
        gen = {**gen, "distribution": _fix_distribution(gen["distribution"], [*path, "distribution"], notes)}
    if isinstance(gen.get("choice"), dict):
        gen = {**gen, "choice": _fix_choice(gen["choice"], [*path, "choice"], notes)}
    return gen


def _fix_distribution(dist: dict, path: list[PathPart], notes: Notes) -> dict:
    kind = dist.get("type")
    if kind not in DISTRIBUTION_PARAMS:
        return dist
    required, optional = DISTRIBUTION_PARAMS[kind]
    names = {*required, *optional}
    aliases = PARAM_ALIASES.get(kind, {})
    dist = dict(dist)
    params = dict(dist.get("params") or {}) if isinstance(dist.get("params", {}), dict) else None
    if params is None:
        return dist
    moved = [k for k in list(dist) if k in names or (k in aliases and aliases[k] not in dist)]
    for key in moved:
        params.setdefault(key, dist.pop(key))
    if moved:
        _note(notes, [*path, "params"], f"moved {', '.join(moved)} into params")
    for old, new in aliases.items():
        if old in params and new not in params:
            params[new] = params.pop(old)
            _note(notes, [*path, "params"], f"'{old}' read as '{new}' (the {kind} parameter's name)")
    if params or "params" in dist:
        dist["params"] = params
    return dist


def _normalised(weights: list[float]) -> list[float] | None:
    """Fractions for weights written as percentages (non-negative numbers summing to about 100); else
    None. Other sums are left alone: relative weights such as [3, 1] are valid as they are."""
    if not weights or not all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
        return None
    total = float(sum(weights))
    if any(w < 0 for w in weights) or not math.isfinite(total) or not 99 <= total <= 101:
        return None
    return [round(w / total, 10) for w in weights]


def _fix_choice(choice: dict, path: list[PathPart], notes: Notes) -> dict:
    choice = dict(choice)
    weights = choice.get("weights")
    if isinstance(weights, dict) and "choices" not in choice and "choices_ref" not in choice:
        choice["choices"], choice["weights"] = list(weights), list(weights.values())
        _note(notes, path, "weights given as {value: weight}; split into choices and weights")
    if isinstance(choice.get("weights"), list) and (scaled := _normalised(choice["weights"])) is not None:
        _note(
            notes,
            [*path, "weights"],
            f"weights summed to {sum(choice['weights']):g} (percentages); scaled to sum to 1",
        )
        choice["weights"] = scaled
    return choice


def _fix_modifier(mod: Any, path: list[PathPart], notes: Notes) -> Any:
    if not isinstance(mod, dict):
        return mod
    mod = dict(mod)
    if "transform" not in mod and mod.get("type") in MODIFIER_NAMES:
        mod["transform"] = mod.pop("type")
        _note(notes, path, f"'type' read as 'transform' ('{mod['transform']}')")
    loose = [k for k in mod if k not in ("transform", "args", *_DOC_KEYS)]
    if loose and "args" not in mod and mod.get("transform") in MODIFIER_NAMES:
        mod["args"] = {k: mod.pop(k) for k in loose}
        _note(notes, path, f"moved {', '.join(loose)} into args")
    return mod


def _fix_column(col: dict, path: list[PathPart], notes: Notes) -> None:
    if "generator" in col:
        col["generator"] = _fix_generator(col["generator"], [*path, "generator"], notes)
    if isinstance(col.get("modifiers"), list):
        col["modifiers"] = [
            _fix_modifier(m, [*path, "modifiers", i], notes) for i, m in enumerate(col["modifiers"])
        ]
    rate = col.get("null_rate")
    if (
        isinstance(rate, int | float)
        and not isinstance(rate, bool)
        and rate > 0
        and col.get("nullable") is not True
    ):
        col["nullable"] = True
        _note(notes, path, f'null_rate {rate:g} implies nullable; set "nullable": true')


def _lookup_tables(node: dict) -> set[str]:
    tables = set()
    for col in node.get("columns") or []:
        gen = col.get("generator") if isinstance(col, dict) else None
        source = (
            gen.get("lookup", {}).get("from")
            if isinstance(gen, dict) and isinstance(gen.get("lookup"), dict)
            else None
        )
        if isinstance(source, str) and "." in source:
            tables.add(source.split(".", 1)[0])
    tables.discard(node.get("id"))
    return tables


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _fanout_mean(fanout: Any) -> float | None:
    """Children per parent a fanout declares (before multipliers); None when it cannot be read."""
    if fanout is None:
        return 1.0  # a fact with parents and no fanout has one child per parent row
    if not isinstance(fanout, dict):
        return None
    if (lam := _number(fanout.get("lambda"))) is not None:
        return lam
    low, high = _number(fanout.get("min")), _number(fanout.get("max"))
    return (low + high) / 2 if low is not None and high is not None else None


def expected_rows(doc: dict, table: str, seen: frozenset[str] = frozenset()) -> float | None:
    """About how many rows `table` gets at scale 1, read from the document as written (multipliers and
    walks aside); None when that cannot be told (an unknown table, a walk, a cycle)."""
    node = next((n for n in doc.get("nodes") or [] if isinstance(n, dict) and n.get("id") == table), None)
    if node is None or table in seen:
        return None
    if node.get("kind") == "vocab":
        values = [
            len(v)
            for c in node.get("columns") or []
            if isinstance(c, dict)
            and isinstance(c.get("generator"), dict)
            and isinstance(c["generator"].get("enum_list"), dict)
            and isinstance(v := c["generator"]["enum_list"].get("values"), list)
        ]
        return float(values[0]) if values else None
    parents = node.get("parents")
    if not parents or node.get("kind") == "entity":
        rows = node.get("rows", 1000)
        return _number(rows)
    if any(node.get(k) is not None for k in FACT_BLOCKS) or not isinstance(parents[0], str):
        return None  # a walk's rows are the stages or states reached
    per_parent = _fanout_mean(node.get("fanout"))
    parent_rows = expected_rows(doc, parents[0], seen | {table})
    return None if per_parent is None or parent_rows is None else per_parent * parent_rows


def _parent_lookups(node: dict, parent: str) -> list[str]:
    """The columns of `node` that look up a column of `parent`."""
    return [
        str(col.get("name"))
        for col in node.get("columns") or []
        if isinstance(col, dict)
        and isinstance(gen := col.get("generator"), dict)
        and isinstance(gen.get("lookup"), dict)
        and str(gen["lookup"].get("from", "")).split(".", 1)[0] == parent
    ]


def _entity_with_parents(doc: dict, node: dict, path: list[PathPart], notes: Notes) -> None:
    """An entity cannot have parents. With a behaviour only entities take, the model wanted an entity:
    it stays one and holds its link to the parent as a lookup (a random parent row per row); otherwise
    the parents are what it meant, and it becomes a fact. Both blocks at once could mean either: left
    for the checker."""
    parents = [p for p in node["parents"] if isinstance(p, str)]
    entity_blocks = [k for k in ENTITY_BLOCKS if node.get(k) is not None]
    fact_blocks = [k for k in FACT_BLOCKS if node.get(k) is not None]
    table = node.get("id")
    if entity_blocks and fact_blocks:
        return
    if not entity_blocks:
        node["kind"] = "fact"
        _note(
            notes,
            [*path, "kind"],
            f'"kind" is "entity" but \'{table}\' has parents {parents}: a table born from parent rows is a '
            'fact; kind set to "fact"',
        )
        return
    fanout = node.pop("fanout", None)
    del node["parents"]
    said = [f"kept '{table}' an entity (only entities take {' and '.join(entity_blocks)})"]
    if node.get("rows") is None:
        per_parent = _fanout_mean(fanout)
        parent_rows = expected_rows(doc, parents[0]) if parents else None
        if per_parent is not None and parent_rows is not None and fanout is not None:
            node["rows"] = max(1, round(per_parent * parent_rows))
            said.append(
                f"rows set to {node['rows']} (its fanout {per_parent:g} × {parent_rows:g} {parents[0]})"
            )
    removed = "parents" + (" and fanout" if fanout is not None else "")
    said.append(f"removed its {removed} (an entity has its own rows, not parents)")
    links = [c for p in parents for c in _parent_lookups(node, p)]
    if links:
        said.append(
            f"{', '.join(links)} now {'picks' if len(links) == 1 else 'pick'} a random existing row of "
            f"{' / '.join(parents)} for each row: that is how an entity holds a foreign key"
        )
    else:
        said.append(
            f"nothing links it to {' / '.join(parents)} now; an entity holds a foreign key as a column "
            f'{{"lookup": {{"from": "{parents[0] if parents else "parent"}.<key>"}}}} (a random existing row)'
        )
    _note(notes, [*path, "parents"], "; ".join(said))


def _rows_of_a_fact(doc: dict, node: dict, path: list[PathPart], notes: Notes) -> None:
    """`rows` on a fact with parents is ignored by the engine (its fanout sets the count): turned into
    the fanout that gives about as many rows, or dropped with the count the fanout gives instead."""
    rows = _number(node.get("rows"))
    parents: list[Any] = node["parents"]  # a non-empty list: _fix_node checks before calling
    if rows is None or not isinstance(parents[0], str) or any(node.get(k) is not None for k in FACT_BLOCKS):
        return
    parent_rows = expected_rows(doc, parents[0])
    if not parent_rows:
        return
    if node.get("fanout") is None:
        rate = round(rows / parent_rows, 4)
        node["fanout"] = {"distribution": "poisson", "lambda": rate}
        del node["rows"]
        _note(
            notes,
            [*path, "rows"],
            f"rows {rows:g} on a fact with parents is not used (the fanout sets its count); it became "
            f'"fanout": {{"distribution": "poisson", "lambda": {rate:g}}} ({rows:g} / {parent_rows:g} '
            f"{parents[0]} rows), so it still has about {rows:g} rows",
        )
        return
    per_parent = _fanout_mean(node.get("fanout"))
    if per_parent is None:
        return
    del node["rows"]
    _note(
        notes,
        [*path, "rows"],
        f"rows {rows:g} on a fact with parents is not used (the fanout sets its count); removed it: "
        f"the fanout ({per_parent:g} per {parents[0]} row × {parent_rows:g}) gives about "
        f"{per_parent * parent_rows:,.0f} rows — change the fanout if you meant {rows:g}",
    )


def _fix_node(doc: dict, node: dict, path: list[PathPart], notes: Notes) -> None:
    if node.get("kind") == "entity" and isinstance(node.get("parents"), list) and node["parents"]:
        _entity_with_parents(doc, node, path, notes)
    if node.get("kind") == "fact" and isinstance(node.get("parents"), list) and node["parents"]:
        _rows_of_a_fact(doc, node, path, notes)
    if node.get("kind") == "fact" and not node.get("parents"):
        targets = _lookup_tables(node)
        if len(targets) == 1 and node.get("fanout") is not None:
            node["parents"] = sorted(targets)
            _note(
                notes,
                [*path, "parents"],
                f"a fact with fanout needs its parent; its lookups name only "
                f"'{node['parents'][0]}', so parents set to {node['parents']}",
            )
    fanout = node.get("fanout")
    if isinstance(fanout, dict) and fanout.get("distribution", "poisson") != "uniform":
        # v1's `lam` is the check step's to read (Fanout.LEGACY_KEYS); these are models' slips
        for old, new in read_as(fanout, {"lambda_": "lambda", "mean": "lambda"}):
            _note(notes, [*path, "fanout"], f"'{old}' read as '{new}' (mean children per parent)")
    for ci, col in enumerate(node.get("columns") or []):
        if isinstance(col, dict):
            _fix_column(col, [*path, "columns", ci], notes)
    model = node.get("state_transition_model")
    for name, state in (model.get("states") or {}).items() if isinstance(model, dict) else ():
        nxt = state.get("next_states") if isinstance(state, dict) else None
        if isinstance(nxt, dict) and (scaled := _normalised(list(nxt.values()))) is not None:
            state["next_states"] = dict(zip(nxt, scaled, strict=True))
            _note(
                notes,
                [*path, "state_transition_model", "states", name, "next_states"],
                f"probabilities summed to {sum(nxt.values()):g} (percentages); scaled to sum to 1",
            )


def _fix_top(doc: dict, notes: Notes) -> None:
    version = doc.get("version")
    if version is None or (
        isinstance(version, int | float) and not isinstance(version, bool) and version == 1
    ):
        doc["version"] = "1.0"
        _note(notes, ["version"], 'set to "1.0" (it is text, and 1.0 is the only version)')
    if doc.get("constraints") is None:
        doc["constraints"] = {}
        _note(notes, ["constraints"], "missing; set to {} (no constraints beyond the implied ones)")
    for fk in (doc["constraints"].get("foreign_keys") or []) if isinstance(doc["constraints"], dict) else ():
        if isinstance(fk, dict) and "from_" in fk and "from" not in fk:
            fk["from"] = fk.pop("from_")
            _note(notes, ["constraints", "foreign_keys"], "'from_' read as 'from'")


def apply_fixes(document: Any) -> tuple[Any, Notes]:
    """A fixed copy of `document` and one note per change (the input is not modified)."""
    if not isinstance(document, dict):
        return document, []
    doc = copy.deepcopy(document)
    notes: Notes = []
    _fix_top(doc, notes)
    for ni, node in enumerate(doc.get("nodes") or []):
        if isinstance(node, dict):
            _fix_node(doc, node, ["nodes", ni], notes)
    return doc, notes
