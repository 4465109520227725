"""Hypothesis strategies for schema documents, shared by the DSL and engine tests.

`valid_schemas()` draws JSON documents (plain dicts) that `datagen.dsl.check` accepts without errors or
warnings: vocab, entity, effect and fact tables; every generator; modifiers that fit their column; fanout;
behaviour blocks; constraints that hold by construction; targets and sometimes an explicit `dag`. Declared
row counts are 0–`max_rows`, fanout is at most 4 children per parent and walks use weekly or monthly
periods over at most about a year, so generating a drawn schema stays cheap.

Schemas are built valid rather than filtered: each choice is only offered where it is allowed (a trend
needs a time column, a self-reference a sequence key, a segment multiplier a segment column, …).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.internal.cache import LRUCache
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants

__all__ = ["shard", "valid_schemas"]

FAKER_METHODS = ("name", "first_name", "last_name", "email", "city", "company", "job", "word")
FREQS = ("h", "6h", "30min", "D")
COUNTRIES = ["US", "DE", "FR", "CZ"]
DIST_PARAMS: dict[str, dict[str, Any]] = {
    "normal": {"mean": st.floats(-100, 100), "std": st.floats(0.1, 50)},
    "lognormal": {"mean": st.floats(-1, 4), "sigma": st.floats(0.1, 1.5)},
    "poisson": {"lambda": st.floats(0.1, 50)},
    "beta": {"a": st.floats(0.2, 5), "b": st.floats(0.2, 5)},
    "gamma": {"shape": st.floats(0.2, 5), "scale": st.floats(0.1, 20)},
    "weibull": {"shape": st.floats(0.3, 5), "scale": st.floats(0.1, 20)},
    "exponential": {"scale": st.floats(0.1, 100)},
}
_names = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


def shard(index: int, examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Settings for one shard of a property test split across test workers: `examples` drawn examples
    from the fixed random stream `index`, so shards explore different schemas, a run is reproducible
    and no shard reads another's example database. Drawn schemas are generated, which takes longer
    than hypothesis expects of one example.

    Hypothesis also mixes in constants it reads from the source of every project module imported so
    far (and caches which fit a strategy, per process). Which modules those are depends on the tests
    that ran before in the process, so the same seed drew other examples in the full suite than alone:
    a failure that came and went. Here draws use its built-in constants only, so they depend on the
    seed alone. (Internals of the pinned hypothesis: a version that moves them fails here loudly.)"""

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        configured = seed(index)(
            settings(
                max_examples=examples,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )(test)
        )

        @functools.wraps(configured)
        def run(*args: Any, **kwargs: Any) -> None:
            with (
                mock.patch.object(providers, "_get_local_constants", Constants),
                mock.patch.object(providers, "CONSTANTS_CACHE", LRUCache(1024)),
            ):
                configured(*args, **kwargs)

        return run

    return apply


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Table:
    """A table being drawn, and what later choices need to know about it."""

    node: dict[str, Any]
    deps: set[str] = field(default_factory=set)
    time_col: str | None = None
    end_col: str | None = None  # a datetime computed after time_col: a window a child can be drawn in
    numeric: list[str] = field(default_factory=list)  # plain numeric columns (not keys, not filled by walks)
    strings: list[str] = field(default_factory=list)  # non-key string columns
    choice_values: dict[str, list[Any]] = field(default_factory=dict)  # unmodified choice columns
    clamped: dict[str, tuple[float, float]] = field(default_factory=dict)  # unmodified clamped columns
    segment_values: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.node["id"]

    @property
    def pk(self) -> str:
        return self.node["pk"]

    @property
    def columns(self) -> list[dict[str, Any]]:
        return self.node["columns"]

    def add(self, column: dict[str, Any]) -> dict[str, Any]:
        self.columns.append(column)
        return column


class _Builder:
    def __init__(self, draw: Any, max_rows: int) -> None:
        self.draw = draw
        self.max_rows = max_rows
        self.tables: list[_Table] = []
        self.scaled: set[str] = set()  # columns a behaviour block multiplies
        self.constraints: dict[str, list[Any]] = {}
        self.start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 5 * 365)))
        self.end = self.start + timedelta(days=draw(st.integers(1, 400)), hours=draw(st.integers(0, 23)))

    # --- small draws ----------------------------------------------------------------------------------
    def maybe(self, p: float = 0.5) -> bool:
        """True with about probability p; shrinks towards False, so a failing example shrinks to less."""
        return self.draw(st.sampled_from(range(20))) >= 20 * (1 - p)

    def pick(self, options: Any) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def constrain(self, kind: str, item: Any) -> None:
        self.constraints.setdefault(kind, []).append(item)

    def rows(self) -> int:
        return self.draw(st.integers(0, self.max_rows))

    def weights(self, n: int) -> list[float]:
        w = self.draw(st.lists(st.floats(0, 10), min_size=n, max_size=n))
        return w if sum(w) > 0 else [1.0] * n

    def table(self, table_id: str, kind: str, *, pk_type: str = "int") -> _Table:
        start, step = self.draw(st.integers(-5, 1000)), self.pick([1, 1, 2, 5])
        key = {
            "name": f"{table_id}_id",
            "type": pk_type,
            "generator": {"sequence": {"start": start, "step": step}},
        }
        if self.maybe(0.2):
            key["comment"] = "the key"
        t = _Table({"id": table_id, "kind": kind, "pk": key["name"], "columns": [key]})
        self.tables.append(t)
        return t

    # --- columns --------------------------------------------------------------------------------------
    def time_column(self, t: _Table, name: str = "ts", window: dict[str, str] | None = None) -> None:
        args: dict[str, Any] = {"within": "timeframe"}
        if window is not None:  # each row inside its related row's own window
            args["within"] = window
        elif self.maybe(0.3):
            lo = self.start + (self.end - self.start) * self.draw(st.floats(0, 0.5))
            args["within"] = {
                "start": _iso(lo),
                "end": _iso(lo + (self.end - self.start) / 2 + timedelta(hours=1)),
            }
        if self.maybe(0.8):
            args["freq"] = self.pick(FREQS)
        patterns = [
            {"dimension": dim, "weights": self.weights(n)}
            for dim, n in (("hour", 24), ("dow", 7), ("month", 12))
            if self.maybe(0.3)
        ]
        if patterns:
            args["pattern"] = patterns[0] if len(patterns) == 1 and self.maybe() else patterns
        if self.maybe(0.15):
            args["snap"] = True
        column = t.add(
            {
                "name": name,
                "type": self.pick(["datetime", "datetime", "date"]),
                "generator": {"datetime_series": args},
            }
        )
        mods = []
        if self.maybe(0.2):
            mods.append(
                {"transform": "seasonality", "args": {"dimension": "dow", "weights": self.weights(7)}}
            )
        if self.maybe(0.2):
            mods.append({"transform": "time_jitter", "args": {"std_minutes": self.draw(st.floats(0, 120))}})
        if mods:
            column["modifiers"] = mods
        t.time_col = t.time_col or name

    def numeric_column(self, t: _Table, name: str, effects: _Table | None) -> None:
        kind = self.pick(["uniform", *DIST_PARAMS])
        if kind == "uniform":
            low = self.draw(st.floats(-1000, 1000))
            params = {"low": low, "high": low + self.draw(st.floats(0.5, 500))}
        else:
            params = {k: self.draw(v) for k, v in DIST_PARAMS[kind].items()}
        dist: dict[str, Any] = {"type": kind, "params": params}
        ctype = self.pick(["float", "float", "int"])
        if self.maybe(0.5):
            lo = self.draw(st.floats(-100, 100))
            # an int column's clamp must hold a whole number (the checker refuses [0.2, 0.7])
            dist["clamp"] = [lo, lo + self.draw(st.floats(1.0 if ctype == "int" else 0.0, 1000))]
        elif self.maybe(0.1):
            dist["clamp"] = [None, self.draw(st.floats(0, 1000))]
        column = t.add({"name": name, "type": ctype, "generator": {"distribution": dist}})
        mods = self.numeric_modifiers(t, effects) if self.maybe(0.5) else []
        if mods:
            column["modifiers"] = mods
        nullable = self.nullable(column)
        if not (mods or nullable) and dist.get("clamp") and dist["clamp"][0] is not None:
            t.clamped[name] = (dist["clamp"][0], dist["clamp"][1])
        t.numeric.append(name)

    def numeric_modifiers(self, t: _Table, effects: _Table | None) -> list[dict[str, Any]]:
        options = ["multiply", "add", "clamp", "jitter", "outliers"]
        if t.time_col:
            options += ["trend", "seasonality", "burst"] + (["effect"] * 3 if effects else [])
        mods = []
        for name in self.draw(st.lists(st.sampled_from(options), min_size=1, max_size=3)):
            if name == "multiply":
                mods.append({"transform": "multiply", "args": {"factor": self.draw(st.floats(-3, 3))}})
            elif name == "add":
                mods.append({"transform": "add", "args": {"value": self.draw(st.floats(-100, 100))}})
            elif name == "clamp":
                lo = self.draw(st.floats(-100, 100))
                args = {"min": lo, "max": lo + self.draw(st.floats(0, 500))}
                mods.append(
                    {
                        "transform": "clamp",
                        "args": self.draw(st.sampled_from([args, {"min": lo}, {"max": args["max"]}])),
                    }
                )
            elif name == "jitter":
                mods.append(
                    {
                        "transform": "jitter",
                        "args": {"std": self.draw(st.floats(0, 2)), "mode": self.pick(["add", "mul"])},
                    }
                )
            elif name in ("outliers", "burst"):
                args = {
                    "rate": self.draw(st.floats(0, 0.2)),
                    "mode": "burst" if name == "burst" else self.pick(["spike", "drop"]),
                }
                if self.maybe(0.3):
                    args["magnitude_dist"] = {
                        "type": "exponential",
                        "params": {"scale": 1.0},
                        "clamp": [0, 5],
                    }
                mods.append({"transform": "outliers", "args": args})
            elif name == "trend":
                args = {
                    "type": self.pick(["exponential", "linear", "logarithmic"]),
                    "growth_rate": self.draw(st.floats(-0.5, 1)),
                }
                if args["type"] == "logarithmic" and self.maybe():
                    args["params"] = {"a": self.draw(st.floats(0, 2)), "b": self.draw(st.floats(0, 2))}
                if self.maybe():
                    args["time_reference"] = t.time_col
                mods.append({"transform": "trend", "args": args})
            elif name == "seasonality":
                dim, n = self.pick([("hour", 24), ("dow", 7), ("month", 12)])
                args = {"dimension": dim, "weights": self.weights(n)}
                if self.maybe():
                    args["time_column"] = t.time_col
                mods.append({"transform": "seasonality", "args": args})
            elif name == "effect" and effects is not None:
                args = {
                    "effect_table": effects.id,
                    "window": {"start_col": "start_at", "end_col": "end_at"},
                    "map": {
                        "field": "lift",
                        "op": self.pick(["mul", "add"]),
                        "default": self.draw(st.floats(0, 2)),
                    },
                }
                if self.maybe():
                    args["time_column"] = t.time_col
                mods.append({"transform": "effect", "args": args})
                t.deps.add(effects.id)
        return mods

    def choice_column(self, t: _Table, name: str) -> None:
        values = self.draw(st.lists(_names, min_size=1, max_size=6, unique=True))
        args: dict[str, Any] = {"choices": values}
        how = self.pick(["none", "weights", "kind"])
        if how == "weights":
            args["weights"] = self.weights(len(values))
        elif how == "kind":
            args["weights_kind"] = self.pick(["uniform", "zipf@1.1", "zipf@2", "head_tail@{0.6,1.2}"])
        column = t.add({"name": name, "type": "string", "generator": {"choice": args}})
        if self.maybe(0.2):
            column["modifiers"] = [
                {"transform": "map_values", "args": {"mapping": {values[0]: values[0].upper()}}}
            ]
        elif not self.nullable(column):
            t.choice_values[name] = values
        t.strings.append(name)

    def faker_column(self, t: _Table, name: str) -> None:
        args: dict[str, Any] = {"method": self.pick(FAKER_METHODS)}
        where = self.pick(["default", "locale", "locale_from"])
        if where == "locale":
            args["locale"] = self.pick(["de_DE", "fr_FR", "en_GB"])
        elif where == "locale_from":
            country = f"{name}_country"
            t.add({"name": country, "type": "string", "generator": {"choice": {"choices": COUNTRIES}}})
            t.choice_values[country] = COUNTRIES
            args["locale_from"] = country
        unique = args["method"] == "email" and self.maybe(0.3)
        if unique:
            args["unique"] = True
            if self.maybe():
                self.constrain("unique", f"{t.id}.{name}")
        column = t.add({"name": name, "type": "string", "generator": {"faker": args}})
        if not unique:
            self.nullable(column)
        t.strings.append(name)

    def expression_column(self, t: _Table, name: str) -> None:
        a = self.pick(t.numeric)
        code = self.pick(
            [
                f"{a} * 2 + 1",
                f"where({a} > 0, {a}, 0)",
                f"round(abs({a}) / 3, 2)",
                f"max({a}, 1) - min({a}, 0)",
            ]
        )
        column = t.add({"name": name, "type": "float", "generator": {"expression": {"code": code}}})
        if any(c["name"] == a and c.get("nullable") for c in t.columns):
            column["nullable"] = True  # a null input gives a null result, which the cast refuses otherwise

    def nullable(self, column: dict[str, Any]) -> bool:
        if self.maybe(0.2):
            column["nullable"] = True
            if self.maybe():
                column["null_rate"] = self.draw(st.floats(0, 0.5))
            return True
        return False

    def random_columns(self, t: _Table, vocabs: list[_Table], effects: _Table | None) -> None:
        kinds = ["number", "number", "choice", "flag", "faker", "derived", "vocab_ref", "self_ref"]
        for i, kind in enumerate(self.draw(st.lists(st.sampled_from(kinds), max_size=5))):
            name = f"c{i}"
            if kind == "number":
                self.numeric_column(t, name, effects)
            elif kind == "choice":
                self.choice_column(t, name)
            elif kind == "flag":
                t.add({"name": name, "type": "bool", "generator": {"choice": {"choices": [True, False]}}})
            elif kind == "faker":
                self.faker_column(t, name)
            elif kind == "derived" and t.numeric:
                self.expression_column(t, name)
            elif kind == "vocab_ref" and vocabs:
                v = self.pick(vocabs)
                t.add(
                    {"name": name, "type": "string", "generator": {"choice": {"choices_ref": f"{v.id}.code"}}}
                )
                t.deps.add(v.id)
            elif kind == "self_ref" and not any(c["name"] == "parent_ref" for c in t.columns):
                t.add(
                    {
                        "name": "parent_ref",
                        "type": t.columns[0]["type"],
                        "nullable": True,
                        "generator": {"lookup": {"from": f"{t.id}.{t.pk}"}},
                    }
                )

    # --- tables ---------------------------------------------------------------------------------------
    def vocab(self) -> _Table:
        codes = self.draw(st.lists(_names, min_size=1, max_size=8, unique=True))
        t = _Table(
            {
                "id": "v0",
                "kind": "vocab",
                "pk": "code",
                "columns": [
                    {"name": "code", "type": "string", "generator": {"enum_list": {"values": codes}}},
                    {
                        "name": "rank",
                        "type": "int",
                        "generator": {"enum_list": {"values": list(range(len(codes)))}},
                    },
                    {"name": "rank2", "type": "float", "generator": {"expression": {"code": "rank * 2"}}},
                    {
                        "name": "label",
                        "type": "string",
                        "generator": {"expression": {"code": "code"}},
                        "modifiers": [
                            {
                                "transform": "map_values",
                                "args": {"mapping": {codes[0]: "first"}, "default": "other"},
                            }
                        ],
                    },
                ],
            }
        )
        self.tables.append(t)
        return t

    def effects(self) -> _Table:
        t = self.table("fx", "entity")
        t.node["rows"] = self.draw(st.integers(1, 5))
        t.add({"name": "start_at", "type": "datetime", "generator": {"datetime_series": {"freq": "D"}}})
        t.add(
            {
                "name": "end_at",
                "type": "datetime",
                "generator": {"expression": {"code": f"start_at + days({self.draw(st.integers(1, 30))})"}},
            }
        )
        t.add(
            {
                "name": "lift",
                "type": "float",
                "generator": {"distribution": {"type": "uniform", "params": {"low": 0.5, "high": 2}}},
            }
        )
        return t

    def entity(self, index: int, vocabs: list[_Table], effects: _Table | None) -> _Table:
        t = self.table(f"e{index}", "entity", pk_type=self.pick(["int", "int", "string"]))
        t.node["rows"] = self.rows()
        if self.maybe(0.6):
            self.time_column(t)
            if self.maybe(0.5):
                days = self.draw(st.integers(1, 30))
                t.add(
                    {
                        "name": "ts_end",
                        "type": "datetime",
                        "generator": {"expression": {"code": f"ts + days({days})"}},
                    }
                )
                t.end_col = "ts_end"
        self.random_columns(t, vocabs, effects)
        if self.maybe(0.3):
            t.segment_values = self.draw(st.lists(_names, min_size=1, max_size=4, unique=True))
            t.add(
                {"name": "segment", "type": "string", "generator": {"choice": {"choices": t.segment_values}}}
            )
        return t

    def fact(self, index: int, vocabs: list[_Table], effects: _Table | None) -> _Table:
        t = self.table(f"f{index}", "fact")
        keyed = [
            p for p in self.tables if p.node["kind"] in ("entity", "fact") and p is not t and p.id != "fx"
        ]
        if not keyed or self.maybe(0.1):
            t.node["rows"] = self.rows()
            parents: list[_Table] = []
        else:
            parents = self.draw(
                st.lists(st.sampled_from(keyed), min_size=1, max_size=2, unique_by=lambda p: p.id)
            )
            t.node["parents"] = [p.id for p in parents]
            t.deps |= {p.id for p in parents}
            for i, p in enumerate(parents):
                fk = {
                    "name": f"{p.id}_id",
                    "type": p.columns[0]["type"],
                    "generator": {"lookup": {"from": f"{p.id}.{p.pk}"}},
                }
                if i:  # a further parent may have no rows to refer to (then the key is null)
                    fk["nullable"] = True
                t.add(fk)
                if self.maybe(0.3):
                    self.constrain("foreign_keys", {"from": f"{t.id}.{p.id}_id", "to": f"{p.id}.{p.pk}"})
        walk = self.pick(["none", "none", "stages", "states"]) if parents else "none"
        regular = bool(parents) and walk == "none" and self.maybe(0.15)
        if regular:
            self.regular(t, parents[0])
        elif walk != "none" or self.maybe(0.7):
            p0 = parents[0] if parents else None
            related = walk == "none" and p0 is not None and p0.node["kind"] == "entity" and p0.end_col
            if related and self.maybe(0.4):
                assert p0 is not None
                self.time_column(
                    t, window={"start": f"{p0.id}.{p0.time_col}", "end": f"{p0.id}.{p0.end_col}"}
                )
            else:
                self.time_column(t)
            if parents and parents[0].time_col and self.maybe(0.5):
                self.constrain(
                    "inequalities",
                    {"left": f"{t.id}.ts", "op": ">=", "right": f"{parents[0].id}.{parents[0].time_col}"},
                )
            grand = self.grandparent(parents[0]) if parents and walk == "none" else None
            # two tables away, along one path only (the checker refuses a related row that is ambiguous)
            via = [p for p in parents if grand is not None and grand.id in p.node.get("parents", [])]
            if grand is not None and grand.time_col and len(via) == 1 and self.maybe(0.9):
                self.constrain(
                    "inequalities",
                    {"left": f"{t.id}.ts", "op": ">=", "right": f"{grand.id}.{grand.time_col}"},
                )
        if parents and walk == "none" and not regular and self.maybe(0.8):
            t.node["fanout"] = self.fanout()
        if parents and walk == "none" and parents[0].choice_values and self.maybe(0.3):
            name, choices = self.pick(parents[0].choice_values.items())
            t.node.setdefault("fanout", {"count": 1})["where"] = f"{name} == '{self.pick(choices)}'"
        if parents and self.pick([True, False]):
            source = parents[0]
            joinable = [c for c in source.columns[1:] if c["name"] != "parent_ref"]
            if joinable:
                target = self.pick(joinable)
                t.add(
                    {
                        "name": "joined",
                        "type": target["type"],
                        "nullable": True,
                        "generator": {
                            "lookup": {
                                "from": f"{source.id}.{target['name']}",
                                "on": {f"{source.id}_id": source.pk},
                            }
                        },
                    }
                )
        self.random_columns(t, vocabs, effects)
        numbers = [n for n in t.numeric if n not in t.clamped]
        if parents and numbers and parents[0].numeric and self.maybe(0.3):  # drawn inside, or capped
            self.constrain(
                "inequalities",
                {"left": f"{t.id}.{self.pick(numbers)}", "op": self.pick(["<=", "<", ">="]),
                 "right": f"{parents[0].id}.{self.pick(parents[0].numeric)}"},
            )  # fmt: skip
        if walk == "stages":
            self.stages(t)
        elif walk == "states":
            self.states(t)
        # a table-level effect scales the fanout (on a fact without one it would do nothing)
        if parents and effects is not None and parents[0].time_col and self.maybe(0.2) and "fanout" in t.node:
            t.node["modifiers"] = [
                {
                    "transform": "effect",
                    "args": {
                        "effect_table": effects.id,
                        "window": {"start_col": "start_at", "end_col": "end_at"},
                        "map": {"field": "lift"},
                        "time_column": parents[0].time_col,
                    },
                }
            ]
            t.deps.add(effects.id)
        return t

    def grandparent(self, parent: _Table) -> _Table | None:
        ids = parent.node.get("parents") or []
        return next((t for t in self.tables if ids and t.id == ids[0]), None)

    def regular(self, t: _Table, parent: _Table) -> None:
        """A regular series: one row (or a Poisson number) per period of each parent's life; its first
        time column holds the period's start or an instant inside it."""
        days = (self.end - self.start).days
        every = self.pick(["MS", "W-MON", "D"] if days <= 60 else ["MS", "W-MON"])
        fanout: dict[str, Any] = {"every": every}
        if self.maybe(0.3):
            fanout |= {"distribution": "poisson", "lambda": self.draw(st.floats(0, 2))}
        elif self.maybe(0.3):
            fanout["count"] = self.draw(st.integers(1, 2))
        t.node["fanout"] = fanout
        column = t.add({"name": "ts", "type": "datetime", "generator": {"datetime_series": {}}})
        if self.maybe(0.5):
            column["generator"]["datetime_series"]["slot"] = True
        if self.maybe(0.3):
            column["modifiers"] = [
                {"transform": "time_jitter", "args": {"std_minutes": self.draw(st.floats(0, 30))}}
            ]
        t.time_col = "ts"

    def fanout(self) -> dict[str, Any]:
        kind = self.pick(["poisson", "uniform", "negative_binomial", "constant"])
        hi = self.draw(st.integers(0, 4))
        if kind == "constant":
            count = self.draw(st.integers(0, 3))
            return {"count": count} if self.maybe() else {"distribution": "constant", "count": count}
        if kind == "uniform":
            return {"distribution": "uniform", "min": self.draw(st.integers(0, hi)), "max": hi}
        out = {"distribution": kind, "lambda": self.draw(st.floats(0, 3)), "max": hi}
        if kind == "negative_binomial":
            out["dispersion"] = self.draw(st.floats(0.1, 5))
        return out

    def stages(self, t: _Table) -> None:
        names = self.draw(st.lists(_names, min_size=1, max_size=4, unique=True))
        t.add({"name": "stage_name", "type": "string", "generator": {"choice": {"choices": names}}})
        config: dict[str, Any] = {
            "stages": [{"stage_name": n, "transition_rate": self.draw(st.floats(0, 1))} for n in names]
        }
        if self.maybe():
            t.add({"name": "stage_index", "type": "int", "generator": {"sequence": {}}})
        else:
            config["columns"] = {"stage_name": "stage_name", "stage_index": None, "time": "ts"}
        config["gap"] = self.pick(
            [
                {"distribution": "exponential", "mean_hours": 24},
                {"distribution": "uniform", "min_hours": 1, "max_hours": 5},
                {"distribution": "constant", "mean_hours": 2},
            ]
        )
        t.node["stage_config"] = config

    def states(self, t: _Table) -> None:
        t.add({"name": "state", "type": "string", "generator": {"choice": {"choices": ["active"]}}})
        t.add(
            {
                "name": "previous_state",
                "type": "string",
                "nullable": True,
                "generator": {"choice": {"choices": ["active"]}},
            }
        )
        t.node["state_transition_model"] = {
            "initial_state": "active",
            "period_unit": self.pick(["week", "month"]),
            "states": {
                "active": {
                    "transition_prob_per_period": self.draw(st.floats(0, 1)),
                    "next_states": {"paused": 1.0, "churned": self.draw(st.floats(0, 2))},
                },
                "paused": {
                    "duration": {"distribution": "lognormal", "mean": 1.0, "sigma": 0.5},
                    "next_states": {"active": 1.0},
                },
                "churned": {"terminal": True},
            },
        }

    # --- what spans tables ----------------------------------------------------------------------------
    def behaviours(self) -> None:
        for e in (t for t in self.tables if t.node["kind"] == "entity" and t.id != "fx"):
            children = [t for t in self.tables if e.id in t.node.get("parents", [])]
            scalable = [f"{c.id}.{n}" for c in children for n in c.numeric]
            if e.segment_values:
                chosen = self.draw(st.lists(st.sampled_from(e.segment_values), unique=True))
                e.node["segment_behavior"] = {
                    "segment_column": "segment",
                    "behaviors": {
                        s: {
                            "fanout_multiplier": self.draw(st.floats(0, 3)),
                            "value_multiplier": self.draw(st.floats(0, 3)),
                        }
                        for s in chosen
                    },
                    "applies_to_columns": self.draw(st.lists(st.sampled_from(scalable), unique=True))
                    if scalable
                    else [],
                }
                self.scaled |= set(e.node["segment_behavior"]["applies_to_columns"])
                if not e.node["segment_behavior"][
                    "applies_to_columns"
                ]:  # a value multiplier would scale nothing
                    for b in e.node["segment_behavior"]["behaviors"].values():
                        del b["value_multiplier"]
                for c in children:
                    block = c.node.get("stage_config") or c.node.get("state_transition_model")
                    if block and c.node["parents"][0] == e.id and chosen and self.maybe():
                        key = "transition_multiplier" if "stages" in block else "churn_multiplier"
                        block["segment_variation"] = {chosen[0]: {key: self.draw(st.floats(0, 2))}}
            driven = any(c.node["parents"][0] == e.id and "fanout" in c.node for c in children)
            # a value curve is read at each child's own age, so only children with a time qualify
            timed = [f"{c.id}.{n}" for c in children if c.time_col for n in c.numeric]
            if e.time_col and (driven or timed) and self.maybe(0.4):
                curve = self.pick(
                    [
                        [1.0, 0.7, 0.5],
                        {
                            "curve_type": self.pick(["logarithmic", "exponential", "linear"]),
                            "params": {"a": 1.0, "b": 0.1},
                        },
                    ]
                )
                applies = "fanout" if driven and (not timed or self.maybe()) else [self.pick(timed)]
                self.scaled |= set(applies) if isinstance(applies, list) else set()
                # e^(0.1·age) per day multiplies a year-old parent's fanout by e^36 (per week by 180)
                steep = isinstance(curve, dict) and curve["curve_type"] == "exponential"
                units = ["month", "year"] if steep else ["day", "week", "month", "year"]
                e.node["vintage_behavior"] = {
                    "created_at_column": e.time_col,
                    "age_based_multipliers": {
                        "m": {
                            "curve": curve,
                            "time_unit": self.pick(units),
                            "applies_to": applies,
                        }
                    },
                }

    def lives(self) -> None:
        """Lifetimes (a share ending after a duration, or the end of a state walk), activity levels and
        rates by state, where the checker has nothing to warn about: every fact under the entity, at
        any depth, draws its own time (a datetime_series without time_jitter)."""
        for e in (t for t in self.tables if t.node["kind"] == "entity" and t.id != "fx"):
            below = self.descendants(e)
            primary = [t for t in below if t.node["parents"][0] == e.id]
            walks = [t for t in primary if "state_transition_model" in t.node]
            for t in primary:
                if walks and t.node.get("fanout") and self.drawn_inside(t) and t.time_col and self.maybe(0.7):
                    weights = {"active": self.draw(st.floats(0, 2)), "paused": self.draw(st.floats(0, 2))}
                    if sum(weights.values()) > 0:
                        t.node["active_in"] = {"walk": walks[0].id, "states": weights}
            if any(t.node.get("fanout") for t in primary) and self.maybe(0.5):
                e.node["activity"] = {
                    "distribution": self.pick(
                        [
                            {
                                "type": "gamma",
                                "params": {"shape": self.draw(st.floats(0.3, 5)), "scale": 1.0},
                            },
                            {
                                "type": "lognormal",
                                "params": {"mean": 0.0, "sigma": self.draw(st.floats(0.1, 1.5))},
                            },
                        ]
                    )
                }
            if not e.time_col or not all(self.drawn_inside(t) for t in below) or not self.maybe(0.4):
                continue
            e.add(
                {
                    "name": "ended_at",
                    "type": "datetime",
                    "nullable": True,
                    "generator": {"datetime_series": {}},
                }
            )
            if walks and self.maybe(0.7):
                end: dict[str, Any] = {"column": "ended_at", "walk": self.pick(walks).id}
            else:
                after = {"type": "exponential", "params": {"scale": self.draw(st.floats(1, 400))}}
                end = {
                    "column": "ended_at",
                    "share": self.draw(st.floats(0, 1)),
                    "after": {"distribution": after},
                }
            e.node["lifetime"] = {"start": e.time_col, "end": end}

    def descendants(self, e: _Table) -> list[_Table]:
        out: list[_Table] = []
        todo = [e.id]
        while todo:
            pid = todo.pop()
            for t in self.tables:
                if t.node.get("parents", [None])[0] == pid and t not in out:
                    out.append(t)
                    todo.append(t.id)
        return out

    @staticmethod
    def drawn_inside(t: _Table) -> bool:
        """The fact's own time is drawn by the engine (or filled by its walk), and no time_jitter moves a
        drawn time afterwards."""
        times = [c for c in t.columns if c["type"] in ("datetime", "date")]
        if any(m["transform"] == "time_jitter" for c in times for m in c.get("modifiers", [])):
            return False
        return not times or "datetime_series" in times[0]["generator"]

    def value_constraints(self) -> None:
        """Constraints the data satisfies by construction: the columns they name are not modified, scaled
        or nullable."""
        for t in self.tables:
            for name, values in t.choice_values.items():
                if self.maybe(0.3):
                    self.constrain("enum", {"attr": f"{t.id}.{name}", "values": values})
                elif self.maybe(0.2):
                    regex = "|".join(re.escape(v) for v in values)
                    self.constrain("pattern", {"attr": f"{t.id}.{name}", "regex": regex})
            for name, (lo, hi) in t.clamped.items():
                if f"{t.id}.{name}" not in self.scaled and self.maybe(0.8):
                    self.constrain("ranges", {"attr": f"{t.id}.{name}", "min": lo, "max": hi})

    def targets(self) -> dict[str, Any]:
        timed = [t for t in self.tables if t.time_col]
        numeric = [(t, n) for t in self.tables for n in t.numeric]
        out: dict[str, Any] = {}
        if timed and self.maybe(0.3):
            t = self.pick(timed)
            out["weekend_share"] = {"table": t.id, "timestamp": t.time_col, "min": 0.0, "max": 1.0}
        if numeric and self.maybe(0.3):
            t, n = self.pick(numeric)
            out["mean_in_range"] = [{"table": t.id, "column": n, "min": -1e12, "max": 1e12}]
        if numeric and self.maybe(0.2):
            t, n = self.pick(numeric)
            out["composite_effect"] = {
                "table": t.id,
                "metric": n,
                "influences": ["trend"],
                "tolerance": {"mape": 10.0},
            }
        return out

    def dag(self) -> list[list[str]]:
        level: dict[str, int] = {}
        for t in self.tables:  # tables are drawn after everything they depend on
            level[t.id] = 1 + max((level[d] for d in t.deps), default=-1)
        return [[tid for tid, lv in level.items() if lv == i] for i in range(max(level.values()) + 1)]

    def schema(self) -> dict[str, Any]:
        vocabs = [self.vocab()] if self.maybe(0.3) else []
        effects = self.effects() if self.maybe(0.5) else None
        for i in range(self.draw(st.integers(1, 3))):
            self.entity(i, vocabs, effects)
        for i in range(self.draw(st.integers(0, 3))):
            self.fact(i, vocabs, effects)
        self.behaviours()
        self.lives()
        self.value_constraints()
        timeframe: dict[str, Any] = {"start": _iso(self.start), "end": _iso(self.end)}
        if self.maybe():
            timeframe["freq"] = self.pick(FREQS)
        doc: dict[str, Any] = {
            "version": self.pick(["1.0", "1.1"]),
            "metadata": {
                "name": "drawn",
                **({"description": "a drawn schema", "owner": "tests"} if self.maybe(0.3) else {}),
            },
            "timeframe": timeframe,
            "nodes": [t.node for t in self.tables],
            "constraints": self.constraints,
        }
        if targets := self.targets():
            doc["targets"] = targets
        if self.maybe(0.2):
            doc["dag"] = self.dag()
        if self.maybe(0.1):
            doc = {"$schema": "https://datagen.dev/schema/dsl-v1.json", **doc}
        return doc


@st.composite
def _schemas(draw: Any, max_rows: int) -> dict[str, Any]:
    return _Builder(draw, max_rows).schema()


def valid_schemas(max_rows: int = 300) -> st.SearchStrategy[dict[str, Any]]:
    """Schema documents (plain JSON dicts) that `datagen.dsl.check` accepts with no errors or warnings;
    declared `rows` are at most `max_rows`."""
    return _schemas(max_rows)
