"""Writing a whole dataset: files are byte-identical whatever the chunk size, and metadata is complete."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from datagen.dsl import check_file
from datagen.engine.generate import Options
from datagen.io import dataset
from datagen.resources import examples_dir


@pytest.fixture
def small_row_groups(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(dataset, "ROW_GROUP_ROWS", 500)
    return 500


def test_files_are_byte_identical_whatever_the_chunk_size(tmp_path: Path, small_row_groups: int) -> None:
    checked = check_file(examples_dir() / "legacy_v1.json")
    for chunk in (64, 1000, 100_000):
        dataset.write_dataset(
            checked, tmp_path / str(chunk), Options(seed=3, block_rows=64, chunk_rows=chunk)
        )
    replies = pq.ParquetFile(tmp_path / "64" / "replies.parquet")
    assert replies.metadata.num_rows > 3 * small_row_groups  # several full row groups were cut
    assert all(
        replies.metadata.row_group(i).num_rows == small_row_groups
        for i in range(replies.metadata.num_row_groups - 1)
    )
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
