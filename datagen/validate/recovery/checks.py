"""The recovered findings as validation results: one per subject, strata as its examples."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import duckdb

from datagen.dsl.models import Schema
from datagen.validate.context import Context
from datagen.validate.recovery.common import Finding, Recovered, Skipped
from datagen.validate.results import Result

Recovery = Callable[[duckdb.DuckDBPyConnection, Schema], list[Finding]]


def results(ctx: Context, family: str, recover: Recovery) -> Iterator[Result]:
    """One result per recovered subject (all its strata): it fails when any stratum is further from the
    declared value than its tolerance, and lists the worst strata as examples. Exact rules (a walk's
    bookkeeping, children inside a life) are hard; the statistics only feed the score. Skips say why
    nothing could be read."""
    z = ctx.settings.z
    try:
        findings = recover(ctx.con, ctx.schema)
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        yield Result(family, "behavioural", "", None, "fail", f"could not be checked: {reason}")
        return
    groups: dict[tuple, list[Recovered]] = {}
    for f in findings:
        if isinstance(f, Skipped):
            yield Result(
                f.behaviour, "behavioural", f.table, f.column, "skip", f"{f.subject}: not checked: {f.reason}"
            )
        else:
            groups.setdefault((f.behaviour, f.table, f.column, f.subject), []).append(f)
    for (behaviour, table, column, subject), found in groups.items():
        found.sort(key=lambda r: -abs(r.observed - r.declared) / max(r.tolerance(z), 1e-12))
        bad = sum(not r.ok(z) for r in found)
        worst = found[0]
        if worst.hard:
            message = f"{subject}: {int(worst.observed):,} of {worst.n:,} rows {worst.stratum}"
        else:
            message = (
                f"{subject}: {len(found) - bad} of {len(found)} within tolerance; worst {worst.stratum}: "
                f"observed {worst.observed:.4g}, declared {worst.declared:.4g} ± {worst.tolerance(z):.2g} "
                f"(n={worst.n:,})"
            )
        strata = [
            {
                "stratum": r.stratum,
                "declared": r.declared,
                "observed": r.observed,
                "tolerance": r.tolerance(z),
                "n": r.n,
                "ok": r.ok(z),
            }
            for r in found
        ]
        yield Result(
            behaviour,
            "behavioural",
            table,
            column,
            "fail" if bad else "pass",
            message,
            hard=worst.hard,
            examples=strata[:5],
            details={"subject": subject, "strata": strata},
            fix=None
            if not bad
            else "regenerate from this schema; if it persists the engine does not produce "
            "what the schema declares (please report it with this result)",
        )
