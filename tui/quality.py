"""A validation report (`datagen.validate.Report`) as the Quality tab shows it: the score, the score per
bucket, the failed checks first, and charts drawn from the observed/expected numbers the checks
already report (the TUI computes no statistic of its own)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from datagen.validate import Report, Result
from datagen.validate.score import tally
from tui.widgets.charts import Chart
from tui.widgets.quality_view import Failure, QualityModel

BUCKET_NAMES = {"structural": "structure", "value": "values", "behavioural": "behaviour"}
LABELS = {
    "dow": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "month": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
MAX_CHARTS = 4
_AGE = re.compile(r"^age (\d+)$")


def _value(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _example(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in row.items())


def _failure(r: Result) -> Failure:
    message = r.message + (f"\nFix: {r.fix}" if r.fix else "")
    return Failure(
        f"{r.check.replace('_', ' ')} · {r.where}", message, [_example(e) for e in r.examples], r.hard
    )


def _season_chart(r: Result) -> Chart | None:
    d = r.details
    labels = LABELS.get(str(d.get("dimension")))
    observed, expected = d.get("observed"), d.get("expected")
    if labels is None or not observed or not expected or len(observed) != len(labels):
        return None
    return Chart(
        f"Rows per {'weekday' if d['dimension'] == 'dow' else 'month'} · {r.where}",
        labels,
        [float(v) for v in observed],
        [float(v) for v in expected],
    )


def _retention_chart(r: Result) -> Chart | None:
    """Children per parent by age over age 0 (docs/schema-language.md §8.2): the retention curve, age 0 being
    100 %."""
    ages = {}
    for s in r.details.get("strata") or []:
        match = _AGE.match(str(s.get("stratum")))
        if match:
            ages[int(match.group(1))] = (float(s["observed"]), float(s["declared"]))
    if len(ages) < 2:
        return None
    order = [0, *sorted(ages)]
    ages[0] = (1.0, 1.0)
    unit = str(r.details.get("subject", "")).split(" per ")[-1].split(" of ")[0] or "unit"
    return Chart(
        f"Retention · {r.table} per {unit} of age (age 0 = 100 %)",
        [f"{a:>2}" for a in order],
        [ages[a][0] for a in order],
        [ages[a][1] for a in order],
    )


def charts(report: Report) -> list[Chart]:
    out: list[Chart] = []
    for r in report.results:
        chart = None
        if r.check == "seasonality" and r.status != "skip":
            chart = _season_chart(r)
        elif r.check == "vintage_activity" and r.status != "skip":
            chart = _retention_chart(r)
        if chart is not None:
            out.append(chart)
    return out[:MAX_CHARTS]


def from_report(report: Report, source: str) -> QualityModel:
    buckets = [(BUCKET_NAMES[b], t.score) for b, t in tally(report.results).items() if t.score is not None]
    failures = sorted(report.failures, key=lambda r: not r.hard)
    passed = Counter(r.check.replace("_", " ") for r in report.results if r.passed)
    return QualityModel(
        score=report.score,
        passed=report.ok,
        source=source,
        buckets=buckets,
        failures=[_failure(r) for r in failures],
        passes=[f"{name} ×{n}" if n > 1 else name for name, n in sorted(passed.items())],
        charts=charts(report),
    )
