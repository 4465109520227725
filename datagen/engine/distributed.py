"""Row groups on a Dask cluster: `--workers N` (a local cluster of processes) or `--scheduler ADDRESS`.

The driver plans and lays out every table. A table whose blocks need nothing but the kept columns of
earlier tables (Engine.runs_anywhere) is sent out one task per Parquet row group (a run of whole
blocks, Layout.row_groups), with a copy of the store: the worker generates the blocks, encodes the row
group and writes it as a part file into the run's staging folder, and sends back only what the driver
keeps (kept columns, lives, row maps, clipped counts) and the part's name and rows. The driver joins
the parts into the table's files in row order without re-encoding them (io/row_groups.py), so the
bytes are those of a single-process run. The other tables (deferred columns, rows born from walks or
attributions, rows that feed a rollup) are generated on the driver. Dask is optional:
`pip install -e '.[dask]'`."""

from __future__ import annotations

import contextlib
import copy
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from datagen.dsl.models import Schema
from datagen.engine.block import Store
from datagen.engine.generate import BlockResult, Engine, Layout, Options
from datagen.engine.lifecycle import keeps_life
from datagen.engine.plan import TablePlan
from datagen.errors import DatagenError, GenerationError, InputError

INSTALL_HINT = "install it with: pip install -e '.[dask]'"
IN_FLIGHT_PER_WORKER = 3  # tasks submitted ahead per worker: keeps workers busy, bounds what waits
STOP_WAIT_SECONDS = 10  # on an error or Ctrl-C, how long to let running tasks finish their part files


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

    def results(
        self,
        engine: Engine,
        tp: TablePlan,
        layout: Layout,
        write: Callable[[int, pa.Table], Any],
    ) -> Iterator[tuple[list[BlockResult], Any]]:
        groups = deque(enumerate(layout.row_groups(engine.options.row_group_rows)))
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
            while groups or pending:
                while groups and len(pending) < window:
                    index, (start, stop) = groups.popleft()
                    pending.append(
                        self.client.submit(
                            generate_row_group, table_input, keeps, index, start, stop, write, pure=False
                        )
                    )
                future = pending[0]
                try:
                    results = future.result()
                except DatagenError:
                    raise
                except Exception as exc:  # the cluster failed (a worker died, a lost connection)
                    raise GenerationError(
                        f"table '{tp.id}': a Dask worker failed: {type(exc).__name__}: {exc}",
                        hint="see the worker's log; run again without --workers to rule out the cluster",
                    ) from exc
                pending.popleft().release()
                yield results
        finally:
            self.stop(pending)
            table_input.release()

    def stop(self, pending: deque[Any]) -> None:
        """Let the tasks still out finish (briefly), then drop them: no worker should write a part into
        the staging folder after the driver removes it."""
        if not pending:
            return
        distributed = _dask()
        with contextlib.suppress(Exception):
            distributed.wait(list(pending), timeout=STOP_WAIT_SECONDS)
        for future in pending:
            future.cancel()


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


def generate_row_group(
    given: TableInput,
    keeps: Keeps,
    index: int,
    start: int,
    stop: int,
    write: Callable[[int, pa.Table], Any],
) -> tuple[list[BlockResult], Any]:
    """A task: row group `index` (blocks `start:stop`) of a table, generated in a worker from the store
    of earlier tables and written by `write`; returns its blocks' results without their rows."""
    base = _engines.get(given.run_id)
    if base is None:
        _engines.clear()
        base = _engines[given.run_id] = Engine(given.schema, given.options)
    engine = copy.copy(base)  # the plan is shared; the store (with this task's own caches) is not
    engine.store = _shared(given.store)
    tp = engine.plan.table(keeps.tid)
    results, tables = [], []
    for block in engine.blocks(tp, given.layout, start, stop):
        engine.fill(block)
        tables.append(engine.to_table(block))
        results.append(engine.result(block, keeps.columns, keeps.life, keeps.row_maps, cast=False))
    return results, write(index, pa.concat_tables(tables))
