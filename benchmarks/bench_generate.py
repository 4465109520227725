"""Generation benchmark: rows/s per table, peak RSS, and the ratio to a plain numpy + pyarrow floor.

    python benchmarks/bench_generate.py                 # shop schema at ~5M rows, plus the floor
    python benchmarks/bench_generate.py --rows 20000000 # bigger
    python benchmarks/bench_generate.py --fact 50000000 # one 50M-row fact table: peak RSS

Each run is a fresh subprocess (`datagen generate`), so peak RSS is that run's alone. Goals (2 cores):
>= 1M rows/s overall at ~5M rows; a 50M-row fact table under 1.5 GB peak RSS; within 2x of the floor
on a first run and 1.5x on a repeated one. The shop schema runs twice per round (its names are faker
pools): a first run with an empty pool cache and a repeated one that reads the pools back, then the
floor; `--rounds` rounds, interleaved, and the ratios are of the medians (wall and CPU time)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
SHOP = HERE / "shop_schema.json"
SHOP_ROWS = 4_900_000  # rows the shop schema gives at scale 1 (measured)


@dataclass
class Child:
    """One child process: wall seconds, CPU seconds (user + system, all its threads), peak RSS in MB."""

    seconds: float
    cpu: float
    rss: float
    stdout: str


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS in MB of that child alone, stdout)."""
    child = run(cmd, env)
    return child.seconds, child.rss, child.stdout


def run(cmd: list[str], env: dict[str, str] | None = None) -> Child:
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
    return Child(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout)


def generate(schema: Path, out: Path, scale: float, cache: Path | None = None) -> tuple[Child, dict]:
    """One `datagen generate` run; `cache`: the faker pool cache folder it uses (DATAGEN_CACHE_DIR)."""
    cmd = [sys.executable, "-m", "datagen", "generate", str(schema), "-o", str(out), "--scale", str(scale)]
    env = {**os.environ, "DATAGEN_CACHE_DIR": str(cache)} if cache is not None else None
    child = run(cmd, env)
    meta = json.loads((out / ".metadata.json").read_text())
    shutil.rmtree(out)
    return child, meta


def print_tables(title: str, child: Child, meta: dict) -> None:
    total = sum(t["rows"] for t in meta["tables"].values())
    print(f"\n{title}: {total:,} rows in {child.seconds:.2f} s wall, {child.cpu:.2f} s CPU (whole process)")
    print(f"{'table':<14}{'rows':>14}{'seconds':>10}{'rows/s':>14}")
    for tid, t in meta["tables"].items():
        rate = t["rows"] / t["seconds"] if t["seconds"] else 0
        print(f"{tid:<14}{t['rows']:>14,}{t['seconds']:>10.2f}{rate:>14,.0f}")
    gen = sum(t["seconds"] for t in meta["tables"].values())
    print(
        f"{'overall':<14}{total:>14,}{child.seconds:>10.2f}{total / child.seconds:>14,.0f}"
        f"   (engine only: {total / gen:,.0f})"
    )
    print(f"peak RSS: {child.rss:,.0f} MB")


def shop(rows: int, tmp: Path, rounds: int) -> None:
    """The shop schema against the floor, in `rounds` interleaved rounds of three runs each: a first
    run (an empty faker pool cache, so pools are built), a repeated one (the pools come from the
    cache) and the floor script with the same rows and types. Ratios are of the medians, by wall time
    and by CPU time (user + system: what the process itself spent, less sensitive to other work on
    a shared machine)."""
    scale = rows / SHOP_ROWS
    runs: dict[str, list[Child]] = {"first": [], "repeated": [], "floor": []}
    meta: dict = {}
    for r in range(rounds):
        cache = tmp / f"cache-{r}"  # fresh: the first run builds every pool, the repeated run reuses them
        for run_name in ("first", "repeated"):
            child, meta = generate(SHOP, tmp / f"shop-{run_name}", scale, cache)
            runs[run_name].append(child)
            if r == rounds - 1:
                print_tables(f"shop schema, scale {scale:.2f}, {run_name} run (round {r + 1})", child, meta)
        counts = [f"{tid}={t['rows']}" for tid, t in meta["tables"].items()]
        floor = [sys.executable, str(HERE / "floor_numpy_pyarrow.py"), str(tmp / "floor"), *counts]
        runs["floor"].append(run(floor))
        shutil.rmtree(tmp / "floor")
    print(f"\n{rounds} rounds (wall s / CPU s):")
    for name, children in runs.items():
        cells = "  ".join(f"{c.seconds:6.2f} / {c.cpu:5.2f}" for c in children)
        print(
            f"  {name:<9} {cells}   median {median(c.seconds for c in children):.2f} / "
            f"{median(c.cpu for c in children):.2f}"
        )
    floor_wall = median(c.seconds for c in runs["floor"])
    floor_cpu = median(c.cpu for c in runs["floor"])
    print(f"floor (numpy + pyarrow, same rows and types): peak RSS {runs['floor'][-1].rss:,.0f} MB")
    for name in ("first", "repeated"):
        wall = median(c.seconds for c in runs[name]) / floor_wall
        cpu = median(c.cpu for c in runs[name]) / floor_cpu
        print(f"ratio datagen / floor, {name} run: {wall:.2f}x wall, {cpu:.2f}x CPU (medians)")
    print(f"load average after the runs: {os.getloadavg()[0]:.1f} (2 cores)")


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
    child, meta = generate(path, tmp / "fact", 1.0)
    n = meta["tables"]["readings"]["rows"]
    print(
        f"\none fact table: {n:,} rows in {child.seconds:.2f} s wall ({n / child.seconds:,.0f} rows/s), "
        f"{child.cpu:.2f} s CPU, peak RSS {child.rss:,.0f} MB (goal < 1,500 MB); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def compile_package() -> None:
    """Compile datagen's bytecode once, as pip does when it installs a package: with
    PYTHONDONTWRITEBYTECODE set (as on the development machine) an editable install would otherwise
    compile every module again in every run, which the floor's numpy and pyarrow never do."""
    import datagen

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    folder = str(Path(datagen.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", folder], env=env, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000, help="target rows for the shop schema")
    ap.add_argument("--fact", type=int, default=0, help="also generate one fact table of this many rows")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the shop runs and the floor")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    compile_package()
    with tempfile.TemporaryDirectory(prefix="datagen-bench-") as tmp:
        if args.rows:
            shop(args.rows, Path(tmp), args.rounds)
        if args.fact:
            fact(args.fact, Path(tmp))


if __name__ == "__main__":
    main()
