"""Does a proposed schema hold up? `datagen check`, then a small in-memory generation (preflight).

The same judgement drives the repair loop, the simplifier and `load_schema`, so it lives here once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from datagen.dsl import CheckResult, check
from datagen.errors import DatagenError

Stage = Literal["check", "preflight"]
# "table.column: message" or "table.column (nodes[2].columns[4]): message", as the engine words them
_PREFIXED = re.compile(r"^(?P<where>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)(?: \([^)]*\))?: (?P<message>.*)$", re.S)


@dataclass(frozen=True)
class Problem:
    """One reason a schema is not ready: where (a JSON path for check errors, `table.column` or
    `table` for generation problems) and what, in words the model can act on."""

    stage: Stage
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Trial:
    checked: CheckResult
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked.ok and not self.problems

    @property
    def stage(self) -> Stage | None:
        return self.problems[0].stage if self.problems else None


def _generation_problem(text: str) -> Problem:
    m = _PREFIXED.match(text.strip())
    if m:
        return Problem("preflight", m.group("where"), m.group("message"))
    return Problem("preflight", "(generation)", text.strip())


def try_schema(document: Any, *, rows: int = 50, seed: int = 42) -> Trial:
    """Check the document; if it checks, generate `rows` rows per parent-less table in memory."""
    from datagen.engine.preflight import preflight

    checked = check(document)
    if not checked.ok:
        return Trial(checked, [Problem("check", i.path, i.message) for i in checked.errors])
    assert checked.schema is not None
    try:
        result = preflight(checked.schema, rows=rows, seed=seed)
    except DatagenError as exc:
        return Trial(checked, [_generation_problem(exc.message)])
    except Exception as exc:  # an engine bug must not end the conversation; the model can route around it
        return Trial(checked, [Problem("preflight", "(generation)", f"{type(exc).__name__}: {exc}")])
    return Trial(checked, [_generation_problem(p) for p in result.problems])
