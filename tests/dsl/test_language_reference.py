"""Keeps the schema language reference (docs/schema-language.md) honest.

Convention for the examples in the reference (the markers are HTML comments, invisible when rendered):

- Every fenced ```json block is preceded, on the line just before the fence, by a marker
  `<!-- check: KIND [flags] [key=value ...] -->`. An unmarked json block fails the suite, so no
  example goes unchecked; put text that is not meant to check in a ```text or ```jsonc block instead.
- KIND `host` marks the page's running example (exactly one): a complete schema that must check.
  KIND `schema` is any other complete schema: it must pass `datagen.dsl.check` with no error and no
  warning (notes are fine), and generate a preflight sample without a problem.
- A fragment KIND names its model and where it goes in a copy of the host before the whole document
  is checked (so it must also work next to the tables it names):
    node                  appended to `nodes`
    column                appended to the columns of `table=` (default `orders`)
    generator             replaces the generator of `on=table.column`
    modifier              appended to the modifiers of `on=table.column` (default `orders.amount`),
                          or of the table itself with `on=table` (a table-level effect)
    fanout                replaces the fanout of `table=` (default `orders`)
    timeframe, constraints, targets   replace the top-level key
    segment_behavior, vintage_behavior, stage_config, state_transition_model, lifetime, activity,
    active_in, attribution
                          set on `table=` (segment, vintage, lifetime and activity default to
                          `customers`, active_in to `orders`)
  A fragment with nowhere to go (a generator or modifier without `on=`, a walk without `table=`) is
  validated against its model alone. A valid fragment must leave the schema it went into checking,
  without a warning, and generating a preflight sample; as the checker normalised it, it must also
  validate against its model on its own.
- Flag `error`: the block must fail (the checker reports an error; for a fragment validated alone, its
  model rejects it). Flag `warning`: it must pass with a warning. Either flag needs the next fenced
  block to be ```text with the lines `datagen check` prints, `error PATH: MESSAGE` or
  `warning PATH: MESSAGE`; each must be printed. A `…` stands for text left out: at the start of a
  path, the positions a fragment landed at in the host (which the reader does not see).
- Option `in=NAME` puts a fragment into the complete schema on the page whose metadata name is NAME
  instead of the host (for walks, which need their own tables).

The suite also asserts that every generator, modifier and behaviour block the models know has its own
section, and that every key and keyword of the models and every expression function is mentioned, so a
feature cannot be added to the language without being documented here."""

from __future__ import annotations

import copy
import json
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from datagen.dsl import check
from datagen.dsl.behaviours import (
    ActiveIn,
    Activity,
    Attribution,
    Lifetime,
    SegmentBehavior,
    StageConfig,
    StateTransitionModel,
    VintageBehavior,
)
from datagen.dsl.expressions import FUNCTIONS
from datagen.dsl.generators import DISTRIBUTION_PARAMS, GENERATOR_MODELS, Generator
from datagen.dsl.issues import IssueList
from datagen.dsl.load import pydantic_issues
from datagen.dsl.models import Column, Constraints, Fanout, Node, Schema, Targets, Timeframe
from datagen.dsl.modifiers import MODIFIER_NAMES, Modifier
from datagen.engine.preflight import preflight

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "schema-language.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

MODELS: dict[str, Any] = {
    "node": Node,
    "column": Column,
    "generator": TypeAdapter(Generator),
    "modifier": TypeAdapter(Modifier),
    "fanout": Fanout,
    "timeframe": Timeframe,
    "constraints": Constraints,
    "targets": Targets,
    "segment_behavior": SegmentBehavior,
    "vintage_behavior": VintageBehavior,
    "stage_config": StageConfig,
    "state_transition_model": StateTransitionModel,
    "lifetime": Lifetime,
    "activity": Activity,
    "active_in": ActiveIn,
    "attribution": Attribution,
}
COMPLETE = {"host", "schema"}
BEHAVIOUR_TABLE = {
    "segment_behavior": "customers",
    "vintage_behavior": "customers",
    "lifetime": "customers",
    "activity": "customers",
    "active_in": "orders",
}
# Node keys that are not behaviour blocks; every other key of a node must have a §8 section.
NODE_STRUCTURE = {"id", "kind", "description", "pk", "rows", "parents", "fanout", "columns", "modifiers"}
FLAGS = {"error", "warning"}
OPTIONS = {"table", "on", "in"}
MARKER = re.compile(r"^<!--\s*check:\s*(?P<body>.*?)\s*-->\s*$")


@dataclass
class Block:
    line: int
    kind: str
    flags: set[str]
    options: dict[str, str]
    data: Any
    expected: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.kind}" + "".join(f"-{f}" for f in sorted(self.flags))


def _fence_end(lines: list[str], start: int) -> int:
    end = start + 1
    while end < len(lines) and not lines[end].startswith("```"):
        end += 1
    return end


def parse_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        end = _fence_end(lines, i)
        if lines[i].strip() == "```json":
            marker = MARKER.match(lines[i - 1]) if i else None
            if marker is None:
                raise AssertionError(f"{DOC.name}:{i + 1}: json block without a '<!-- check: … -->' marker")
            kind, *words = marker["body"].split()
            if kind not in COMPLETE and kind not in MODELS:
                raise AssertionError(f"{DOC.name}:{i}: unknown check kind '{kind}'")
            flags = {w for w in words if "=" not in w}
            options = dict(w.split("=", 1) for w in words if "=" in w)
            if not flags <= FLAGS or not set(options) <= OPTIONS or flags == FLAGS:
                raise AssertionError(f"{DOC.name}:{i}: unknown or clashing marker words {words}")
            body = "\n".join(lines[i + 1 : end])
            try:
                data = json.loads(body)
            except json.JSONDecodeError as exc:
                raise AssertionError(f"{DOC.name}:{i + 2}: not valid JSON: {exc}") from None
            block = Block(i + 1, kind, flags, options, data)
            if flags & {"error", "warning"}:
                nxt = end + 1
                while nxt < len(lines) and not lines[nxt].strip():
                    nxt += 1
                if nxt >= len(lines) or lines[nxt].strip() != "```text":
                    raise AssertionError(f"{DOC.name}:{i + 1}: the example needs a ```text block after it")
                block.expected = [ln for ln in lines[nxt + 1 : _fence_end(lines, nxt)] if ln.strip()]
            blocks.append(block)
        i = end + 1
    return blocks


DOC_TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = parse_blocks(DOC_TEXT)
HOSTS = [b for b in BLOCKS if b.kind == "host"]


def host() -> dict:
    assert len(HOSTS) == 1, "the reference needs exactly one running example (<!-- check: host -->)"
    return copy.deepcopy(HOSTS[0].data)


def _node(doc: dict, table: str) -> dict:
    found = [n for n in doc["nodes"] if n["id"] == table]
    assert found, f"the host has no table '{table}'"
    return found[0]


def _column(doc: dict, ref: str) -> dict:
    table, name = ref.split(".")
    found = [c for c in _node(doc, table)["columns"] if c["name"] == name]
    assert found, f"the host has no column '{ref}'"
    return found[0]


def base_for(block: Block) -> dict:
    """A copy of the schema a fragment goes into: the host, or the complete schema named by `in=`."""
    if "in" not in block.options:
        return host()
    named = [b for b in BLOCKS if b.kind in COMPLETE and b.data["metadata"]["name"] == block.options["in"]]
    assert len(named) == 1, f"line {block.line}: no single schema named '{block.options['in']}'"
    return copy.deepcopy(named[0].data)


def place(block: Block) -> tuple[dict, list[str | int]] | None:
    """The schema with the fragment put where it belongs, and the path to it; None: nowhere to go."""
    doc, k, o, data = base_for(block), block.kind, block.options, copy.deepcopy(block.data)
    if k == "node":
        doc["nodes"].append(data)
        return doc, ["nodes", len(doc["nodes"]) - 1]
    if k in ("timeframe", "constraints", "targets"):
        doc[k] = data
        return doc, [k]
    if k == "column":
        table = o.get("table", "orders")
        _node(doc, table)["columns"].append(data)
        return doc, _path(doc, table, "columns", len(_node(doc, table)["columns"]) - 1)
    if k == "generator" and "on" in o:
        _column(doc, o["on"])["generator"] = data
        return doc, [*_column_path(doc, o["on"]), "generator"]
    if k == "modifier":
        target = o.get("on", "orders.amount")
        owner = _column(doc, target) if "." in target else _node(doc, target)
        owner.setdefault("modifiers", []).append(data)
        base = _column_path(doc, target) if "." in target else _path(doc, target)
        return doc, [*base, "modifiers", len(owner["modifiers"]) - 1]
    table = o.get("table", BEHAVIOUR_TABLE.get(k, "orders" if k == "fanout" else ""))
    if k in ("fanout", *BEHAVIOUR_TABLE, "stage_config", "state_transition_model", "attribution") and table:
        _node(doc, table)[k] = data
        return doc, [*_path(doc, table), k]
    return None


def _path(doc: dict, table: str, *rest: str | int) -> list[str | int]:
    return ["nodes", [n["id"] for n in doc["nodes"]].index(table), *rest]


def _column_path(doc: dict, ref: str) -> list[str | int]:
    table, name = ref.split(".")
    names = [c["name"] for c in _node(doc, table)["columns"]]
    return _path(doc, table, "columns", names.index(name))


def validate_alone(kind: str, data: Any) -> None:
    model = MODELS[kind]
    if isinstance(model, TypeAdapter):
        model.validate_python(data, by_alias=True, by_name=False)
    else:
        model.model_validate(data, by_alias=True, by_name=False)


def printed(issues: list[Any]) -> list[str]:
    return [f"{i.severity} {i.path}: {i.message}" for i in issues]


def shown_as(want: str) -> re.Pattern[str]:
    """A shown line as a pattern: `…` stands for text left out (a path's start, a message's end)."""
    pieces = [re.escape(p) for p in want.split("…")]
    return re.compile("^" + ".*?".join(pieces) + "$", re.DOTALL)


def assert_expected(block: Block, lines: list[str]) -> None:
    for want in block.expected:
        pattern = shown_as(want)
        hit = any(pattern.match(ln) for ln in lines)
        assert hit, f"line {block.line}: the reference shows\n  {want}\nbut the checker printed\n  " + (
            "\n  ".join(lines) or "(nothing)"
        )


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example_behaves_as_the_reference_says(block: Block) -> None:
    if block.kind in COMPLETE:
        placed: tuple[dict, list[str | int]] | None = (copy.deepcopy(block.data), [])
    else:
        placed = place(block)
    if placed is None:  # validated against its model alone, which knows no warnings
        assert "warning" not in block.flags, f"line {block.line}: a fragment checked alone cannot warn"
        try:
            validate_alone(block.kind, block.data)
        except ValidationError as exc:
            issues = IssueList()
            pydantic_issues(exc, issues)
            assert "error" in block.flags, f"line {block.line}: {exc}"
            assert_expected(block, printed(issues.items))
            return
        assert "error" not in block.flags, f"line {block.line}: the model accepts what is shown as an error"
        return
    doc, path = placed
    result = check(doc)
    lines = printed(result.issues)
    if "error" in block.flags:
        assert not result.ok, f"line {block.line}: the checker accepts what the reference calls an error"
    else:
        assert result.ok, f"line {block.line}: the checker refuses it:\n  " + "\n  ".join(lines)
        assert bool(result.warnings) == ("warning" in block.flags), "\n".join(lines)
        ran = preflight(result.raise_for_errors())
        assert ran.ok, f"line {block.line}: the example checks but does not generate: {ran.problems}"
        if block.kind not in COMPLETE:
            fragment = result.document
            for part in path:
                fragment = fragment[part]
            validate_alone(block.kind, fragment)
    assert_expected(block, lines)


def test_there_is_one_running_example_and_it_checks() -> None:
    result = check(host())
    assert result.ok and not result.warnings, "\n".join(printed(result.issues))


def test_there_are_examples_of_every_kind_and_of_errors() -> None:
    kinds = {b.kind for b in BLOCKS}
    assert {"host", "schema", "column", "modifier", "fanout", *BEHAVIOUR_TABLE} <= kinds
    assert sum("error" in b.flags for b in BLOCKS) >= 20


def _headings() -> list[str]:
    return [ln for ln in DOC_TEXT.splitlines() if ln.startswith("#")]


def _section(title_start: str) -> str:
    """The text of the section whose heading starts with `title_start`, up to the next one at its level."""
    lines = DOC_TEXT.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(title_start))
    level = len(title_start) - len(title_start.lstrip("#"))
    end = next(
        (j for j in range(start + 1, len(lines)) if re.match(rf"^#{{1,{level}}} ", lines[j])),
        len(lines),
    )
    return "\n".join(lines[start:end])


def test_section_numbers_match_the_ones_the_code_cites() -> None:
    wanted = [
        "## 1. Principles",
        "## 2. Top level",
        "## 3. Nodes",
        "## 4. Columns",
        "### 4.1 Generators",
        "### 4.2 Modifiers",
        "## 5. Fanout",
        "## 6. Constraints",
        "## 7. Targets",
        "## 8. Behaviour blocks",
        "### 8.1 `segment_behavior`",
        "### 8.2 `vintage_behavior`",
        "### 8.3 `stage_config`",
        "### 8.4 `state_transition_model`",
        "## 9. Outputs",
    ]
    headings = _headings()
    positions = []
    for title in wanted:
        found = [i for i, h in enumerate(headings) if h.startswith(title)]
        assert found, f"missing heading '{title}'"
        positions.append(found[0])
    assert positions == sorted(positions), "sections are out of order"


@pytest.mark.parametrize("name", sorted(GENERATOR_MODELS))
def test_every_generator_has_a_section(name: str) -> None:
    assert f"#### `{name}`" in _section("### 4.1 Generators")


@pytest.mark.parametrize("name", MODIFIER_NAMES)
def test_every_modifier_has_a_section(name: str) -> None:
    assert f"#### `{name}`" in _section("### 4.2 Modifiers")


@pytest.mark.parametrize("name", sorted(DISTRIBUTION_PARAMS))
def test_every_distribution_type_and_its_parameters_are_described(name: str) -> None:
    section = _section("#### `distribution`")
    row = next((ln for ln in section.splitlines() if ln.startswith(f"| `{name}`")), None)
    assert row is not None, f"no table row for distribution type '{name}'"
    required, optional = DISTRIBUTION_PARAMS[name]
    for param in (*required, *optional):
        assert f"`{param}`" in row, f"'{name}' row does not name its parameter '{param}'"


BEHAVIOUR_BLOCKS = sorted(set(Node.model_fields) - NODE_STRUCTURE - {"comment"})


@pytest.mark.parametrize("name", BEHAVIOUR_BLOCKS)
def test_every_behaviour_block_has_a_section(name: str) -> None:
    """Behaviour blocks in §8, those of a coherent world (lifetimes, activity, states that matter) in §10."""
    found = any(re.match(rf"^###+ (8|10)\.\d+.*`{name}`", h) for h in _headings())
    assert found, f"no §8 or §10 section for '{name}'"


def _members(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, dict, tuple):
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation]


def language_words() -> set[str]:
    """Every key of every model reachable from Schema, and every keyword a Literal allows."""
    words: set[str] = set()
    seen: set[type] = set()
    todo: list[Any] = [Schema]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            words.add(info.alias or name)
            for member in _members(info.annotation):
                if get_origin(member) is Literal:
                    words.update(str(a) for a in get_args(member))
                elif isinstance(member, type) and issubclass(member, BaseModel):
                    todo.append(member)
    return words


@pytest.mark.parametrize("word", sorted(language_words()))
def test_every_key_and_keyword_of_the_language_is_mentioned(word: str) -> None:
    assert f"`{word}`" in DOC_TEXT or f'`"{word}"`' in DOC_TEXT, f"the reference never mentions `{word}`"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_expression_function_is_listed(name: str) -> None:
    assert re.search(rf"`{name}\(", _section("#### `expression`")), f"expression function {name}() missing"


@pytest.mark.parametrize("path", [DOC, ARCHITECTURE], ids=lambda p: p.name)
def test_the_docs_cite_nothing_outside_the_repo(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for outside in ("DSL.md", "DESIGN.md", "../shared", "/work/"):
        assert outside not in text, f"{path.name} cites '{outside}', which is not in the repository"
