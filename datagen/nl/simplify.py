"""The last resort after the repair rounds: drop the advanced part that fails and say so.

Advanced parts are the ones a dataset can live without: behaviour blocks, modifiers, targets,
declared constraints, an explicit dag. Tables, columns and their generators are never dropped — if
those fail, the schema is not salvageable without the model and the conversation says so instead."""

from __future__ import annotations

import copy
import re
import types
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from datagen.dsl import models as m
from datagen.dsl.features import BEHAVIOURS as BEHAVIOUR_MODELS
from datagen.dsl.features import FEATURES
from datagen.dsl.generators import PATTERN_LENGTHS
from datagen.dsl.units import UNIT_US
from datagen.nl.trial import Problem, Trial, try_schema

BLOCKS = {b.keyword: b for b in BEHAVIOUR_MODELS}
BEHAVIOURS = tuple(BLOCKS)  # the keys of a table's behaviour blocks
_PART = re.compile(r"([A-Za-z_$][\w$]*)|\[(\d+)\]")
MAX_STEPS = 12


@dataclass
class Simplified:
    document: Any
    evaluation: Trial
    dropped: list[str] = field(default_factory=list)
    # words only the dropped parts held (segment, stage and curve names…): an assumption that uses one
    # may promise what the data no longer has
    words: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.evaluation.ok


def parse_path(path: str) -> list[str | int]:
    """`nodes[2].columns[0].modifiers[1]` -> ['nodes', 2, 'columns', 0, 'modifiers', 1]."""
    return [int(i) if i else name for name, i in _PART.findall(path)]


def _node(doc: dict, ni: Any) -> dict | None:
    nodes = doc.get("nodes")
    if (
        isinstance(ni, int)
        and isinstance(nodes, list)
        and 0 <= ni < len(nodes)
        and isinstance(nodes[ni], dict)
    ):
        return nodes[ni]
    return None


def _node_by_id(doc: dict, table: str) -> tuple[int, dict] | None:
    for ni, node in enumerate(doc.get("nodes") or []):
        if isinstance(node, dict) and node.get("id") == table:
            return ni, node
    return None


def _drop_item(container: Any, key: Any) -> bool:
    if isinstance(container, dict) and key in container:
        del container[key]
        return True
    if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
        del container[key]
        return True
    return False


def _drop_at(doc: dict, parts: list[str | int]) -> str | None:
    """Drop the smallest advanced part that contains `parts`; a description, or None if it is core."""
    head = parts[0] if parts else None
    if head in ("targets", "constraints") and len(parts) >= 2:
        section = doc.get(head)
        if isinstance(section, dict):
            kind = parts[1]
            if len(parts) >= 3 and isinstance(parts[2], int) and _drop_item(section.get(kind), parts[2]):
                return f"{head}.{kind}[{parts[2]}]"
            if _drop_item(section, kind):
                return f"{head}.{kind}"
    if head == "dag" and _drop_item(doc, "dag"):
        return "dag (the engine orders the tables itself)"
    if head != "nodes" or len(parts) < 3 or (node := _node(doc, parts[1])) is None:
        return None
    where = f"table '{node.get('id')}'"
    key = parts[2]
    if key in BEHAVIOURS and isinstance(node.get(key), dict):
        block = node[key]
        part = parts[3] if len(parts) >= 4 else None
        if part in BLOCKS[str(key)].optional_parts:  # drop that part (or one item of it), keep the block
            if isinstance(block.get(part), list) and len(parts) >= 5 and _drop_item(block[part], parts[4]):
                return f"one of {key}.{part} of {where}"
            if _drop_item(block, part):
                return f"{key}.{part} of {where}"
        del node[key]
        return f"{key} of {where}"
    if key == "modifiers" and len(parts) >= 4 and _drop_item(node.get("modifiers"), parts[3]):
        return f"table modifier {parts[3]} of {where}"
    if key == "columns" and len(parts) >= 6 and parts[4] == "modifiers":
        cols = node.get("columns")
        col = (
            cols[parts[3]]
            if isinstance(cols, list) and isinstance(parts[3], int) and parts[3] < len(cols)
            else {}
        )
        if isinstance(col, dict) and _drop_item(col.get("modifiers"), parts[5]):
            return f"a modifier of {node.get('id')}.{col.get('name')}"
    return None


def _drop_for_table(doc: dict, table: str, column: str | None) -> str | None:
    """A generation problem names a table (and maybe a column): drop its modifiers, then its behaviour,
    then the behaviour of its parents (which shapes its rows)."""
    found = _node_by_id(doc, table)
    if found is None:
        return None
    _, node = found
    for col in node.get("columns") or []:
        if isinstance(col, dict) and col.get("name") == column and col.get("modifiers"):
            col.pop("modifiers")
            return f"the modifiers of {table}.{column}"
    if node.get("modifiers"):
        node.pop("modifiers")
        return f"the table modifiers of '{table}'"
    for key in BEHAVIOURS:
        if node.pop(key, None) is not None:
            return f"{key} of table '{table}'"
    for parent in node.get("parents") or []:
        if isinstance(parent, str) and parent != table and (dropped := _drop_for_table(doc, parent, None)):
            return dropped
    return None


def _drop_anything(doc: dict) -> str | None:
    """When no problem points at a part: the most advanced part left, one at a time."""
    if doc.get("targets"):
        doc.pop("targets")
        return "targets"
    for node in doc.get("nodes") or []:
        if isinstance(node, dict):
            for key in ("modifiers", *BEHAVIOURS):
                if node.get(key):
                    node.pop(key)
                    return f"{key} of table '{node.get('id')}'"
    return None


def _drop_for(doc: dict, problem: Problem) -> str | None:
    if problem.stage == "check":
        return _drop_at(doc, parse_path(problem.where))
    table, _, column = problem.where.partition(".")
    return _drop_for_table(doc, table, column or None)


def _strings(value: Any) -> Counter[str]:
    """Every key and text value in a JSON document, counted."""
    out: Counter[str] = Counter()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.update(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            out[item] += 1
    return out


def _model_types(tp: Any) -> list[type[BaseModel]]:
    if get_origin(tp) is Annotated:
        return _model_types(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType, list, dict, tuple):
        return [t for a in get_args(tp) for t in _model_types(a)]
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


@cache
def language_words() -> frozenset[str]:
    """The words of the language's own keys and units: they name how a part is written, not what it
    means to the person, so they never mark an assumption. (A feature's keyword — seasonality, trend,
    outliers — is not one of them: people use those words for the behaviour.)"""
    words: set[str] = {*UNIT_US, *PATTERN_LENGTHS, "table", "column"}
    seen: set[type] = set()
    stack: list[type[BaseModel]] = [m.Schema, *FEATURES]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            words.update((info.alias or name).lower().split("_"))
            stack.extend(_model_types(info.annotation))
    return frozenset(w for w in words if w)


def _names(doc: Any) -> set[str]:
    """Table ids and column names of a document (still there after a drop, so not what was lost)."""
    out: set[str] = set()
    for node in doc.get("nodes") or [] if isinstance(doc, dict) else []:
        if isinstance(node, dict):
            out.add(str(node.get("id")))
            out.update(str(c.get("name")) for c in node.get("columns") or [] if isinstance(c, dict))
    return out


def dropped_words(before: Any, after: Any) -> list[str]:
    """Words that only the dropped parts held: segment, stage, state and curve names, a modifier's
    name; not the names of tables and columns (still there) nor the language's own keys."""
    names = _names(after)
    found: set[str] = set()
    for text in _strings(before) - _strings(after):
        if all(part in names for part in text.split(".")):
            continue
        for word in re.split(r"[^A-Za-z0-9]+|_", text):
            word = word.lower()
            if len(word) >= 3 and not word.isdigit() and word not in language_words():
                found.add(word)
    return sorted(found)


def simplify(document: Any, *, rows: int = 50, seed: int = 42) -> Simplified:
    """Drop failing advanced parts until the schema checks and generates, or nothing more can go."""
    doc = copy.deepcopy(document)
    result = try_schema(doc, rows=rows, seed=seed)
    dropped: list[str] = []
    for _ in range(MAX_STEPS):
        if result.ok or not isinstance(doc, dict):
            break
        # One part per step: list indices in the other problems' paths stay valid after re-evaluation.
        step = next((d for p in result.problems if (d := _drop_for(doc, p))), None)
        if step is None and all(p.stage == "preflight" for p in result.problems):
            step = _drop_anything(doc)
        if step is None:
            break
        dropped.append(step)
        result = try_schema(doc, rows=rows, seed=seed)
    return Simplified(doc, result, dropped, dropped_words(document, doc) if dropped else [])
