"""Deterministic fixes for slips models make often, applied before the checker sees a proposal.

Each fix rewrites a spelling whose meaning is unambiguous (a generator written as `{"type": ...}`,
distribution parameters outside `params`, `sd` for `std`, percentages as weights, a fact that names its
parent only through its lookups) and says what it did. Nothing here guesses: anything that could mean
two things is left for the checker to report and the model to fix."""

from __future__ import annotations

import copy
import math
from typing import Any

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


def _fix_node(node: dict, path: list[PathPart], notes: Notes) -> None:
    if node.get("kind") == "entity" and node.get("parents"):
        node["kind"] = "fact"
        _note(notes, [*path, "kind"], 'a table with parents is a fact; kind set to "fact"')
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
            _fix_node(node, ["nodes", ni], notes)
    return doc, notes
