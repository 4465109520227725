"""Writing a whole dataset: files are byte-identical whatever the chunk size, and metadata is complete."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from datagen.dsl import check_file
from datagen.engine.generate import Options
from datagen.io import dataset
from datagen.resources import examples_dir

ROW_GROUP = 500  # small row groups, so a small dataset has many
BLOCK = 64


def test_files_are_byte_identical_whatever_the_chunk_size(tmp_path: Path) -> None:
    checked = check_file(examples_dir() / "legacy_v1.json")
    for chunk in (64, 1000, 100_000):
        dataset.write_dataset(
            checked,
            tmp_path / str(chunk),
            Options(seed=3, block_rows=BLOCK, chunk_rows=chunk, row_group_rows=ROW_GROUP),
        )
    replies = pq.ParquetFile(tmp_path / "64" / "replies.parquet").metadata
    assert replies.num_rows > 3 * ROW_GROUP  # several full row groups were cut
    groups = [replies.row_group(i).num_rows for i in range(replies.num_row_groups)]
    # whole blocks (a fact's blocks vary in size): each group ends with the block that reaches 500 rows
    assert all(ROW_GROUP <= n < ROW_GROUP + BLOCK for n in groups[:-1]) and groups[-1] <= ROW_GROUP + BLOCK
    for name in ("agents", "requesters", "tickets", "replies"):
        first = (tmp_path / "64" / f"{name}.parquet").read_bytes()
        for chunk in ("1000", "100000"):
            assert (tmp_path / chunk / f"{name}.parquet").read_bytes() == first, (name, chunk)


def test_metadata_describes_every_table(tmp_path: Path) -> None:
    checked = check_file(examples_dir() / "legacy_v1.json")
    result = dataset.write_dataset(checked, tmp_path / "out", Options(seed=11))
    meta = json.loads((tmp_path / "out" / ".metadata.json").read_text())
    assert meta == result.metadata
    assert meta["seed"] == 11 and meta["dataset"] == checked.schema.metadata.name
    assert len(meta["schema_hash"]) == 16
    assert any(n["code"] == "legacy_freq" for n in meta["normalised"])
    for node in checked.schema.nodes:
        table = meta["tables"][node.id]
        assert table["rows"] == pq.ParquetFile(tmp_path / "out" / f"{node.id}.parquet").metadata.num_rows
        assert [c["name"] for c in table["columns"]] == node.column_names
        assert table["files"] == [f"{node.id}.parquet"]
