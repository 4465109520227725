"""Schemas written for v1 and the PRD (docs/schema-language.md §11): every older shape whose meaning is
clear is rewritten into the current form before the models read it, with one note per change.

Each rule is one small function over the plain JSON document (a deep copy: the caller's is never
touched); it rewrites what it recognises and says so, in a note whose code starts with `legacy_`. Where
v1 silently did something other than what the schema says, the note says what v1 did and what happens
now. Where a rule cannot tell what the author meant (two columns could hold the segments), it leaves
the shape alone and reports an error saying what to write, so `datagen upgrade` exits 2 and a person
decides. A rule never fires on its own output, so upgrading an upgraded schema changes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from datagen.dsl.base import NUMERIC, TIME
from datagen.dsl.freq import normalise_freq
from datagen.dsl.issues import IssueList, PathPart, did_you_mean
from datagen.dsl.load import read_as
from datagen.dsl.models import Fanout
from datagen.dsl.modifiers import MODIFIER_MODELS, ModifierModel
from datagen.dsl.targets import COUNT_METRIC

Json = dict[str, Any]
Rule = Callable[[Json, IssueList], None]
MODIFIERS: dict[str, type[ModifierModel]] = {m.keyword: m for m in MODIFIER_MODELS}


def normalise_legacy(raw: Any, issues: IssueList) -> Any:
    """The document with every legacy shape rewritten (a copy), and a note per change in `issues`."""
    if not isinstance(raw, dict):
        return raw
    data: Json = copy.deepcopy(raw)
    for rule in RULES:
        rule(data, issues)
    return data


def is_legacy_note(code: str) -> bool:
    """Whether an issue code is one of this module's (what `datagen upgrade` lists as its changes)."""
    return code.startswith("legacy_")


# --- helpers ------------------------------------------------------------------------------------------
def _dicts(value: Any) -> list[Json]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _nodes(data: Json) -> Iterator[tuple[int, Json]]:
    for ni, node in enumerate(data.get("nodes") or []):
        if isinstance(node, dict):
            yield ni, node


def _columns(node: Json) -> Iterator[tuple[int, Json]]:
    for ci, col in enumerate(node.get("columns") or []):
        if isinstance(col, dict):
            yield ci, col


def _node(data: Json, node_id: Any) -> Json | None:
    return next((n for _, n in _nodes(data) if n.get("id") == node_id), None)


def _column_names(node: Json) -> list[str]:
    return [str(c.get("name")) for _, c in _columns(node)]


def _first_time_column(node: Json, exclude: str | None = None) -> str | None:
    return next(
        (str(c["name"]) for _, c in _columns(node) if c.get("type") in TIME and c.get("name") != exclude),
        None,
    )


def _generator(col: Json, kind: str) -> Json | None:
    gen = col.get("generator")
    inner = gen.get(kind) if isinstance(gen, dict) else None
    return inner if isinstance(inner, dict) else None


def _rename(obj: Json, old: str, new: str, value: Any = None) -> None:
    """`old` becomes `new` in place (same position in the key order), optionally with a new value."""
    items = [
        (new if k == old else k, (value if k == old and value is not None else v)) for k, v in obj.items()
    ]
    obj.clear()
    obj.update(items)


def _shown(values: Any) -> str:
    return ", ".join(str(v) for v in values)


# --- top level ----------------------------------------------------------------------------------------
def missing_constraints(data: Json, issues: IssueList) -> None:
    if "constraints" not in data:
        data["constraints"] = {}
        issues.note(
            "constraints",
            "no 'constraints' block: read as {} (none declared; primary and foreign keys are still implied)",
            code="legacy_constraints",
        )


def frequencies(data: Json, issues: IssueList) -> None:
    """Old pandas aliases (`H`, `T`, `M`, …) and words (`Minutes`, `Hourly`, …) as today's aliases."""

    def fix(obj: Any, path: list[PathPart], key: str = "freq") -> None:
        value = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(value, str):
            return
        new, note = normalise_freq(value)
        if note is not None:
            obj[key] = new
            issues.note([*path, key], note, code="legacy_freq")

    fix(data.get("timeframe"), ["timeframe"])
    for ni, node in _nodes(data):
        for ci, col in _columns(node):
            fix(
                _generator(col, "datetime_series"),
                ["nodes", ni, "columns", ci, "generator", "datetime_series"],
            )
        fix(node.get("fanout"), ["nodes", ni, "fanout"], "every")


def targets_shape(data: Json, issues: IssueList) -> None:
    """Targets as a list of typed objects, or as one typed object, grouped by kind."""
    targets = data.get("targets")
    typed = None
    if isinstance(targets, list):
        typed = _dicts(targets) if len(_dicts(targets)) == len(targets) else None
    elif isinstance(targets, dict) and isinstance(targets.get("type", targets.get("kind")), str):
        typed = [targets]
    if not typed or not all(isinstance(t.get("type", t.get("kind")), str) for t in typed):
        return
    grouped: Json = {}
    for t in typed:
        rest = {k: v for k, v in t.items() if k not in ("type", "kind")}
        grouped.setdefault(str(t.get("type", t.get("kind"))), []).append(rest)
    data["targets"] = grouped
    issues.note(
        "targets",
        f"targets given as typed objects read as lists by kind ({_shown(grouped)})",
        code="legacy_targets",
    )


# --- tables -------------------------------------------------------------------------------------------
def vocab_as_entity(data: Json, issues: IssueList) -> None:
    """A vocab table without an `enum_list` column: v1 generated its rows like an entity's."""
    for ni, node in _nodes(data):
        if node.get("kind") != "vocab" or any(
            _generator(c, "enum_list") is not None for _, c in _columns(node)
        ):
            continue
        node["kind"] = "entity"
        issues.note(
            ["nodes", ni, "kind"],
            "a vocab table without enum_list columns is read as an entity (its rows are generated, as "
            "v1 did)",
            code="legacy_vocab",
        )


def fanout_keys(data: Json, issues: IssueList) -> None:
    for ni, node in _nodes(data):
        fanout = node.get("fanout")
        if isinstance(fanout, dict):
            for old, new in read_as(fanout, Fanout.LEGACY_KEYS):
                issues.note(["nodes", ni, "fanout"], f"legacy key '{old}' read as '{new}'", code="legacy_key")


# --- columns ------------------------------------------------------------------------------------------
def _walk(value: Any, path: list[PathPart]) -> Iterator[tuple[Json, list[PathPart]]]:
    stack: list[tuple[Any, list[PathPart]]] = [(value, path)]
    while stack:
        obj, where = stack.pop()
        if isinstance(obj, dict):
            yield obj, where
            stack += [(v, [*where, k]) for k, v in obj.items()]
        elif isinstance(obj, list):
            stack += [(v, [*where, i]) for i, v in enumerate(obj)]


def normal_sigma(data: Json, issues: IssueList) -> None:
    """`sigma` for a normal distribution's `std`: v1 ignored it and drew with std 1."""
    for obj, path in _walk(data.get("nodes"), ["nodes"]):
        params = obj.get("params")
        if (
            obj.get("type") == "normal"
            and isinstance(params, dict)
            and "sigma" in params
            and "std" not in params
        ):
            _rename(params, "sigma", "std")
            issues.note(
                [*path, "params"],
                f"'sigma' read as the normal distribution's 'std' ({params['std']}); v1 ignored it and "
                "drew with std 1, this schema now draws with the std it gives",
                code="legacy_sigma",
            )


FAKER_FIELDS = ("method", "args", "locale", "locale_from", "unique", "from", "comment")


def faker_spellings(data: Json, issues: IssueList) -> None:
    """A faker given as its method's name, `locales` or a list of one locale, a locale inside `args`,
    and the method's arguments written next to `method` instead of inside `args`."""
    for ni, node in _nodes(data):
        for ci, col in _columns(node):
            gen = col.get("generator")
            path: list[PathPart] = ["nodes", ni, "columns", ci, "generator", "faker"]
            if isinstance(gen, dict) and isinstance(gen.get("faker"), str):
                gen["faker"] = {"method": gen["faker"]}
                issues.note(
                    path,
                    f'faker given as text read as {{"method": "{gen["faker"]["method"]}"}}',
                    code="legacy_faker",
                )
            faker = _generator(col, "faker")
            if faker is None:
                continue
            if "locales" in faker and "locale" not in faker:
                _rename(faker, "locales", "locale")
                issues.note([*path, "locale"], "'locales' read as 'locale'", code="legacy_faker")
            locale = faker.get("locale")
            if isinstance(locale, list) and len(locale) == 1 and isinstance(locale[0], str):
                faker["locale"] = locale[0]
                issues.note(
                    [*path, "locale"], f"a list of one locale read as '{locale[0]}'", code="legacy_faker"
                )
            args = faker.get("args")
            if isinstance(args, dict) and isinstance(args.get("locale"), str) and "locale" not in faker:
                faker["locale"] = args.pop("locale")
                issues.note(
                    [*path, "locale"],
                    f"'args.locale' read as the faker's 'locale' ('{faker['locale']}')",
                    code="legacy_faker",
                )
                if not args:
                    del faker["args"]
            # a misspelt field ('local') is the model's to report, not an argument
            extra = [k for k in faker if k not in FAKER_FIELDS and not did_you_mean(k, FAKER_FIELDS)]
            if "method" in faker and extra and (args is None or isinstance(args, dict)):
                moved = {k: faker.pop(k) for k in extra if not (isinstance(args, dict) and k in args)}
                if moved:
                    faker["args"] = {**(faker.get("args") or {}), **moved}
                    issues.note(
                        [*path, "args"],
                        f"{_shown(repr(k) for k in moved)} read as argument(s) of faker method "
                        f"'{faker['method']}' (inside 'args')",
                        code="legacy_faker",
                    )


LOOKUP_SOURCE_KEYS = ("other_key", "that_key", "source_key", "from_key", "their_key", "parent_key", "key")


def lookup_on(data: Json, issues: IssueList) -> None:
    """`on: {"this_key": local, "other_key": source}` as `on: {local: source}`."""
    for ni, node in _nodes(data):
        for ci, col in _columns(node):
            lookup = _generator(col, "lookup")
            on = lookup.get("on") if lookup else None
            if not isinstance(on, dict) or not isinstance(on.get("this_key"), str):
                continue
            sources = [k for k in LOOKUP_SOURCE_KEYS if isinstance(on.get(k), str)]
            if len(sources) > 1 or set(on) - {"this_key", "comment", *sources}:
                continue
            local = on["this_key"]
            source = on[sources[0]] if sources else local
            rewritten = {local: source}
            assert lookup is not None
            lookup["on"] = rewritten
            same = "" if sources else " (the source column of the same name)"
            issues.note(
                ["nodes", ni, "columns", ci, "generator", "lookup", "on"],
                f'\'this_key\' read as the join {{"{local}": "{source}"}}{same}',
                code="legacy_lookup",
            )


def wrong_type_modifiers(data: Json, issues: IssueList) -> None:
    """A numeric modifier on a datetime column: v1 skipped it, so it is dropped."""
    for ni, node in _nodes(data):
        for ci, col in _columns(node):
            mods = col.get("modifiers")
            if col.get("type") not in TIME or not isinstance(mods, list):
                continue
            kept = []
            for mi, mod in enumerate(mods):
                model = MODIFIERS.get(str(mod.get("transform"))) if isinstance(mod, dict) else None
                if (
                    model is not None
                    and model.column_types is not None
                    and col["type"] not in model.column_types
                ):
                    issues.note(
                        ["nodes", ni, "columns", ci, "modifiers", mi],
                        f"'{model.keyword}' on the {col['type']} column '{col.get('name')}' dropped: it "
                        "works on numbers, and v1 skipped it on times",
                        code="legacy_modifier_dropped",
                    )
                else:
                    kept.append(mod)
            if len(kept) < len(mods):
                col["modifiers"] = kept


def parent_time(data: Json, issues: IssueList) -> None:
    """A modifier that reads time on a table with no time column of its own: v1 skipped it; it now reads
    the primary parent's time (an order item's order time), named as `parent.column`."""
    for ni, node in _nodes(data):
        if (
            _first_time_column(node) is not None
            or not isinstance(node.get("parents"), list)
            or not node["parents"]
        ):
            continue
        parent = _node(data, node["parents"][0])
        ptime = _first_time_column(parent) if parent else None
        if ptime is None:
            continue
        for ci, col in _columns(node):
            for mi, mod in enumerate(_dicts(col.get("modifiers"))):
                model = MODIFIERS.get(str(mod.get("transform")))
                args = mod.get("args")
                if model is None or model.time_argument is None or not isinstance(args, dict):
                    continue
                if args.get(model.time_argument) is not None or col.get("type") not in NUMERIC:
                    continue
                ref = f"{node['parents'][0]}.{ptime}"
                args[model.time_argument] = ref
                issues.note(
                    ["nodes", ni, "columns", ci, "modifiers", mi, "args", model.time_argument],
                    f"'{model.keyword}' on '{node.get('id')}.{col.get('name')}', a table with no time column "
                    f"of its own, reads its primary parent's time '{ref}' (v1 skipped it)",
                    code="legacy_parent_time",
                )


def table_effect_keys(data: Json, issues: IssueList) -> None:
    """A table-level effect joined on a column its primary parent lacks: v1 skipped that key, so the
    effect matched every parent row; the key is dropped, which means the same."""
    for ni, node in _nodes(data):
        parents = node.get("parents")
        parent = _node(data, parents[0]) if isinstance(parents, list) and parents else None
        if parent is None:
            continue
        names = set(_column_names(parent))
        for mi, mod in enumerate(_dicts(node.get("modifiers"))):
            args = mod.get("args")
            on = args.get("on") if isinstance(args, dict) else None
            if not isinstance(on, dict):
                continue
            for key in [k for k in on if k not in names and k != "comment"]:
                del on[key]
                issues.note(
                    ["nodes", ni, "modifiers", mi, "args", "on"],
                    f"key '{key}' dropped: '{parent.get('id')}' (whose fanout this effect scales) has no "
                    "such column; v1 skipped the key, so the effect applied to every parent row, as it "
                    "now does",
                    code="legacy_effect_key",
                )


# --- behaviour blocks ---------------------------------------------------------------------------------
SEGMENT_FIELDS = ("segment_column", "behaviors", "applies_to_columns", "comment")
SEGMENT_EFFECT_FIELDS = ("fanout_multiplier", "value_multiplier", "comment")


def _segment_values(col: Json) -> list[str]:
    choice = _generator(col, "choice")
    choices = choice.get("choices") if choice else None
    return [str(v) for v in choices] if isinstance(choices, list) else []


def _find_segment_column(node: Json, keys: list[str]) -> tuple[str | None, str | None]:
    """The column whose drawn values are the segments: every key among its choices; else the one column
    holding some of them. (column, None) or (None, why none could be chosen)."""
    values = {str(c.get("name")): _segment_values(c) for _, c in _columns(node)}
    full = [name for name, vals in values.items() if vals and set(keys) <= set(vals)]
    some = [name for name, vals in values.items() if set(keys) & set(vals)]
    found = full or some
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"no column of '{node.get('id')}' draws the values {_shown(keys)}"
    return None, f"several columns of '{node.get('id')}' draw these values ({_shown(found)})"


def segment_shapes(data: Json, issues: IssueList) -> None:
    """`segment_behavior` keyed by segment value (the PRD's example) or with a `segments` block."""
    for ni, node in _nodes(data):
        sb = node.get("segment_behavior")
        if not isinstance(sb, dict) or "behaviors" in sb:
            continue
        path: list[PathPart] = ["nodes", ni, "segment_behavior"]
        if "segments" in sb:
            behaviors = _segments_block(sb["segments"], path, issues)
            if behaviors is None:
                continue
            del sb["segments"]
            issues.note([*path, "segments"], "'segments' read as 'behaviors'", code="legacy_segments")
        else:
            keyed = {k: v for k, v in sb.items() if k not in SEGMENT_FIELDS}
            if not keyed or any(did_you_mean(k, SEGMENT_FIELDS) or k == "segments" for k in keyed):
                continue  # a misspelt key is the model's to report, not a segment
            behaviors = _segments_block(keyed, path, issues)
            if behaviors is None:
                continue
            for k in keyed:
                del sb[k]
            issues.note(
                path,
                f"keyed by segment value ({_shown(behaviors)}): read as 'behaviors'",
                code="legacy_segments",
            )
        column = sb.pop("segment_column", None)
        if column is None:
            column, why = _find_segment_column(node, list(behaviors))
            if column is None:
                issues.error(
                    [*path, "segment_column"],
                    f'which column holds the segments? {why}; name it in "segment_column"',
                    code="legacy_segment_column",
                )
            else:
                issues.note(
                    [*path, "segment_column"],
                    f"segment column '{column}' (the column of '{node.get('id')}' that draws the values "
                    f"{_shown(behaviors)})",
                    code="legacy_segment_column",
                )
        head = {"segment_column": column} if column is not None else {}
        node["segment_behavior"] = {**head, "behaviors": behaviors, **sb}


def _segments_block(segments: Any, path: list[PathPart], issues: IssueList) -> dict[str, Any] | None:
    """Segments (an object by value, or a list of objects naming their value) as `behaviors`, without
    the `base_probability` values v1 ignored; None when they are not segment effects."""
    if isinstance(segments, list):
        items = {}
        for s in _dicts(segments):
            key = next((k for k in ("name", "segment", "value") if isinstance(s.get(k), str | int)), None)
            if key is None:
                return None
            items[str(s[key])] = {k: v for k, v in s.items() if k != key}
        segments = items
    allowed = {*SEGMENT_EFFECT_FIELDS, "base_probability"}
    if not isinstance(segments, dict) or not all(
        isinstance(v, dict) and set(v) <= allowed for v in segments.values()
    ):
        return None
    segments = copy.deepcopy(segments)
    probabilities = {k: v.pop("base_probability") for k, v in segments.items() if "base_probability" in v}
    if probabilities:
        issues.note(
            path,
            "base_probability values ("
            + ", ".join(f"{k}: {p}" for k, p in probabilities.items())
            + ") dropped: v1 ignored them too; the segment column's own generator (its choice weights) "
            "decides the mix, so set those weights to get it",
            code="legacy_base_probability",
        )
    return dict(segments)


def vintage_targets(data: Json, issues: IssueList) -> None:
    """A vintage `applies_to` naming a bare child column (`"amount"`) as `child.column`."""
    for ni, node in _nodes(data):
        vb = node.get("vintage_behavior")
        curves = vb.get("age_based_multipliers") if isinstance(vb, dict) else None
        if not isinstance(curves, dict):
            continue
        children = [c for _, c in _nodes(data) if node.get("id") in (c.get("parents") or [])]
        for name, curve in curves.items():
            applies = curve.get("applies_to") if isinstance(curve, dict) else None
            if isinstance(applies, str) and applies != "fanout":
                applies = [applies]
            if not isinstance(applies, list) or not any(isinstance(a, str) and "." not in a for a in applies):
                continue
            path: list[PathPart] = [
                "nodes",
                ni,
                "vintage_behavior",
                "age_based_multipliers",
                name,
                "applies_to",
            ]
            resolved = []
            for ref in applies:
                if not isinstance(ref, str) or "." in ref:
                    resolved.append(ref)
                    continue
                owners = [str(c.get("id")) for c in children if ref in _column_names(c)]
                primary = [
                    o for o in owners if (_node(data, o) or {}).get("parents", [None])[0] == node.get("id")
                ]
                owners = owners if len(owners) <= 1 else primary
                if len(owners) != 1:
                    issues.error(
                        path,
                        f"'{ref}' names no table: write it as 'table.{ref}' (child tables of "
                        f"'{node.get('id')}' with that column: {_shown(owners) or 'none'})",
                        code="legacy_vintage_column",
                    )
                    resolved.append(ref)
                    continue
                resolved.append(f"{owners[0]}.{ref}")
                issues.note(path, f"'{ref}' read as '{owners[0]}.{ref}'", code="legacy_vintage_column")
            curve["applies_to"] = resolved


# --- targets ------------------------------------------------------------------------------------------
INFLUENCE_KINDS = {"seasonality": "dimension", "effect": "table"}
# Words v1 schemas use for "how many rows" as a composite_effect metric.
COUNT_WORDS = ("volume", "occurrence_rate", "occurrences", "count", "row_count", "events", "frequency")


def composite_targets(data: Json, issues: IssueList) -> None:
    targets = data.get("targets")
    found = targets.get("composite_effect") if isinstance(targets, dict) else None
    items = [found] if isinstance(found, dict) else _dicts(found)
    for ti, target in enumerate(items):
        path: list[PathPart] = (
            ["targets", "composite_effect", ti]
            if isinstance(found, list)
            else [
                "targets",
                "composite_effect",
            ]
        )
        _influence_objects(data, target, path, issues)
        _count_metric(data, target, path, issues)


def _influence_objects(data: Json, target: Json, path: list[PathPart], issues: IssueList) -> None:
    """`{"kind": "seasonality", "dimension": "hour", "weights": […]}` as "hour", `{"kind": "effect",
    "table": "promos"}` as "promos", `{"kind": "outliers", …}` as "outliers"."""
    influences = target.get("influences")
    if not isinstance(influences, list):
        return
    node = _node(data, target.get("table")) or {}
    metric = next((c for _, c in _columns(node) if c.get("name") == target.get("metric")), {})
    for ii, inf in enumerate(influences):
        if not isinstance(inf, dict) or not isinstance(inf.get("kind"), str):
            continue
        kind = inf["kind"]
        key = INFLUENCE_KINDS.get(kind)
        name = inf.get(key, inf.get("effect_table")) if key else kind
        if not isinstance(name, str):
            continue
        influences[ii] = name
        extra = ""
        if "weights" in inf:
            declared = [
                m.get("args", {}).get("weights")
                for m in _dicts(metric.get("modifiers"))
                if m.get("transform") == "seasonality" and m.get("args", {}).get("dimension") == name
            ]
            extra = (
                "; its weights are those of the metric's own seasonality"
                if inf["weights"] in declared
                else "; its weights are not read: the target compares with the multipliers the schema "
                "declares on the metric (v1 compared with these)"
            )
        issues.note(
            [*path, "influences", ii], f"influence object read as '{name}'{extra}", code="legacy_influence"
        )


def _count_metric(data: Json, target: Json, path: list[PathPart], issues: IssueList) -> None:
    metric = target.get("metric")
    node = _node(data, target.get("table"))
    if not isinstance(metric, str) or node is None or metric in _column_names(node):
        return
    if metric.lower() in COUNT_WORDS:
        target["metric"] = COUNT_METRIC
        issues.note(
            [*path, "metric"],
            f"'{metric}' names no column of '{node.get('id')}': read as '{COUNT_METRIC}', the table's row "
            "count per stratum",
            code="legacy_metric",
        )


# In order: a rule may rely on the shapes the rules before it leave (columns typed, nodes kinded).
RULES: tuple[Rule, ...] = (
    missing_constraints,
    targets_shape,
    frequencies,
    fanout_keys,
    vocab_as_entity,
    normal_sigma,
    faker_spellings,
    lookup_on,
    wrong_type_modifiers,
    parent_time,
    table_effect_keys,
    segment_shapes,
    vintage_targets,
    composite_targets,
)
