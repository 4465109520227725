"""Generating on a Dask cluster (engine/distributed.py) writes the same bytes as one process, for any
chunk size; a worker's error reads as it would without the cluster; without Dask, --workers says how
to install it. Most tests share one in-process cluster of two workers (fast); the CLI tests start a
real cluster of two processes."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dask.distributed import Client, LocalCluster
from typer.testing import CliRunner

from datagen import cli
from datagen.dsl import check
from datagen.engine.distributed import DaskBlocks
from datagen.engine.generate import Engine, Options
from datagen.errors import GenerationError
from datagen.io import dataset
from datagen.io.dataset import write_dataset
from datagen.io.row_groups import Part, PartWriter
from tests.engine.conftest import dist, expr, one_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BLOCK = 500  # small blocks, so a small dataset spans many blocks and tasks
GROUPS = {"row_group_rows": 2 * BLOCK}  # a task per row group of two or more blocks: many tasks
runner = CliRunner()


@pytest.fixture(scope="module")
def remote() -> Iterator[DaskBlocks]:
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield DaskBlocks(client)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def example(name: str):
    return check(json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("name", "distributed_tables"),
    [
        ("segments", {"customers", "stores", "orders"}),  # lookups, segment fanout and values
        ("ecommerce", {"products", "promotions"}),  # rollups and running values: customers, orders local
    ],
)
def test_a_cluster_writes_the_same_bytes_as_one_process_for_any_chunk_size(
    tmp_path: Path, remote: DaskBlocks, name: str, distributed_tables: set
) -> None:
    checked = example(name)
    engine = Engine(checked.raise_for_errors())
    assert {t for t in engine.plan.order if engine.runs_anywhere(engine.plan.table(t))} == distributed_tables
    alone = write_dataset(checked, tmp_path / "alone", Options(scale=0.3, block_rows=BLOCK, **GROUPS))
    expected = files(tmp_path / "alone")
    assert len(expected) == len(alone.written)
    for chunk_rows in (BLOCK, 7 * BLOCK):
        out = tmp_path / f"cluster-{chunk_rows}"
        result = write_dataset(
            checked, out, Options(scale=0.3, block_rows=BLOCK, chunk_rows=chunk_rows, **GROUPS), remote=remote
        )
        assert files(out) == expected
        assert result.metadata["tables"].keys() == alone.metadata["tables"].keys()
        assert [s.rows for s in result.stats] == [s.rows for s in alone.stats]


def test_tables_split_into_parts_folders_are_the_same_bytes_and_row_groups_come_from_workers(
    tmp_path: Path, remote: DaskBlocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset, "MAX_ROWS_PER_FILE", 5 * BLOCK)  # every big table becomes a folder
    checked = example("segments")
    options = Options(scale=0.3, block_rows=BLOCK, **GROUPS)
    write_dataset(checked, tmp_path / "alone", options)
    before = blocks_run(remote)
    result = write_dataset(checked, tmp_path / "cluster", options, remote=remote)
    assert files(tmp_path / "cluster") == files(tmp_path / "alone")
    orders = result.written["orders"]
    assert len(orders.files) > 2 and all(f.startswith("orders/part-") for f in orders.files)
    groups = sum(pq.ParquetFile(tmp_path / "cluster" / f).num_row_groups for f in orders.files)
    assert blocks_run(remote) - before >= groups > len(orders.files)  # a task per row group
    assert not (tmp_path / "cluster" / dataset.PARTS_FOLDER).exists()


@dataclass(frozen=True)
class LeavesATemporaryFile(PartWriter):
    """Writes each part, and leaves a temporary file beside it as a task killed mid-write would."""

    def __call__(self, index: int, table: pa.Table) -> Part:
        (Path(self.folder) / f".orders-{index:06d}.parquet.999.tmp").write_bytes(b"half a part")
        return super().__call__(index, table)


def test_a_killed_tasks_temporary_file_does_not_stop_the_commit(
    tmp_path: Path, remote: DaskBlocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = example("segments")
    options = Options(scale=0.2, block_rows=BLOCK, **GROUPS)
    write_dataset(checked, tmp_path / "alone", options)
    monkeypatch.setattr(
        dataset.Tables,
        "writer",
        lambda self, tid: LeavesATemporaryFile(str(self.folder / dataset.PARTS_FOLDER), tid),
    )
    write_dataset(checked, tmp_path / "cluster", options, remote=remote)
    assert files(tmp_path / "cluster") == files(tmp_path / "alone")
    assert leftovers(tmp_path) == [] and not (tmp_path / "cluster" / dataset.PARTS_FOLDER).exists()


def leftovers(folder: Path) -> list[str]:
    """Hidden entries of `folder`: what a stopped run would leave (staging folders, parts)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_ctrl_c_during_a_cluster_run_leaves_nothing_behind(tmp_path: Path, remote: DaskBlocks) -> None:
    def interrupt(tid: str, n: int) -> None:
        if tid == "orders":
            raise KeyboardInterrupt  # while later row groups of orders are still out on the workers

    with pytest.raises(KeyboardInterrupt):
        write_dataset(
            example("segments"),
            tmp_path / "out",
            Options(scale=0.3, block_rows=BLOCK, **GROUPS),
            on_progress=interrupt,
            remote=remote,
        )
    time.sleep(0.5)  # a part written late would show now
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_progress_is_reported_for_every_row_on_a_cluster(tmp_path: Path, remote: DaskBlocks) -> None:
    started: dict[str, int] = {}
    done: dict[str, int] = {}
    result = write_dataset(
        example("segments"),
        tmp_path / "out",
        Options(scale=0.2, block_rows=BLOCK),
        on_table_start=started.__setitem__,
        on_progress=lambda tid, n: done.__setitem__(tid, done.get(tid, 0) + n),
        remote=remote,
    )
    assert started == done == {s.id: s.rows for s in result.stats}


def overflowing() -> dict:
    return one_table(
        [dist("amount", "gamma", shape=2, scale=20), expr("big", "amount * 1e18", "int")], rows=5000
    )


def test_an_error_in_a_worker_is_the_same_error_as_without_the_cluster(
    tmp_path: Path, remote: DaskBlocks
) -> None:
    checked = check(overflowing())
    with pytest.raises(GenerationError) as alone:
        write_dataset(checked, tmp_path / "a", Options(block_rows=BLOCK))
    with pytest.raises(GenerationError) as clustered:
        write_dataset(checked, tmp_path / "b", Options(block_rows=BLOCK), remote=remote)
    assert "t.big:" in clustered.value.message and "64-bit integer range" in clustered.value.message
    assert (clustered.value.message, clustered.value.hint) == (alone.value.message, alone.value.hint)
    assert not (tmp_path / "b").exists()
    assert leftovers(tmp_path) == []


# --- the command, with a real cluster of processes -------------------------------------------------------


def test_workers_on_the_command_line_write_the_same_files(tmp_path: Path) -> None:
    schema = str(EXAMPLES / "segments.json")
    one = runner.invoke(cli.app, ["generate", schema, "-o", str(tmp_path / "one"), "--scale", "0.3"])
    two = runner.invoke(
        cli.app, ["generate", schema, "-o", str(tmp_path / "two"), "--scale", "0.3", "--workers", "2"]
    )
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert files(tmp_path / "two") == files(tmp_path / "one") != {}


def blocks_run(remote: DaskBlocks) -> int:
    """How many block tasks the cluster has finished so far."""

    def finished(dask_scheduler) -> int:
        prefix = dask_scheduler.task_prefixes.get("generate_row_group")
        return 0 if prefix is None else prefix.state_counts["memory"]

    return remote.client.run_on_scheduler(finished)


def test_scheduler_on_the_command_line_uses_a_running_cluster(tmp_path: Path, remote: DaskBlocks) -> None:
    schema = str(EXAMPLES / "segments.json")
    address = remote.client.scheduler.address
    before = blocks_run(remote)
    one = runner.invoke(cli.app, ["generate", schema, "-o", str(tmp_path / "one"), "--scale", "0.2"])
    two = runner.invoke(
        cli.app, ["generate", schema, "-o", str(tmp_path / "two"), "--scale", "0.2", "--scheduler", address]
    )
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert files(tmp_path / "two") == files(tmp_path / "one") != {}
    assert blocks_run(remote) > before  # the blocks ran on that cluster


def test_a_worker_process_error_is_one_readable_message(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(overflowing()), encoding="utf-8")
    out = tmp_path / "data"
    result = runner.invoke(cli.app, ["generate", str(path), "-o", str(out), "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("error:") == 1 and "t.big:" in result.stderr, result.stderr
    assert "64-bit integer range" in result.stderr and "fix:" in result.stderr
    assert not out.exists()


def test_without_dask_workers_name_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # as if Dask were not installed
    result = runner.invoke(
        cli.app, ["generate", str(EXAMPLES / "segments.json"), "-o", str(tmp_path / "d"), "--workers", "2"]
    )
    assert result.exit_code == 2, result.output
    assert "need Dask, which is not installed" in result.stderr
    assert "pip install -e '.[dask]'" in result.stderr
    assert not (tmp_path / "d").exists()


def test_workers_and_scheduler_together_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app,
        [
            "generate",
            str(EXAMPLES / "segments.json"),
            "-o",
            str(tmp_path / "d"),
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
    )
    assert result.exit_code == 2 and "do not go together" in result.stderr, result.output
