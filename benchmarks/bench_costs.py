"""Per-value costs behind the run-time estimate (datagen/engine/estimate.py), measured end to end.

    python benchmarks/bench_costs.py              # 1M rows per variant
    python benchmarks/bench_costs.py --rows 4000000

Each variant writes a one-table dataset (`write_dataset`, Parquet included) in this process, best of
3. A table with only its key gives the per-row cost; each generator kind is then one more column, and
its cost is the difference. The lookup and behaviour rows use a fact under a parent. The estimate's
constants are these numbers rounded up; the last column shows them side by side."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datagen.dsl import check  # noqa: E402
from datagen.engine.estimate import SECONDS_PER_ROW, SECONDS_PER_VALUE  # noqa: E402
from datagen.engine.generate import Options  # noqa: E402
from datagen.io.dataset import write_dataset  # noqa: E402
from tests.engine.conftest import col, dist, entity, expr, fact, key, schema, times  # noqa: E402

COLUMNS: dict[str, list[dict[str, Any]]] = {
    "sequence": [key("s2")],
    "choice": [col("c", "string", {"choice": {"choices": ["a", "b", "c", "d"], "weights": [1, 2, 3, 4]}})],
    "distribution": [dist("d", "lognormal", mean=3, sigma=1)],
    "datetime_series": [times()],
    "faker": [col("f", "string", {"faker": {"method": "name"}})],
}


def seconds(doc: dict[str, Any]) -> float:
    checked = check(doc)
    best = float("inf")
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            write_dataset(checked, Path(tmp) / "out", Options())
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    n = parser.parse_args().rows
    print(f"{'variant':<18}{'ns per value':>14}{'estimate uses':>16}")
    base = seconds(schema(entity("t", [], rows=n)))
    print(f"{'row (key only)':<18}{base / n * 1e9:>14.0f}{SECONDS_PER_ROW * 1e9:>16.0f}")
    for kind, columns in COLUMNS.items():
        cost = seconds(schema(entity("t", columns, rows=n))) - base
        print(f"{kind:<18}{cost / n * 1e9:>14.0f}{SECONDS_PER_VALUE[kind] * 1e9:>16.0f}")
    two = seconds(schema(entity("t", [dist("d", "normal", mean=3, std=1)], rows=n)))
    cost = seconds(schema(entity("t", [dist("d", "normal", mean=3, std=1), expr("e", "d * 2 + 1")], rows=n)))
    print(f"{'expression':<18}{(cost - two) / n * 1e9:>14.0f}{SECONDS_PER_VALUE['expression'] * 1e9:>16.0f}")
    parent = entity("p", [], rows=n // 10)
    child = fact("f", ["p"], [])  # key + lookup of the parent's key
    child["fanout"] = {"distribution": "poisson", "lambda": 10}
    with_fact = seconds(schema(parent, child)) - seconds(schema(parent))
    lookup = with_fact / n - base / n
    print(f"{'lookup (in a fact)':<18}{lookup * 1e9:>14.0f}{SECONDS_PER_VALUE['lookup'] * 1e9:>16.0f}")


if __name__ == "__main__":
    main()
