"""Generation benchmark: rows/s per table, peak RSS, and the ratio to a plain numpy + pyarrow floor.

    python benchmarks/bench_generate.py                 # shop schema at ~5M rows, plus the floor
    python benchmarks/bench_generate.py --rows 20000000 # bigger
    python benchmarks/bench_generate.py --fact 50000000 # one 50M-row fact table: peak RSS

Each run is a fresh subprocess (`datagen generate`), so peak RSS is that run's alone. Goals (2 cores):
>= 1M rows/s overall at ~5M rows; a 50M-row fact table under 1.5 GB peak RSS; within 4x of the floor.
The shop schema runs twice (its names are faker pools): a first run with an empty pool cache and a
repeated one that reads the pools back, each with its ratio to the floor."""

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
SHOP_ROWS = 4_900_000  # rows the shop schema gives at scale 1 (measured)


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS in MB of that child alone, stdout)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{stdout}\n{stderr}")
    return seconds, usage.ru_maxrss / 1024, stdout


def generate(schema: Path, out: Path, scale: float, cache: Path | None = None) -> tuple[float, float, dict]:
    """One `datagen generate` run; `cache`: the faker pool cache folder it uses (DATAGEN_CACHE_DIR)."""
    cmd = [sys.executable, "-m", "datagen", "generate", str(schema), "-o", str(out), "--scale", str(scale)]
    env = {**os.environ, "DATAGEN_CACHE_DIR": str(cache)} if cache is not None else None
    seconds, rss, _ = run_child(cmd, env)
    meta = json.loads((out / ".metadata.json").read_text())
    return seconds, rss, meta


def shop(rows: int, tmp: Path) -> None:
    """The shop schema twice: a first run (an empty faker pool cache, so pools are built) and a
    repeated one (the pools come from the cache), each against the same floor."""
    scale = rows / SHOP_ROWS
    cache = tmp / "cache"  # fresh: the first run builds every pool, the repeated run reuses them
    runs = {}
    for run in ("first", "repeated"):
        seconds, rss, meta = generate(SHOP, tmp / f"shop-{run}", scale, cache)
        runs[run] = seconds
        total = sum(t["rows"] for t in meta["tables"].values())
        print(
            f"\nshop schema, scale {scale:.2f}, {run} run: {total:,} rows in {seconds:.2f} s "
            "(process wall time)"
        )
        print(f"{'table':<14}{'rows':>14}{'seconds':>10}{'rows/s':>14}")
        for tid, t in meta["tables"].items():
            rate = t["rows"] / t["seconds"] if t["seconds"] else 0
            print(f"{tid:<14}{t['rows']:>14,}{t['seconds']:>10.2f}{rate:>14,.0f}")
        gen = sum(t["seconds"] for t in meta["tables"].values())
        print(
            f"{'overall':<14}{total:>14,}{seconds:>10.2f}{total / seconds:>14,.0f}"
            f"   (engine only: {total / gen:,.0f})"
        )
        print(f"peak RSS: {rss:,.0f} MB")
    counts = [f"{tid}={t['rows']}" for tid, t in meta["tables"].items()]
    floor_s, floor_rss, _ = run_child(
        [sys.executable, str(HERE / "floor_numpy_pyarrow.py"), str(tmp / "floor"), *counts]
    )
    print(f"\nfloor (numpy + pyarrow, same rows and types): {floor_s:.2f} s, peak RSS {floor_rss:,.0f} MB")
    for run, seconds in runs.items():
        print(f"ratio datagen / floor, {run} run: {seconds / floor_s:.2f}x")


FACT_SCHEMA = {
    "version": "1.0",
    "metadata": {"name": "bench_fact", "description": "One big fact table under a small entity."},
    "timeframe": {"start": "2024-01-01T00:00:00Z", "end": "2025-12-31T23:59:59Z"},
    "nodes": [
        {
            "id": "sensors",
            "kind": "entity",
            "pk": "sensor_id",
            "rows": 10000,
            "columns": [
                {"name": "sensor_id", "type": "int", "generator": {"sequence": {}}},
                {
                    "name": "site",
                    "type": "string",
                    "generator": {"choice": {"choices": ["north", "south", "east", "west"]}},
                },
            ],
        },
        {
            "id": "readings",
            "kind": "fact",
            "pk": "reading_id",
            "parents": ["sensors"],
            "fanout": {"distribution": "poisson", "lambda": 5000},
            "columns": [
                {"name": "reading_id", "type": "int", "generator": {"sequence": {}}},
                {"name": "sensor_id", "type": "int", "generator": {"lookup": {"from": "sensors.sensor_id"}}},
                {
                    "name": "read_at",
                    "type": "datetime",
                    "generator": {
                        "datetime_series": {
                            "within": "timeframe",
                            "freq": "min",
                            "pattern": {"dimension": "hour", "weights": [1] * 8 + [2] * 10 + [1] * 6},
                        }
                    },
                },
                {
                    "name": "value",
                    "type": "float",
                    "generator": {"distribution": {"type": "normal", "params": {"mean": 20, "std": 4}}},
                    "modifiers": [
                        {
                            "transform": "seasonality",
                            "args": {"dimension": "hour", "weights": [0.9] * 12 + [1.1] * 12},
                        }
                    ],
                },
                {
                    "name": "status",
                    "type": "string",
                    "generator": {"choice": {"choices": ["ok", "warn", "fail"], "weights": [95, 4, 1]}},
                },
            ],
        },
    ],
    "constraints": {},
}


def fact(rows: int, tmp: Path) -> None:
    schema = dict(FACT_SCHEMA)
    schema["nodes"][1]["fanout"]["lambda"] = rows / 10000
    path = tmp / "fact.json"
    path.write_text(json.dumps(schema))
    seconds, rss, meta = generate(path, tmp / "fact", 1.0)
    n = meta["tables"]["readings"]["rows"]
    print(
        f"\none fact table: {n:,} rows in {seconds:.2f} s ({n / seconds:,.0f} rows/s), "
        f"peak RSS {rss:,.0f} MB (goal < 1,500 MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000, help="target rows for the shop schema")
    ap.add_argument("--fact", type=int, default=0, help="also generate one fact table of this many rows")
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    with tempfile.TemporaryDirectory(prefix="datagen-bench-") as tmp:
        if args.rows:
            shop(args.rows, Path(tmp))
        if args.fact:
            fact(args.fact, Path(tmp))
        if args.keep:
            print(f"output kept in {tmp}")
            input("press enter to delete it")


if __name__ == "__main__":
    main()
