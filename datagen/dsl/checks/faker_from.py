"""Schema checks for `faker.from` (building a value from other columns of the same row)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from datagen.faker_pool.emails import EMAIL_METHODS
from datagen.faker_pool.names import NAME_METHODS

if TYPE_CHECKING:
    from datagen.dsl.models import Column, Node

Problem = tuple[list[str | int], str]


def faker_from_problems(node: Node, col: Column) -> list[Problem]:
    """What is wrong with the faker column's `from`, each with the path below `from` and a message."""
    args = col.generator.faker  # type: ignore[union-attr]  # the caller checks a faker column
    if args.from_ is None:
        return []
    sources, method = args.sources, args.method
    if method in EMAIL_METHODS:
        counts: tuple[int, ...]
        counts, what = (1, 2), "a full-name column, or a first-name and a last-name column"
    elif method in NAME_METHODS:
        counts, what = (2,), "a first-name and a last-name column"
    else:
        usable = ", ".join(sorted(EMAIL_METHODS | set(NAME_METHODS)))
        return [([], f"faker method '{method}' is not built from other columns; 'from' works with {usable}")]
    if len(sources) not in counts or len(set(sources)) != len(sources):
        return [([], f"'from' of '{method}' names {what}, e.g. {_example(counts)}")]
    if method in NAME_METHODS and args.unique:
        return [([], "a name joined from other columns repeats when they do; drop 'unique' (or 'from')")]
    problems: list[Problem] = []
    for i, name in enumerate(sources):
        where: list[str | int] = [] if isinstance(args.from_, str) else [i]
        source = node.column(name)
        if name == col.name:
            problems.append(
                (where, f"'{col.name}' cannot be built from itself; name the column holding the name")
            )
        elif source is None:
            near = difflib.get_close_matches(name, node.column_names, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; columns: {', '.join(node.column_names)}"
            problems.append((where, f"'{node.id}' has no column '{name}'{hint}"))
        elif source.type != "string":
            problems.append((where, f"'{name}' is {source.type}; 'from' needs string columns holding names"))
    return problems


def _example(counts: tuple[int, ...]) -> str:
    return '"full_name"' if 1 in counts else '["first_name", "last_name"]'
