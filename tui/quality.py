"""A validation report (`datagen.validate.Report`) as the Quality tab shows it: the score, the score per
bucket, the failed checks first, and charts drawn from the observed/expected numbers the checks
already report (the TUI computes no statistic of its own).

Plain words first: each check becomes a sentence a shop owner reads ("every walk belongs to a real
dog", "more walks on weekdays: 78 % of them, as you asked") from the numbers in its details; the
structural checks, when they all pass, are one sentence. A check with no sentence here shows its own
message, so a new check is never hidden. The technical view lists the checks by name."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from datagen.validate import Report, Result
from datagen.validate.score import tally
from tui.outline import one_of, percent, words
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


# ----- plain words ----------------------------------------------------------------------------------

STRUCTURAL = {"columns", "type", "not_null", "primary_key", "rows", "unique"}
STRUCTURE_OK = "Every table has its columns, with the right kind of values, and every row has its own id."
_OPS = {">=": "is not before", ">": "is after", "<=": "is not after", "<": "is before", "==": "equals"}


def _num(x: Any) -> str:
    return f"{float(x):.3g}"


def _worst(r: Result) -> dict[str, Any]:
    strata = r.details.get("strata") or []
    return strata[0] if strata and isinstance(strata[0], dict) else {}


def _column(r: Result) -> str:
    return words(r.column or r.table)


def _foreign_key(r: Result) -> str:
    parent = str(r.details.get("references", "")).split(".")[0]
    child, own = one_of(r.table), one_of(parent)
    if r.passed:
        return f"Every {child} belongs to a real {own}."
    return f"{r.details.get('orphans', 'Some')} {words(r.table)} point to a {own} that does not exist."


def _inequality(r: Result) -> str:
    rule = str(r.details.get("rule", ""))
    parts = rule.split()
    if len(parts) == 3 and parts[1] in _OPS:
        (lt, _, lc), (rt, _, rc) = parts[0].partition("."), parts[2].partition(".")
        said = f"each {one_of(lt)}'s {words(lc)} {_OPS[parts[1]]} its {one_of(rt)}'s {words(rc)}"
        if lt == rt:
            said = f"each {one_of(lt)}'s {words(lc)} {_OPS[parts[1]]} its {words(rc)}"
        return (
            said[:1].upper()
            + said[1:]
            + ("." if r.passed else f": not so in {r.details.get('violations')} rows.")
        )
    return r.message


def _seasonality(r: Result) -> str | None:
    d = r.details
    observed, expected = d.get("observed") or [], d.get("expected") or []
    labels = {
        "dow": ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"],
        "month": LABELS["month"],
    }.get(str(d.get("dimension")))
    if not observed or len(observed) != len(expected):
        return None
    top = max(expected)
    peaks = [i for i, e in enumerate(expected) if e >= top * 0.9]
    if len(peaks) == len(expected):
        return None
    seen, asked = sum(observed[i] for i in peaks), sum(expected[i] for i in peaks)
    if labels is None:
        when = "around " + ", ".join(f"{i:02d}:00" for i in peaks[:3])
    elif peaks == [0, 1, 2, 3, 4]:
        when = "on weekdays"
    elif peaks == [5, 6]:
        when = "on weekends"
    else:
        when = ("in " if d.get("dimension") == "month" else "on ") + ", ".join(labels[i] for i in peaks[:3])
    verdict = "as you asked" if r.passed else "you asked for"
    return f"Busier {when}: {percent(seen)} of {words(r.table)}, {verdict} (about {percent(asked)})."


def _strata(r: Result, say: str) -> str:
    w = _worst(r)
    if not w:
        return say + (", as you asked." if r.passed else ": not as you asked.")
    got = f"{_num(w.get('observed'))} where you asked for {_num(w.get('declared'))}"
    return say + (", as you asked." if r.passed else f": {w.get('stratum')} gives {got}.")


def _segment(r: Result) -> str:
    w = _worst(r)
    group, _, base = str(w.get("stratum", "")).partition(" / ")
    parent = one_of(str(r.details.get("subject", "")).split(" per ")[-1].split(" row")[0]) or "row"
    what = f"as many {words(r.table)}" if r.check == "segment_fanout" else f"the {_column(r)}"
    if not w:
        return _strata(r, f"Groups of {parent}s behave differently")
    said = f"{group} {parent}s have {_num(w.get('observed'))}× {what} of {base} ones"
    return said[:1].upper() + said[1:] + (f" (you asked for {_num(w.get('declared'))}×).")


PLAIN: dict[str, Any] = {
    "foreign_key": _foreign_key,
    "inequality": _inequality,
    "seasonality": _seasonality,
    "enum": lambda r: f"{_column(r).capitalize()} is always one of the allowed values." if r.passed else None,
    "range": lambda r: (
        f"{_column(r).capitalize()} stays between {_num(r.details['min'])} and {_num(r.details['max'])}."
        if r.passed and "min" in r.details and "max" in r.details
        else None
    ),
    "pattern": lambda r: f"{_column(r).capitalize()} always has the declared form." if r.passed else None,
    "weekend_share": lambda r: (
        f"{percent(float(r.details['observed']))} of {words(r.table)} fall on a weekend "
        f"(you asked for {percent(float(r.details['min']))}–{percent(float(r.details['max']))})."
        if "observed" in r.details
        else None
    ),
    "mean_in_range": lambda r: (
        f"The average {_column(r)} is {_num(r.details['observed'])} "
        f"(you asked for {_num(r.details['min'])} to {_num(r.details['max'])})."
        if "observed" in r.details
        else None
    ),
    "null_share": lambda r: (
        f"{percent(float(r.details['observed']))} of {words(r.table)} have no {_column(r)} "
        f"(you asked for about {percent(float(r.details['expected']))})."
        if "observed" in r.details
        else None
    ),
    "email_from_name": lambda r: (
        f"E-mail addresses match the people's names ({percent(float(r.details['share']))})."
        if "share" in r.details
        else None
    ),
    "segment_fanout": _segment,
    "segment_value": _segment,
    "trend": lambda r: _strata(r, f"{_column(r).capitalize()} grows year by year"),
    "vintage_activity": lambda r: _strata(r, f"{words(r.table).capitalize()} fade as accounts age"),
    "vintage_value": lambda r: _strata(r, f"{_column(r).capitalize()} changes as accounts age"),
    "stage": lambda r: _strata(r, "The steps happen in order, fewer reaching each"),
    "state": lambda r: _strata(r, f"The life stories of {words(r.table)} follow the changes you described"),
    "outliers": lambda r: _strata(r, f"A few unusual values of {_column(r)}"),
}


def sentence(r: Result) -> str:
    """One check in a sentence; its own message when no sentence fits it."""
    make = PLAIN.get(r.check)
    try:
        said = make(r) if make is not None else None
    except (KeyError, TypeError, ValueError, IndexError):  # details of another shape: the message says it
        said = None
    return said or f"{r.message[:1].upper()}{r.message[1:]} ({words(r.where)})."


def _plain_failure(r: Result) -> Failure:
    return Failure(
        sentence(r), f"What to do: {r.fix}" if r.fix else "", [_example(e) for e in r.examples], r.hard
    )


def _plain_passes(report: Report) -> list[str]:
    passed = [r for r in report.results if r.passed]
    structural_ok = not any(r.failed for r in report.results if r.check in STRUCTURAL)
    lines = [STRUCTURE_OK] if structural_ok and passed else []
    for r in passed:
        if r.check not in STRUCTURAL:
            line = sentence(r)
            if line not in lines:
                lines.append(line)
    return lines


def from_report(report: Report, source: str, plain: bool = True) -> QualityModel:
    buckets = [(BUCKET_NAMES[b], t.score) for b, t in tally(report.results).items() if t.score is not None]
    failures = sorted(report.failures, key=lambda r: not r.hard)
    passed = Counter(r.check.replace("_", " ") for r in report.results if r.passed)
    return QualityModel(
        score=report.score,
        passed=report.ok,
        source=source,
        buckets=buckets,
        failures=[_plain_failure(r) if plain else _failure(r) for r in failures],
        passes=_plain_passes(report)
        if plain
        else [f"{name} ×{n}" if n > 1 else name for name, n in sorted(passed.items())],
        charts=charts(report),
        plain=plain,
    )
