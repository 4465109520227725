"""From text to models: JSON syntax errors with line and column, legacy spellings normalised (with a
note each), pydantic errors turned into path + plain-words issues."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from datagen.dsl.freq import normalise_freq
from datagen.dsl.generators import GENERATOR_MODELS
from datagen.dsl.issues import IssueList, PathPart, allowed_list, did_you_mean, format_path
from datagen.dsl.limits import MAX_NESTING, MAX_NUMBER_DIGITS, MAX_SCHEMA_BYTES
from datagen.dsl.models import Fanout, Schema
from datagen.dsl.modifiers import MODIFIER_NAMES
from datagen.errors import InputError


def read_json(path: Path) -> Any:
    """Read a schema file; missing files and JSON syntax errors become InputError with line/column.
    At most MAX_SCHEMA_BYTES are read (a device such as /dev/zero never ends); a UTF-8 byte-order mark
    at the start is accepted, as editors on Windows write one."""
    if not path.exists():
        raise InputError(
            f"schema file not found: {path}", hint="check the path (datagen examples lists bundled ones)"
        )
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a schema file", hint="pass the path of a .json schema")
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SCHEMA_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if len(data) > MAX_SCHEMA_BYTES:
        mb = MAX_SCHEMA_BYTES // (1024 * 1024)
        raise InputError(
            f"{path} is larger than {mb} MB; a schema is a few KB of JSON (reading stopped after {mb} MB)",
            hint="pass the schema file itself, not a data file or a device",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return parse_json(text, source=str(path))


class _NumberTooLong(ValueError):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _NumberTooLong(literal)
    return int(literal)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _position(text: str, index: int) -> tuple[int, int, str]:
    """1-based line and column of `index`, and that line."""
    line_no = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return line_no, index - start + 1, text[start : end if end >= 0 else len(text)]


def _excerpt(line: str, column: int, width: int = 100) -> tuple[str, int]:
    """A window of a long line around `column` (1-based) and the column inside the window."""
    if len(line) <= width:
        return line, column
    first = max(0, column - width // 2)
    return line[first : first + width], column - first


def _syntax_error(text: str, source: str, index: int, message: str, hint: str) -> InputError:
    line_no, column, line = _position(text, index)
    shown, at = _excerpt(line, column)
    pointer = " " * (at - 1) + "^"
    return InputError(f"{source}:{line_no}:{column}: {message}\n    {shown}\n    {pointer}", hint=hint)


def parse_json(text: str, source: str = "<schema>") -> Any:
    """JSON text to Python values, refusing what would crash later: integers with more than
    MAX_NUMBER_DIGITS digits, NaN/Infinity (not JSON), and nesting deeper than Python can parse."""
    try:
        return json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _syntax_error(
            text,
            source,
            exc.pos,
            f"not valid JSON: {exc.msg}",
            "fix the JSON syntax at that line and column (a missing comma or quote is the usual cause)",
        ) from None
    except _NumberTooLong as exc:
        digits = len(exc.literal.lstrip("-"))
        raise _syntax_error(
            text,
            source,
            max(text.find(exc.literal), 0),
            f"a number with {digits} digits; numbers in a schema have at most {MAX_NUMBER_DIGITS}",
            "write the count or value you mean (row counts are at most 10,000,000,000)",
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise InputError(
            f"{source}: {exc}", hint="write a finite number, or null where a value may be missing"
        ) from None
    except RecursionError:
        raise InputError(
            f"{source}: JSON nested too deeply to read (a schema nests about 10 levels)",
            hint="pass the schema file itself; this one is not a schema",
        ) from None


def document_problems(document: Any) -> list[tuple[list[PathPart], str]]:
    """What no schema may hold anywhere, found without recursion: nesting deeper than MAX_NESTING, and
    text with lone surrogates (escapes such as "\\ud800" that are no character and cannot be written
    as UTF-8). Checked before the models see the document, whatever its source (file or model reply)."""
    problems: list[tuple[list[PathPart], str]] = []
    stack: list[tuple[Any, list[PathPart]]] = [(document, [])]
    while stack and len(problems) < 10:
        value, path = stack.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                problems.append(
                    (
                        path,
                        f"text {_describe(value)} holds a lone surrogate escape (such as "
                        "\\ud800), which is not a character; remove it",
                    )
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if len(path) >= MAX_NESTING:
            problems.append(
                (path[:2], f"nested more than {MAX_NESTING} levels deep; a schema nests about 10")
            )
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            if isinstance(key, str) and _has_surrogate(key):
                problems.append(
                    (
                        path,
                        f"key {_describe(key)} holds a lone surrogate escape (such as "
                        "\\ud800), which is not a character; remove it",
                    )
                )
            stack.append((child, [*path, key]))
    return problems


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def normalise_legacy(raw: Any, notes: IssueList) -> Any:
    """Rewrite unambiguous legacy spellings in place-copy and note each one (docs/schema-language.md §1)."""
    if not isinstance(raw, dict):
        return raw
    data = json.loads(json.dumps(raw))  # deep copy of plain JSON

    def fix_freq(obj: dict[str, Any], key: str, path: list[PathPart]) -> None:
        value = obj.get(key)
        if isinstance(value, str):
            new, note = normalise_freq(value)
            if note:
                obj[key] = new
                notes.note([*path, key], note, code="legacy_freq")

    if isinstance(data.get("timeframe"), dict):
        fix_freq(data["timeframe"], "freq", ["timeframe"])
    for ni, node in enumerate(data.get("nodes") or []):
        if not isinstance(node, dict):
            continue
        for ci, col in enumerate(node.get("columns") or []):
            gen = col.get("generator") if isinstance(col, dict) else None
            if isinstance(gen, dict) and isinstance(gen.get("datetime_series"), dict):
                fix_freq(
                    gen["datetime_series"],
                    "freq",
                    ["nodes", ni, "columns", ci, "generator", "datetime_series"],
                )
        fanout = node.get("fanout")
        if isinstance(fanout, dict):
            fix_freq(fanout, "every", ["nodes", ni, "fanout"])
            for old, new in read_as(fanout, Fanout.LEGACY_KEYS):
                notes.note(["nodes", ni, "fanout"], f"legacy key '{old}' read as '{new}'", code="legacy_key")
    return data


def read_as(obj: dict[str, Any], spellings: Mapping[str, str]) -> list[tuple[str, str]]:
    """Rename each other spelling of a key (`{"lam": "lambda"}`) present in `obj` to the key, when the
    key itself is absent; the (spelling, key) pairs renamed. The one place spellings are read."""
    renamed = []
    for old, new in spellings.items():
        if old in obj and new not in obj:
            obj[new] = obj.pop(old)
            renamed.append((old, new))
    return renamed


# Words people (and models) use for a DSL keyword; offered as "did you mean" when spelling is no help.
_SYNONYMS = {
    "timestamp": "datetime",
    "integer": "int",
    "boolean": "bool",
    "number": "float",
    "double": "float",
    "decimal": "float",
    "text": "string",
    "varchar": "string",
    "weekday": "dow",
    "day_of_week": "dow",
}

_TYPE_LIKE = re.compile(
    r"^(list\[|dict\[|literal\[|function-|tuple\[|union\[|nullable\[|[A-Z]\w*$|str$|int$|float$|bool$)"
)


def _clean_loc(loc: tuple[Any, ...]) -> list[PathPart]:
    """Drop what pydantic adds for unions (tags, member type names) so the path is the JSON path."""
    out: list[PathPart] = []
    for i, part in enumerate(loc):
        if isinstance(part, str):
            nxt = loc[i + 1] if i + 1 < len(loc) else None
            if _TYPE_LIKE.match(part):
                continue  # a union member's type name
            if part in GENERATOR_MODELS and nxt == part:
                continue  # generator tag before the same-named field
            if (
                part in MODIFIER_NAMES
                and i >= 2
                and isinstance(loc[i - 1], int)
                and loc[i - 2] == "modifiers"
            ):
                continue  # modifier tag after the list index
        out.append(part)
    return out


def _members(annotation: Any) -> list[Any]:
    """Flatten Annotated/Optional/Union into the concrete types it may hold."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Walk pydantic's raw error location through the model tree to the model that holds the last key."""
    parts = [p for i, p in enumerate(loc) if not (i and p == loc[i - 1])]  # generator tag + same-named field
    current: list[Any] = [Schema]
    for part in parts:
        if isinstance(part, str) and _TYPE_LIKE.match(part):
            continue  # a union member's type name: same object
        nxt: list[Any] = []
        for member in (m for typ in current for m in _members(typ)):
            origin = get_origin(member)
            if isinstance(part, int) and origin in (list, tuple):
                nxt.extend(get_args(member)[:1])
            elif isinstance(part, str) and origin is dict:
                nxt.append(get_args(member)[1])
            elif isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
                fields = {f.alias or n: f for n, f in member.model_fields.items()}
                transform = member.model_fields.get("transform")
                if part in fields:
                    nxt.append(fields[part].annotation)
                elif transform is not None and part in get_args(transform.annotation):
                    nxt.append(member)  # a modifier's tag names this member
        current = nxt
        if not current:
            return None
    models = [m for t in current for m in _members(t) if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


def _unknown_key_message(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown key '{key}'"
    allowed = [f.alias or n for n, f in model.model_fields.items() if n != "comment"]
    return f"unknown key '{key}'{did_you_mean(key, allowed)} (expected: {allowed_list(allowed, limit=30)})"


def _describe(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _message(err: ErrorDetails) -> str:
    kind, msg, found = err["type"], err["msg"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind in ("value_error", "assertion_error"):
        return str(msg).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        return _unknown_key_message(err["loc"])
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        hint = did_you_mean(str(found), expected) if isinstance(found, str) else ""
        if not hint and _SYNONYMS.get(str(found).lower()) in expected:
            hint = f" (did you mean '{_SYNONYMS[str(found).lower()]}'?)"
        return f"found {_describe(found)}; expected one of: {', '.join(expected)}{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        key = str(ctx.get("discriminator", "transform")).strip("'")
        if not expected and key == "transform":
            expected = list(MODIFIER_NAMES)  # pydantic names no tags when the key is missing
        options = ", ".join(expected)
        if kind == "union_tag_not_found":
            return f"missing '{key}' (expected one of: {options})"
        tag = str(ctx.get("tag", ""))
        return f"unknown {key} '{tag}'{did_you_mean(tag, expected)} (expected one of: {options})"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{msg[0].lower() + msg[1:]}; found {_describe(found)}"
    return f"{msg[0].lower() + msg[1:]}; found {_describe(found)}" if found is not None else msg


# "Wrong container" errors that a union member reports when another member explains the mistake better.
_CONTAINER_ERRORS = ("list_type", "dict_type", "model_type", "model_attributes_type")


def pydantic_issues(exc: ValidationError, issues: IssueList) -> None:
    """One issue per mistake: union members that merely say "not this shape" are dropped when another
    member reports at the same place, and a missing key is not repeated next to a "did you mean" for it."""
    found: list[tuple[str, str, str]] = []
    for err in exc.errors(include_url=False):
        if err["type"] == "literal_error" and isinstance(err.get("input"), dict | list):
            continue  # the other member of a `"keyword" | {...}` union explains it better
        loc = err["loc"][:-1] if err["type"] == "extra_forbidden" else err["loc"]
        entry = (format_path(_clean_loc(loc)), _message(err), err["type"])
        if entry not in found:
            found.append(entry)
    for path, message, kind in found:
        others = [(p, m) for p, m, _ in found if (p, m) != (path, message)]
        inside = (f"{path}.", f"{path}[")
        if kind in _CONTAINER_ERRORS and any(p == path or p.startswith(inside) for p, _ in others):
            continue
        if kind == "missing":
            parent, _, key = path.rpartition(".")
            hint = f"(did you mean '{key}'?)"
            if any(p == (parent or "(schema)") and hint in m for p, m in others):
                continue
        issues.error(path, message, code=kind)
