"""Faker pools on disk: a warm run asks faker for nothing, a damaged or foreign file is rebuilt, and
the data is the same byte for byte with a cold cache, a warm one, or none."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import platformdirs
import pyarrow as pa
import pytest

from datagen.faker_pool import cache, names, pools
from tests.engine.conftest import col, generate, one_table, values
from tests.faker_helpers import fk

PEOPLE = one_table(
    [
        col("country", "string", {"choice": {"choices": ["DE", "FR", "US"]}}),
        col("full_name", "string", {"faker": {"method": "name", "locale_from": "country"}}),
        fk("email", "email", source="full_name", locale_from="country", unique=True),
        col("company", "string", {"faker": {"method": "company", "locale_from": "country"}}),
        col("born", "date", {"faker": {"method": "date_of_birth", "args": {"minimum_age": 18}}}),
        col("code", "string", {"faker": {"method": "bothify", "args": {"text": "??-###"}, "unique": True}}),
        col("score", "float", {"faker": {"method": "pyfloat", "args": {"min_value": 0, "max_value": 9}}}),
    ],
    rows=600,
)  # fmt: skip


@pytest.fixture(autouse=True)
def _empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an empty cache of its own (other tests share one per session)."""
    monkeypatch.setenv("DATAGEN_CACHE_DIR", str(tmp_path / "own-cache"))
    _forget_pools_in_memory()


def _forget_pools_in_memory() -> None:
    """What a new process starts with: no pool in memory (the disk cache stays)."""
    for fn in (
        pools._cached_pool,
        pools._distinct_pool,
        pools._disjoint_pools,
        pools._locale_supports,
        pools.known_methods,
        names.part_pool,
    ):
        fn.cache_clear()


@pytest.fixture
def faker_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every pool build: faker draws, name parts read off faker's lists, locale trials, the catalogue."""
    calls: list[str] = []
    for module, name in (
        (pools, "_draw"),
        (pools, "_try_method"),
        (pools, "_catalogue"),
        (names, "_draw_part"),
    ):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name):
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(module, name, counted)
    return calls


def _run(doc: dict) -> dict:
    _forget_pools_in_memory()
    tables = generate(doc, block_rows=128)
    return {name: values(t, c) for name, t in tables.items() for c in t.column_names}


def test_a_repeated_run_builds_no_pool(faker_calls: list[str]) -> None:
    first = _run(PEOPLE)
    assert faker_calls.count("_draw") > 3 and faker_calls.count("_draw_part") > 3
    faker_calls.clear()
    second = _run(PEOPLE)
    assert faker_calls == []
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_a_corrupt_or_foreign_cache_file_is_rebuilt(faker_calls: list[str], tmp_path: Path) -> None:
    reference = _run(PEOPLE)
    files = sorted(cache.cache_dir().glob("*.arrow"))
    assert files
    for i, f in enumerate(files):
        if i % 3 == 0:
            f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])  # truncated
        elif i % 3 == 1:
            f.write_bytes(pickle.dumps(["not", "ours"]))  # never unpickled
        else:  # a well-formed Arrow file holding another key
            table = pa.table({"values": pa.array(["x"])}).replace_schema_metadata(
                {b"datagen.faker_pool.key": b'{"other": 1}'}
            )
            with pa.OSFile(str(f), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
    faker_calls.clear()
    rebuilt = _run(PEOPLE)
    assert faker_calls.count("_draw") > 0
    assert all(np.array_equal(reference[k], rebuilt[k]) for k in reference)
    faker_calls.clear()
    _run(PEOPLE)
    assert faker_calls == []  # the rebuilt files are whole again


def test_cached_values_keep_their_type() -> None:
    for values_ in (
        np.array(["a", "ü", ""], dtype=object),
        np.array([1, -2], dtype=np.int64),
        np.array([0.5, 2.0]),
        np.array([True, False]),
        np.array(["2001-02-03"], dtype="datetime64[D]"),
        np.array(["2001-02-03T04:05:06.000007"], dtype="datetime64[us]"),
    ):
        key = {"kind": "test", "dtype": str(values_.dtype)}
        cache.cached(key, lambda v=values_: v)
        again = cache.cached(key, lambda: pytest.fail("rebuilt a valid file"))
        assert again.dtype == values_.dtype and np.array_equal(again, values_)


def test_the_cache_can_be_turned_off_and_lives_in_the_user_cache_dir(
    monkeypatch: pytest.MonkeyPatch, faker_calls: list[str]
) -> None:
    monkeypatch.setenv("DATAGEN_NO_CACHE", "1")
    assert cache.cache_dir() is None
    _run(PEOPLE)
    faker_calls.clear()
    _run(PEOPLE)
    assert faker_calls.count("_draw") > 0
    monkeypatch.delenv("DATAGEN_NO_CACHE")
    monkeypatch.delenv("DATAGEN_CACHE_DIR")
    assert cache.cache_dir() == Path(platformdirs.user_cache_dir("datagen")) / "faker-pools"


def _generate(schema: Path, out: Path, env: dict[str, str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "datagen", "generate", str(schema), "-o", str(out), "--chunk-rows", "256"]
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _parquet_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


@pytest.mark.long  # four processes, each importing datagen and building its pools
def test_output_bytes_are_the_same_without_with_a_cold_and_with_a_warm_cache(tmp_path: Path) -> None:
    """Two processes fill an empty cache at once (both write the same pools), then a third reads it."""
    schema = tmp_path / "people.json"
    schema.write_text(json.dumps(PEOPLE))
    shared = {"DATAGEN_CACHE_DIR": str(tmp_path / "cache")}
    runs = {
        "none": _generate(schema, tmp_path / "none", {"DATAGEN_NO_CACHE": "1"}),
        "cold1": _generate(schema, tmp_path / "cold1", shared),
        "cold2": _generate(schema, tmp_path / "cold2", shared),
    }
    for name, proc in runs.items():
        assert proc.wait(timeout=300) == 0, (name, proc.stderr.read().decode())
    warm = _generate(schema, tmp_path / "warm", shared)
    assert warm.wait(timeout=300) == 0, warm.stderr.read().decode()
    expected = _parquet_bytes(tmp_path / "none")
    assert expected
    for name in ("cold1", "cold2", "warm"):
        assert _parquet_bytes(tmp_path / name) == expected, name
    assert not list((tmp_path / "cache" / "faker-pools").glob(".tmp-*"))
