"""Blocks on a Dask cluster: `--workers N` (a local cluster of processes) or `--scheduler ADDRESS`.

The driver plans, lays out every table and writes every file; the cluster only generates blocks. A
table whose blocks need nothing but the kept columns of earlier tables (Engine.runs_anywhere) is sent
out in tasks of a few whole blocks each, with a copy of the store; the results come back in block
order, so the driver writes the same bytes as a single-process run. The other tables (deferred
columns, rows born from walks or attributions, rows that feed a rollup) are generated on the driver.
Dask is optional: `pip install -e '.[dask]'`."""

from __future__ import annotations

import contextlib
import copy
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from datagen.dsl.models import Schema
from datagen.engine.block import Store
from datagen.engine.generate import BlockResult, Engine, Layout, Options
from datagen.engine.lifecycle import keeps_life
from datagen.engine.plan import TablePlan
from datagen.errors import DatagenError, GenerationError, InputError

INSTALL_HINT = "install it with: pip install -e '.[dask]'"
TASK_ROWS = 1 << 18  # rows per task (whole blocks): enough work per task to hide the scheduling cost
IN_FLIGHT_PER_WORKER = 3  # tasks submitted ahead per worker: keeps workers busy, bounds what waits


def _dask() -> Any:
    try:
        from dask import distributed
    except ImportError:
        raise InputError(
            "--workers and --scheduler need Dask, which is not installed", hint=INSTALL_HINT
        ) from None
    return distributed


@contextlib.contextmanager
def dask_blocks(workers: int | None = None, scheduler: str | None = None) -> Iterator[DaskBlocks]:
    """A cluster to generate blocks on: a local one of `workers` processes (one thread each), or the
    scheduler at `scheduler`; closed (the local one stopped) on leaving."""
    distributed = _dask()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                hint="start one with `dask scheduler` and pass the address it prints (tcp://HOST:8786)",
            ) from None
        with client:
            yield DaskBlocks(client)
        return
    with worker_environment():
        cluster = distributed.LocalCluster(
            n_workers=workers or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: several runs may share a machine
            silence_logs=logging.ERROR,
        )
    with cluster, distributed.Client(cluster) as client:
        yield DaskBlocks(client)


def worker_environment() -> Any:
    """Dask's environment for new worker processes, without its MALLOC_TRIM_THRESHOLD_ (None unsets
    it): any fixed trim threshold turns off glibc's adaptive mmap threshold, so every block-sized
    array is mapped and faulted in afresh, which made blocks 2-3x slower to generate (measured)."""
    import dask.config

    return dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})


@dataclass
class DaskBlocks:
    """Engine.remote on a Dask client (engine/generate.py RemoteBlocks)."""

    client: Any

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def results(self, engine: Engine, tp: TablePlan, layout: Layout) -> Iterator[BlockResult]:
        per_task = max(1, TASK_ROWS // engine.options.block_rows)
        starts = deque(range(0, len(layout.blocks), per_task))
        [table_input] = self.client.scatter(
            [TableInput(engine.schema, engine.options, engine.run_id, _shared(engine.store), layout)],
            broadcast=True,
        )
        keeps = Keeps(
            tp.id,
            [c for c in tp.keep if c not in tp.deferred],
            keeps_life(engine.schema, tp.node),
            list(tp.keep_rows),
        )
        pending: deque[Any] = deque()
        window = IN_FLIGHT_PER_WORKER * self.workers()
        try:
            while starts or pending:
                while starts and len(pending) < window:
                    s = starts.popleft()
                    pending.append(
                        self.client.submit(generate_blocks, table_input, keeps, s, s + per_task, pure=False)
                    )
                future = pending.popleft()
                try:
                    results = future.result()
                except DatagenError:
                    raise
                except Exception as exc:  # the cluster failed (a worker died, a lost connection)
                    raise GenerationError(
                        f"table '{tp.id}': a Dask worker failed: {type(exc).__name__}: {exc}",
                        hint="see the worker's log; run again without --workers to rule out the cluster",
                    ) from exc
                future.release()
                yield from results
        finally:
            for future in pending:
                future.cancel()
            table_input.release()


@dataclass(frozen=True)
class TableInput:
    """What every task of a table needs, sent to each worker once."""

    schema: Schema
    options: Options
    run_id: str
    store: Store
    layout: Layout


@dataclass(frozen=True)
class Keeps:
    """What the driver keeps of each block: kept columns, lives, row maps of table `tid`."""

    tid: str
    columns: list[str]
    life: bool
    row_maps: list[str]


def _shared(store: Store) -> Store:
    """The store's contents without its caches (each worker builds its own)."""
    return Store(
        columns=store.columns,
        rows=store.rows,
        reference_weights=store.reference_weights,
        lives=store.lives,
        row_maps=store.row_maps,
        offsets=store.offsets,
    )


_engines: dict[str, Engine] = {}  # per worker process: the current run's engine (planned once)


def generate_blocks(given: TableInput, keeps: Keeps, start: int, stop: int) -> list[BlockResult]:
    """A task: blocks `start:stop` of a table, generated in a worker from the store of earlier tables."""
    base = _engines.get(given.run_id)
    if base is None:
        _engines.clear()
        base = _engines[given.run_id] = Engine(given.schema, given.options)
    engine = copy.copy(base)  # the plan is shared; the store (with this task's own caches) is not
    engine.store = _shared(given.store)
    tp = engine.plan.table(keeps.tid)
    results = []
    for block in engine.blocks(tp, given.layout, start, stop):
        engine.fill(block)
        results.append(engine.result(block, keeps.columns, keeps.life, keeps.row_maps))
    return results
