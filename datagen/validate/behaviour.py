"""Behavioural checks: does the data show what the schema says an analyst will find? Soft — they feed
the quality score, never the exit code on their own.

Built in: `null_share` (nulls.py), `seasonality` (seasonality.py), `outliers` (outliers.py) and the
schema's `targets` (targets.py). Every statistical check states its tolerance from the sample size
(tolerance.py), so clean data passes reliably and a real shift fails.

Extension point — the behaviour blocks of docs/schema-language.md §8 (segments, vintages, funnels, state
models) add their checks by registering a function under a name:

    from datagen.validate.behaviour import register

    @register("segment")
    def segment_checks(ctx: Context) -> Iterable[Result]:
        for node in ctx.schema.nodes:
            if node.segment_behavior is not None:
                yield ctx.attempt("segment", "behavioural", node.id, column, check_one, ctx, node)

A check function receives the `Context` (schema, DuckDB views named by table, `ctx.link(child,
parent)` for joins, `ctx.profile(table)`, `reference.reference_values` for engine-made references,
`ctx.settings.z` for tolerances) and yields `Result`s in the "behavioural" bucket, one per declared
parameter it recovers, with `details` holding the observed and declared values. Wrapping each in
`ctx.attempt` turns a query the data cannot answer into a failed result instead of a crash. The
module that defines the checks must be imported for its `register` to run: add it to `_BUILTIN`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator

from datagen.validate.context import Context
from datagen.validate.results import Result

BehaviourCheck = Callable[[Context], Iterable[Result]]
REGISTRY: dict[str, BehaviourCheck] = {}
_BUILTIN = (
    "nulls",
    "seasonality",
    "outliers",
    "targets",
    "recovery",
    "email_names",
    "derived",
    "attribution",
)


def register(name: str) -> Callable[[BehaviourCheck], BehaviourCheck]:
    """Register a behavioural check under `name` (a later registration under the same name replaces
    the earlier one, so a module can refine a built-in)."""

    def add(fn: BehaviourCheck) -> BehaviourCheck:
        REGISTRY[name] = fn
        return fn

    return add


def _load() -> None:
    for module in _BUILTIN:
        importlib.import_module(f"datagen.validate.{module}")


def behaviour_checks(ctx: Context) -> Iterator[Result]:
    _load()
    for fn in REGISTRY.values():
        yield from fn(ctx)
