"""Atomic output folders and streaming Parquet table writing."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.errors import GenerationError, InputError
from datagen.io.jsonfile import write_json_atomic
from datagen.io.manifest import CSV_EXPORT, DATASET, MANIFEST_FILE, require_complete
from datagen.io.output import AtomicOutputDir, TableWriter, table_files

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])


def chunk(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({"id": ids, "name": [f"n{i}" for i in ids], "score": [i / 7 for i in ids]}, schema=SCHEMA)


def read_all(data_dir: Path, table_id: str) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in table_files(data_dir, table_id))


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


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
    for i in range(10):  # 10-row row groups: a file ends with the row group that reaches 25 rows
        writer.write(chunk(i * 10, 10))
    written = writer.close()

    assert not (tmp_path / "events.parquet").exists()
    assert written.files == [f"events/part-{i:05d}.parquet" for i in range(4)]
    assert [p.relative_to(tmp_path).as_posix() for p in table_files(tmp_path, "events")] == written.files
    assert [pq.read_metadata(tmp_path / f).num_rows for f in written.files] == [30, 30, 30, 10]
    assert {pq.read_metadata(tmp_path / f).row_group(0).num_rows for f in written.files} == {10}
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


# --- AtomicOutputDir: atomic commit ----------------------------------------------------------------


def run(
    target: Path,
    files: dict[str, str],
    *,
    kind: str = DATASET,
    claims: list[str] | None = None,
    fail: BaseException | None = None,
) -> None:
    """One run writing `files` (relative path -> text); claims default to their top-level names."""
    top = sorted({rel.split("/")[0] for rel in files})
    with AtomicOutputDir(target, kind=kind, claims=top if claims is None else claims) as out:
        for rel, text in files.items():
            path = out.path / rel
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        if fail is not None:
            raise fail


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / MANIFEST_FILE).read_text())


def test_success_moves_the_staging_folder_into_place_with_a_complete_manifest(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with AtomicOutputDir(target, kind=DATASET) as out:
        assert out.path.parent == tmp_path and out.path.name.startswith(".out.tmp-")
        assert not target.exists()
        (out.path / "a.parquet").write_text("a")
    assert entries(tmp_path) == ["out"]
    assert entries(target) == [MANIFEST_FILE, "a.parquet"]
    assert manifest_of(target) == {
        "format": "datagen-output/1",
        "kind": "dataset",
        "complete": True,
        "files": ["a.parquet"],
        "folders": [],
    }
    assert require_complete(target, DATASET).files == ("a.parquet",)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_leaves_no_target_and_no_staging_folder(tmp_path: Path, exc: BaseException) -> None:
    with pytest.raises(type(exc)), AtomicOutputDir(tmp_path / "out", kind=DATASET) as out:
        TableWriter(out.path, "t", SCHEMA).write(chunk(0, 10))
        raise exc
    assert entries(tmp_path) == []


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_previous_output_survives_an_interrupted_run(tmp_path: Path, exc: BaseException) -> None:
    target = tmp_path / "out"
    run(target, {".metadata.json": "{}", "old.parquet": "old"})
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(type(exc)):
        run(target, {"new.parquet": "new"}, fail=exc)
    assert entries(tmp_path) == ["out"]
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before  # no staging folder left inside


def test_previous_output_is_replaced_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out"
    run(target, {".metadata.json": '{"run": 1}', "old.parquet": "old"})
    run(target, {".metadata.json": '{"run": 2}', "new.parquet": "new"})
    assert entries(tmp_path) == ["out"]
    assert entries(target) == [".datagen-manifest.json", ".metadata.json", "new.parquet"]
    assert (target / ".metadata.json").read_text() == '{"run": 2}'
    assert manifest_of(target)["files"] == [".metadata.json", "new.parquet"]


def test_parent_that_is_a_file_gives_input_error_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    target = blocker / "out"
    with pytest.raises(InputError) as info, AtomicOutputDir(target, kind=DATASET):
        pytest.fail("the body must not run")
    assert str(target) in str(info.value)
    assert info.value.hint
    assert entries(tmp_path) == ["blocker"]


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    run(tmp_path / "a" / "b" / "out", {"x.parquet": "x"})
    assert (tmp_path / "a" / "b" / "out" / "x.parquet").exists()


def test_disk_full_becomes_generation_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", no_space)
    target = tmp_path / "out"
    with (
        pytest.raises(GenerationError, match="disk full while writing") as info,
        AtomicOutputDir(target, kind=DATASET) as out,
    ):
        TableWriter(out.path, "t", SCHEMA).write(chunk(0, 10))
    assert str(target) in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.ENOSPC
    assert entries(tmp_path) == []


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(InputError, match="not a folder"), AtomicOutputDir(tmp_path / "out", kind=DATASET):
        pytest.fail("the body must not run")
    assert (tmp_path / "out").read_text() == "x"


def test_a_run_stopped_while_swapping_files_in_leaves_an_incomplete_folder_the_next_run_repairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    run(target, {"a.parquet": "old a", "b.parquet": "old b"})
    (target / "notes.md").write_text("mine")
    real, calls = os.replace, {"n": 0}

    def fail_second(src, dst, **kwargs):
        if kwargs.get("dst_dir_fd") is not None:  # a file moving into the target
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.EIO, "I/O error")
        return real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises(OSError):
        run(target, {"a.parquet": "new a", "b.parquet": "new b"})
    monkeypatch.setattr(os, "replace", real)
    manifest = manifest_of(target)
    assert manifest["complete"] is False and {"a.parquet", "b.parquet"} <= set(manifest["files"])
    with pytest.raises(InputError, match="incomplete"):
        require_complete(target, DATASET)
    run(target, {"a.parquet": "new a", "c.parquet": "c"})
    assert entries(target) == [MANIFEST_FILE, "a.parquet", "c.parquet", "notes.md"]
    assert (target / "notes.md").read_text() == "mine"
    assert require_complete(target, DATASET).files == ("a.parquet", "c.parquet")


# --- AtomicOutputDir: the replace rule ---------------------------------------------------------------


def test_user_files_beside_the_output_survive_the_first_run_and_every_re_run(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "analysis.ipynb").write_text("my notebook")
    (target / "notes").mkdir()
    (target / "notes" / "todo.md").write_text("my notes")
    for n in range(3):
        run(target, {".metadata.json": str(n), "orders.parquet": str(n), "events/part-00000.parquet": str(n)})
        assert (target / "analysis.ipynb").read_text() == "my notebook"
        assert (target / "notes" / "todo.md").read_text() == "my notes"
        assert (target / "orders.parquet").read_text() == str(n)
    assert manifest_of(target)["files"] == [".metadata.json", "events/part-00000.parquet", "orders.parquet"]


def test_files_of_a_table_no_longer_written_are_removed_but_foreign_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "out"
    run(target, {"gone.parquet": "1", "parts/part-00000.parquet": "1", "parts/part-00001.parquet": "1"})
    (target / "mine.txt").write_text("mine")
    run(target, {"kept.parquet": "2"})
    assert entries(target) == [MANIFEST_FILE, "kept.parquet", "mine.txt"]


@pytest.mark.parametrize(
    ("kind", "name"), [(DATASET, ".metadata.json"), (DATASET, "orders.parquet"), (CSV_EXPORT, "dataset.json")]
)
def test_a_file_merely_named_like_ours_is_not_ours_and_the_run_is_refused_naming_it(
    tmp_path: Path, kind: str, name: str
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / name).write_text("the user's")
    (target / "other.txt").write_text("also the user's")
    with pytest.raises(InputError) as info:
        run(target, {name: "ours"}, kind=kind)
    assert name in info.value.message and "refusing to replace" in info.value.message
    assert info.value.hint and "another -o" in info.value.hint
    assert entries(target) == sorted([name, "other.txt"])
    assert (target / name).read_text() == "the user's"


def test_an_older_datagens_output_without_manifest_is_refused_with_what_to_do(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    old = {".metadata.json": "{}", "orders.parquet": "old data", "analysis.ipynb": "notebook"}
    for name, text in old.items():
        (target / name).write_text(text)
    with pytest.raises(InputError) as info:
        run(target, {".metadata.json": "{}", "orders.parquet": "new"})
    message = info.value.message
    assert ".metadata.json, orders.parquet" in message and "older datagen" in message
    assert "analysis.ipynb" not in message  # not in the way: it would have been kept
    assert "deleted and generated again" in (info.value.hint or "")
    assert {p.name: p.read_text() for p in target.iterdir()} == old


@pytest.mark.parametrize(
    "entry",
    ["../victim.parquet", "{abs}", "sub/../../victim.parquet", "./a.parquet", "notes.txt", 7, "a.parquet\n"],
)
def test_a_hostile_manifest_never_leads_to_a_deletion(tmp_path: Path, entry: object) -> None:
    victim = tmp_path / "victim.parquet"
    victim.write_text("outside")
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    (target / "a.parquet").write_text("listed with a bad neighbour")
    files = ["a.parquet", str(victim) if entry == "{abs}" else entry]
    hostile = {
        "format": "datagen-output/1",
        "kind": "dataset",
        "complete": True,
        "files": files,
        "folders": [],
    }
    (target / MANIFEST_FILE).write_text(json.dumps(hostile))
    with pytest.raises(InputError, match="did not write"):
        run(target, {"b.parquet": "new"})
    assert victim.read_text() == "outside"
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "a.parquet").read_text() == "listed with a bad neighbour"


def test_symlinks_in_the_folder_are_never_followed_or_treated_as_ours(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "part-00000.parquet").write_text("outside part")
    (outside / "x.parquet").write_text("outside file")
    target = tmp_path / "out"
    run(target, {"x.parquet": "1", "t/part-00000.parquet": "1"})
    (target / "x.parquet").unlink()
    (target / "x.parquet").symlink_to(outside / "x.parquet")
    shutil.rmtree(target / "t")
    (target / "t").symlink_to(outside, target_is_directory=True)
    run(target, {"y.parquet": "2"})  # neither the links nor what they point at are ours to remove
    assert (outside / "part-00000.parquet").read_text() == "outside part"
    assert (outside / "x.parquet").read_text() == "outside file"
    assert (target / "x.parquet").is_symlink() and (target / "t").is_symlink()
    with pytest.raises(InputError, match=r"x\.parquet"):
        run(target, {"x.parquet": "3"})
    assert (outside / "x.parquet").read_text() == "outside file"


def test_a_folder_swapped_for_a_symlink_during_the_commit_steers_nothing_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "part-00000.parquet").write_text("outside")
    target = tmp_path / "out"
    run(target, {"t/part-00000.parquet": "1"})
    real_owned = AtomicOutputDir._owned
    checked = {"n": 0}

    def owned_then_swapped(self: AtomicOutputDir):
        owned = real_owned(self)
        checked["n"] += 1
        if checked["n"] == 2:  # the commit's own check has passed; now someone swaps the folder
            shutil.rmtree(target / "t")
            (target / "t").symlink_to(outside, target_is_directory=True)
        return owned

    monkeypatch.setattr(AtomicOutputDir, "_owned", owned_then_swapped)
    with pytest.raises(InputError, match="changed into something not ours"):
        run(target, {"t/part-00000.parquet": "2"})
    assert checked["n"] == 2
    assert entries(outside) == ["part-00000.parquet"]
    assert (outside / "part-00000.parquet").read_text() == "outside"
    assert manifest_of(target)["complete"] is False  # readers will not take the folder as finished


def test_a_foreign_file_inside_a_parts_folder_of_ours_is_kept_and_named(tmp_path: Path) -> None:
    target = tmp_path / "out"
    run(target, {"events/part-00000.parquet": "1", "events/part-00001.parquet": "1"})
    (target / "events" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"events/notes\.txt"):
        run(target, {"events.parquet": "2"}, claims=["events.parquet", "events"])
    assert entries(target / "events") == ["notes.txt", "part-00000.parquet", "part-00001.parquet"]


def test_an_export_never_replaces_generated_data_nor_the_reverse(tmp_path: Path) -> None:
    data, csv = tmp_path / "data", tmp_path / "csv"
    run(data, {"t.parquet": "data"})
    run(csv, {"t.csv": "csv"}, kind=CSV_EXPORT)
    with pytest.raises(InputError, match="holds a datagen generated dataset"):
        run(data, {"t.csv": "csv"}, kind=CSV_EXPORT)
    with pytest.raises(InputError, match="holds a datagen CSV export"):
        run(csv, {"t.parquet": "data"})
    assert entries(data) == [MANIFEST_FILE, "t.parquet"] and entries(csv) == [MANIFEST_FILE, "t.csv"]


def test_readers_say_why_a_folder_is_not_a_finished_output(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        require_complete(tmp_path / "nope", DATASET)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / ".metadata.json").write_text("{}")
    with pytest.raises(InputError, match=r"no \.datagen-manifest\.json \(an output of an older datagen"):
        require_complete(tmp_path / "old", DATASET)
    with pytest.raises(InputError) as info:
        require_complete(tmp_path / "old", DATASET)
    assert "delete its old files" in (info.value.hint or "")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="is not a datagen output"):
        require_complete(tmp_path / "other", DATASET)
    (tmp_path / "other" / MANIFEST_FILE).write_text('{"format": "datagen-output/1", "kind": "dataset"}')
    with pytest.raises(InputError, match="was not written by this datagen"):
        require_complete(tmp_path / "other", DATASET)
    run(tmp_path / "csv", {"t.csv": "x"}, kind=CSV_EXPORT)
    with pytest.raises(InputError, match="holds a CSV export, not a generated dataset"):
        require_complete(tmp_path / "csv", DATASET)


# --- modes -----------------------------------------------------------------------------------------


def modes(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[path.relative_to(folder).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_a_new_output_is_created_with_the_users_umask(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "out"
    with AtomicOutputDir(target, kind=DATASET, claims=["t", "t.parquet"]) as out:
        writer = TableWriter(out.path, "t", SCHEMA, max_rows_per_file=5)
        writer.write(chunk(0, 5))
        writer.write(chunk(5, 5))
        writer.close()
        write_json_atomic(out.path / ".metadata.json", {})
    found = modes(target)
    assert set(found) == {
        ".",
        "t",
        "t/part-00000.parquet",
        "t/part-00001.parquet",
        ".metadata.json",
        MANIFEST_FILE,
    }
    assert {m for p, m in found.items() if (target / p).is_dir()} == {0o750}
    assert {m for p, m in found.items() if not (target / p).is_dir()} == {0o640}


def test_an_existing_empty_folder_is_used_and_keeps_its_mode(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "out"
    target.mkdir()
    target.chmod(0o711)
    run(target, {"x.parquet": "x", "p/part-00000.parquet": "p"})
    assert entries(target) == [MANIFEST_FILE, "p", "x.parquet"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o711
    assert stat.S_IMODE((target / "p").stat().st_mode) == 0o750
    assert stat.S_IMODE((target / "x.parquet").stat().st_mode) == 0o640


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
