"""Validation benchmark: rows/s validated and peak RSS, over data `datagen generate` wrote to a temp folder.

    python benchmarks/bench_validate.py                   # shop schema at ~5M rows
    python benchmarks/bench_validate.py --rows 10000000   # bigger
    python benchmarks/bench_validate.py --data-dir DIR --schema S.json   # data you already have

Generation and validation run as separate child processes (`python -m datagen ...`), so the peak RSS
printed is validation's alone (os.wait4 reports the child's resource usage). Every check is SQL over the
Parquet files through DuckDB, so peak RSS should stay well under the data's size; it is bounded by
DuckDB's memory limit (2 GB by default) plus the interpreter."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHOP = HERE / "shop_schema.json"
SHOP_ROWS = 4_900_000  # rows the shop schema gives at scale 1 (see bench_generate.py)


def run_child(cmd: list[str]) -> tuple[int, float, float, str]:
    """Run a command; return (exit code, seconds, peak RSS in MB of that child alone, stdout)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code not in (0, 1):
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n{stdout}\n{stderr}")
    return code, seconds, usage.ru_maxrss / 1024, stdout


def validate(schema: Path, data: Path, report: Path) -> None:
    cmd = [sys.executable, "-m", "datagen", "validate", str(schema), "--data-dir", str(data)]
    cmd += ["-o", str(report)]
    code, seconds, rss, _ = run_child(cmd)
    doc = json.loads(report.read_text())
    s = doc["summary"]
    print(f"\nvalidated {s['rows']:,} rows: exit {code}, quality score {s['quality_score']}")
    print(f"{'table':<16}{'rows':>14}")
    for tid, t in doc["tables"].items():
        print(f"{tid:<16}{t['rows']:>14,}")
    print(
        f"checks: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped; "
        f"validation itself {s['seconds']:.2f} s ({s['rows_per_second']:,} rows/s)"
    )
    print(f"process wall time {seconds:.2f} s: {s['rows'] / seconds:,.0f} rows/s; peak RSS {rss:,.0f} MB")
    for f in doc["failures"]:
        print(f"  failed: {f['check']} {f['table']}.{f['column']}: {f['message']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000, help="target rows for the shop schema")
    ap.add_argument("--schema", type=Path, default=SHOP, help="schema of --data-dir (default: the shop)")
    ap.add_argument("--data-dir", type=Path, help="validate this folder instead of generating one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="datagen-bench-validate-") as tmp:
        report = Path(tmp) / "validation_report.json"
        if args.data_dir is not None:
            validate(args.schema, args.data_dir, report)
            return
        data = Path(tmp) / "shop"
        scale = args.rows / SHOP_ROWS
        cmd = [sys.executable, "-m", "datagen", "generate", str(SHOP), "-o", str(data), "--scale", str(scale)]
        _, seconds, _, _ = run_child(cmd)
        print(f"generated the shop schema at scale {scale:.2f} in {seconds:.1f} s")
        validate(SHOP, data, report)


if __name__ == "__main__":
    main()
