"""Atomic output folders and streaming Parquet table writing."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.errors import GenerationError, InputError
from datagen.io.output import AtomicOutputDir, TableWriter, table_files, write_json_atomic

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])


def chunk(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": ids, "name": [f"n{i}" for i in ids], "score": [i / 7 for i in ids]}, schema=SCHEMA)


def read_all(data_dir: Path, table_id: str) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in table_files(data_dir, table_id))


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def previous_output(target: Path) -> None:
    target.mkdir()
    (target / ".metadata.json").write_text("{}")
    (target / "old.parquet").write_text("old")


# --- TableWriter -----------------------------------------------------------------------------------


def test_ten_chunks_read_back_identically_with_a_row_group_per_chunk(tmp_path: Path) -> None:
    chunks = [chunk(i * 100, 100) for i in range(10)]
    with TableWriter(tmp_path, "users", SCHEMA) as writer:
        for c in chunks:
            writer.write(c)
    written = writer.close()

    assert written.files == ["users.parquet"]
    assert written.rows == 1000
    assert written.bytes == (tmp_path / "users.parquet").stat().st_size
    assert pq.read_table(tmp_path / "users.parquet").equals(pa.concat_tables(chunks))
    assert pq.ParquetFile(tmp_path / "users.parquet").num_row_groups >= 10


def test_record_batches_and_row_group_rows_split_chunks(tmp_path: Path) -> None:
    with TableWriter(tmp_path, "t", SCHEMA, row_group_rows=30) as writer:
        writer.write(chunk(0, 100).to_batches()[0])
    assert pq.ParquetFile(tmp_path / "t.parquet").metadata.num_row_groups == 4
    assert read_all(tmp_path, "t").equals(chunk(0, 100))


def test_switches_to_a_parts_folder_when_over_max_rows_per_file(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path, "events", SCHEMA, max_rows_per_file=25)
    for i in range(10):  # 10-row chunks: the 25-row boundary falls inside chunks
        writer.write(chunk(i * 10, 10))
    written = writer.close()

    assert not (tmp_path / "events.parquet").exists()
    assert written.files == [f"events/part-{i:05d}.parquet" for i in range(4)]
    assert [p.relative_to(tmp_path).as_posix() for p in table_files(tmp_path, "events")] == written.files
    assert [pq.read_metadata(tmp_path / f).num_rows for f in written.files] == [25, 25, 25, 25]
    assert read_all(tmp_path, "events").equals(chunk(0, 100))
    assert written.rows == 100


def test_exactly_max_rows_stays_a_single_file(tmp_path: Path) -> None:
    with TableWriter(tmp_path, "t", SCHEMA, max_rows_per_file=50) as writer:
        writer.write(chunk(0, 25))
        writer.write(chunk(25, 25))
    assert writer.close().files == ["t.parquet"]
    assert entries(tmp_path) == ["t.parquet"]


def test_empty_table_still_gets_a_file_with_its_schema(tmp_path: Path) -> None:
    written = TableWriter(tmp_path, "empty", SCHEMA).close()
    assert written.rows == 0
    assert pq.read_table(tmp_path / "empty.parquet").schema.equals(SCHEMA)


def test_chunk_with_another_schema_is_rejected(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path, "t", SCHEMA)
    with pytest.raises(GenerationError, match="schema does not match"):
        writer.write(pa.table({"id": [1]}))


def test_table_files_is_empty_for_a_missing_table(tmp_path: Path) -> None:
    assert table_files(tmp_path, "nope") == []


# --- AtomicOutputDir -------------------------------------------------------------------------------


def test_success_moves_the_temp_folder_into_place(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with AtomicOutputDir(target) as out:
        assert out.path.parent == tmp_path and out.path.name.startswith(".out.tmp-")
        assert not target.exists()
        (out.path / "a.txt").write_text("a")
    assert entries(tmp_path) == ["out"]
    assert (target / "a.txt").read_text() == "a"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_leaves_no_target_and_no_temp_folder(tmp_path: Path, exc: BaseException) -> None:
    with pytest.raises(type(exc)), AtomicOutputDir(tmp_path / "out") as out:
        TableWriter(out.path, "t", SCHEMA).write(chunk(0, 10))
        raise exc
    assert entries(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_previous_output_survives_an_interrupted_run(tmp_path: Path, exc: BaseException) -> None:
    target = tmp_path / "out"
    previous_output(target)
    with pytest.raises(type(exc)), AtomicOutputDir(target) as out:
        (out.path / "new.parquet").write_text("new")
        raise exc
    assert entries(tmp_path) == ["out"]
    assert entries(target) == [".metadata.json", "old.parquet"]


def test_previous_output_is_replaced_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    previous_output(target)
    with AtomicOutputDir(target) as out:
        (out.path / ".metadata.json").write_text('{"run": 2}')
        (out.path / "new.parquet").write_text("new")
    assert entries(tmp_path) == ["out"]  # no temp or trash folder left
    assert entries(target) == [".metadata.json", "new.parquet"]


def test_parent_that_is_a_file_gives_input_error_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    target = blocker / "out"
    with pytest.raises(InputError) as info, AtomicOutputDir(target):
        pytest.fail("the body must not run")
    assert str(target) in str(info.value)
    assert info.value.hint
    assert entries(tmp_path) == ["blocker"]


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    with AtomicOutputDir(tmp_path / "a" / "b" / "out") as out:
        (out.path / "x").write_text("x")
    assert (tmp_path / "a" / "b" / "out" / "x").exists()


def test_disk_full_becomes_generation_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", no_space)
    target = tmp_path / "out"
    with (
        pytest.raises(GenerationError, match="disk full while writing") as info,
        AtomicOutputDir(target) as out,
    ):
        TableWriter(out.path, "t", SCHEMA).write(chunk(0, 10))
    assert str(target) in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.ENOSPC
    assert entries(tmp_path) == []


def test_refuses_to_clobber_a_folder_that_is_not_a_datagen_output(tmp_path: Path) -> None:
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_text("precious")
    with pytest.raises(InputError, match="not a previous datagen output") as info, AtomicOutputDir(target):
        pytest.fail("the body must not run")
    assert str(target) in str(info.value)
    assert (target / "holiday.jpg").read_text() == "precious"
    assert entries(tmp_path) == ["photos"]


def test_an_empty_existing_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with AtomicOutputDir(tmp_path / "out") as out:
        (out.path / "x").write_text("x")
    assert entries(tmp_path / "out") == ["x"]


def test_overwrite_false_refuses_an_existing_output(tmp_path: Path) -> None:
    previous_output(tmp_path / "out")
    with (
        pytest.raises(InputError, match="already exists"),
        AtomicOutputDir(tmp_path / "out", overwrite=False),
    ):
        pytest.fail("the body must not run")


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(InputError, match="not a folder"), AtomicOutputDir(tmp_path / "out"):
        pytest.fail("the body must not run")


# --- write_json_atomic ------------------------------------------------------------------------------


def test_write_json_atomic_keeps_key_order_and_unicode(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text("old")
    write_json_atomic(path, {"zeta": 1, "alpha": "Žluťoučký kůň"})
    text = path.read_text(encoding="utf-8")
    assert text.index('"zeta"') < text.index('"alpha"')
    assert "Žluťoučký kůň" in text
    assert json.loads(text) == {"zeta": 1, "alpha": "Žluťoučký kůň"}
    assert entries(tmp_path) == ["meta.json"]


def test_write_json_atomic_keeps_the_old_file_when_serialising_fails(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text('{"ok": true}')
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert path.read_text() == '{"ok": true}'
    assert entries(tmp_path) == ["meta.json"]
