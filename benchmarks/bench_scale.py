"""Scale-out benchmark: one process vs a local Dask cluster (`--workers N`), same schema and seed.

    python benchmarks/bench_scale.py                    # shop schema at ~5M rows, 2 workers
    python benchmarks/bench_scale.py --rows 20000000    # bigger
    python benchmarks/bench_scale.py --fact 20000000    # one fact table of 20M rows under a small entity

Prints wall time and rows/s of each, the peak memory of the driver and of every worker, the rows/s per
worker, the driver's CPU time (it joins the parts the workers wrote), the row groups (tasks) and the
worker-seconds each took, and whether the two outputs hash the same (they must: the block model). The
one-process run is `datagen generate` in a child process (its peak RSS is its own); the cluster run is
`write_dataset` in this process (the driver) with its workers in their own processes, whose peak RSS
each reports."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_generate import FACT_SCHEMA, SHOP, SHOP_ROWS, run_child  # noqa: E402


def peak_rss_mb() -> float:
    """This process's peak RSS so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def one_process(schema: Path, out: Path, scale: float) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "datagen", "generate", str(schema), "-o", str(out), "--scale", str(scale)]
    seconds, rss, _ = run_child(cmd)
    return seconds, rss


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cluster(schema: Path, out: Path, scale: float, workers: int) -> tuple[float, float, float, float, dict]:
    """(seconds to start the cluster, seconds to generate, driver CPU seconds, driver peak RSS MB,
    worker -> (peak RSS MB, RSS MB before any work))."""
    from datagen.dsl import check
    from datagen.engine.distributed import dask_blocks
    from datagen.engine.generate import Options
    from datagen.io.dataset import write_dataset

    checked = check(json.loads(schema.read_text(encoding="utf-8")))
    t0 = time.perf_counter()
    with dask_blocks(workers) as remote:  # the cluster `datagen generate --workers N` starts
        started = time.perf_counter() - t0
        idle = remote.client.run(peak_rss_mb)  # each worker before any work
        t1, c1 = time.perf_counter(), cpu_seconds()
        write_dataset(checked, out, Options(scale=scale), remote=remote)
        seconds, cpu = time.perf_counter() - t1, cpu_seconds() - c1
        peaks = {w: (peak, idle[w]) for w, peak in remote.client.run(peak_rss_mb).items()}
    return started, seconds, cpu, peak_rss_mb(), peaks


def row_groups(folder: Path) -> int:
    """Row groups of every file: one task each for a table generated on the workers."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).num_row_groups for p in folder.rglob("*.parquet"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000, help="target rows for the shop schema")
    ap.add_argument("--fact", type=int, default=0, help="instead: one fact table of this many rows")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    with tempfile.TemporaryDirectory(prefix="datagen-scale-") as tmp_name:
        tmp = Path(tmp_name)
        if args.fact:
            doc = json.loads(json.dumps(FACT_SCHEMA))
            doc["nodes"][1]["fanout"]["lambda"] = args.fact / doc["nodes"][0]["rows"]
            schema, scale, what = tmp / "fact.json", 1.0, f"one fact table of ~{args.fact:,} rows"
            schema.write_text(json.dumps(doc), encoding="utf-8")
        else:
            schema, scale, what = (
                SHOP,
                args.rows / SHOP_ROWS,
                f"shop schema at scale {args.rows / SHOP_ROWS:.2f}",
            )
        alone_s, alone_rss = one_process(schema, tmp / "alone", scale)
        started, cluster_s, driver_cpu, driver_rss, peaks = cluster(
            schema, tmp / "cluster", scale, args.workers
        )
        meta = json.loads((tmp / "alone" / ".metadata.json").read_text(encoding="utf-8"))
        rows = sum(t["rows"] for t in meta["tables"].values())
        groups = row_groups(tmp / "cluster")
        size = sum(p.stat().st_size for p in (tmp / "cluster").rglob("*.parquet"))
        same = digests(tmp / "alone") == digests(tmp / "cluster")
    print(f"{what}: {rows:,} rows, {size / 1e6:,.0f} MB of Parquet ({size / rows:.1f} bytes a row)")
    print(f"1 process:     {alone_s:7.2f} s  {rows / alone_s:>12,.0f} rows/s  peak RSS {alone_rss:,.0f} MB")
    print(
        f"{args.workers} workers:     {cluster_s:7.2f} s  {rows / cluster_s:>12,.0f} rows/s  "
        f"driver peak RSS {driver_rss:,.0f} MB  (cluster start {started:.2f} s, not counted)"
    )
    print(f"rows/s per worker: {rows / cluster_s / args.workers:,.0f}")
    print(
        f"row groups: {groups:,} ({rows / groups:,.0f} rows each); {cluster_s * args.workers / groups:.3f} "
        f"worker-seconds each; driver CPU {driver_cpu:.2f} s ({driver_cpu / cluster_s:.0%} of the wall time)"
    )
    for address, (peak, idle) in sorted(peaks.items()):
        print(f"  worker {address}: peak RSS {peak:,.0f} MB ({idle:,.0f} MB before any work)")
    print(f"outputs identical (SHA-256 of every Parquet file): {'yes' if same else 'NO'}")
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
