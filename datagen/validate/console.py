"""The validation report on a terminal: the score and verdict first, then failed checks (hard ones
first, with an example each), then what to change. The JSON report holds everything else.
Names, messages and examples come from the schema and the data: they are printed as `Text`, never
read as markup."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from datagen.terminal import plain, styled
from datagen.validate.report import Report
from datagen.validate.results import BUCKETS

MAX_SHOWN = 25


def render(report: Report, console: Console, *, report_path: Path | None = None) -> None:
    ok = report.ok
    verdict = ("PASS", "bold green") if ok else ("FAIL", "bold red")
    d = report.to_dict()["summary"]
    colour = "green" if report.score >= report.threshold else "red"
    console.print(
        styled(
            verdict,
            f"  {report.dataset}: quality score ",
            (f"{report.score:.1f}", f"bold {colour}"),
            f" / 100 (threshold {report.threshold:g}) · {d['passed']} passed, {d['failed']} failed, "
            f"{d['skipped']} skipped",
        ),
        soft_wrap=True,
    )
    parts = []
    for b in BUCKETS:
        s = d["buckets"][b]
        score = "—" if s["score"] is None else f"{s['score']:.1f}"
        parts.append(f"{b} {score} ({s['passed']}/{s['passed'] + s['failed']})")
    rate = f", {d['rows_per_second']:,} rows/s" if d["rows_per_second"] else ""
    console.print(
        plain(f"  {' · '.join(parts)} · {d['rows']:,} rows in {d['seconds']:.2f} s{rate}"), soft_wrap=True
    )
    failures = sorted(report.failures, key=lambda r: (not r.hard, r.bucket != "structural", r.table))
    if failures:
        view = Table(title="failed checks", title_justify="left", show_lines=False, expand=False)
        for name in ("", "check", "where", "what is wrong"):
            view.add_column(name, overflow="fold")
        for r in failures[:MAX_SHOWN]:
            example = (f"\ne.g. {json.dumps(r.examples[0], default=str)}", "dim") if r.examples else ""
            view.add_row(
                styled(("hard", "red") if r.hard else ("soft", "yellow")),
                plain(r.check),
                plain(r.where),
                styled(r.message, example),
            )
        console.print(view)
        if len(failures) > MAX_SHOWN:
            console.print(plain(f"  … and {len(failures) - MAX_SHOWN} more (see the JSON report)"))
        fixes = list(dict.fromkeys(f"{r.where}: {r.fix}" for r in failures if r.fix))
        if fixes:
            console.print(styled(("what to change", "bold")))
            for fix in fixes[:MAX_SHOWN]:
                console.print(plain(f"  • {fix}"), soft_wrap=True)
    elif not ok:
        console.print(plain(f"  the score is under the threshold {report.threshold:g}"))
    if report_path is not None:
        console.print(plain(f"report: {report_path}"))
