"""The floor: a plain numpy + pyarrow script that writes the same row counts and column types as the
benchmark's shop schema, with no schema, no engine and no realism. `bench_generate.py` divides the
engine's time by this one's to print how far above the floor we are.

Usage: python benchmarks/floor_numpy_pyarrow.py OUT_DIR customers=N products=N orders=N order_items=N
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1 << 18
TYPES = {
    "customers": {"customer_id": "int", "country": "str", "name": "str", "segment": "str", "signup_at": "ts"},
    "products": {"product_id": "int", "category": "str", "price": "float"},
    "orders": {
        "order_id": "int",
        "customer_id": "int",
        "ordered_at": "ts",
        "channel": "str",
        "amount": "float",
    },
    "order_items": {
        "item_id": "int",
        "order_id": "int",
        "product_id": "int",
        "unit_price": "float",
        "quantity": "int",
        "line_total": "float",
    },
}
WORDS = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"], dtype=object)


def column(kind: str, rng: np.random.Generator, start: int, n: int) -> pa.Array:
    if kind == "int":
        return pa.array(np.arange(start, start + n, dtype=np.int64))
    if kind == "float":
        return pa.array(rng.lognormal(3, 0.6, n))
    if kind == "ts":
        us = rng.integers(1_704_067_200_000_000, 1_767_225_599_000_000, n)
        return pa.array(us.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"))
    return pa.array(WORDS[rng.integers(0, len(WORDS), n)], type=pa.string())


def write(out: Path, table: str, rows: int) -> None:
    rng = np.random.default_rng(0)
    cols = TYPES[table]
    schema = pa.schema([(name, column(kind, rng, 0, 1).type) for name, kind in cols.items()])
    with pq.ParquetWriter(out / f"{table}.parquet", schema, compression="zstd") as writer:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            writer.write_table(pa.table([column(k, rng, start, n) for k in cols.values()], schema=schema))


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    counts = dict(arg.split("=") for arg in sys.argv[2:])
    t0 = time.perf_counter()
    for table, rows in counts.items():
        write(out, table, int(rows))
    print(f"{time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
