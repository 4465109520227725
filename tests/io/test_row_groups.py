"""Row groups encoded apart and joined (io/row_groups.py): the joined file is byte for byte what
pyarrow's own writer makes of the same row groups, whether the parts come from memory or from files,
and a part that was encoded differently, or cannot be written where the driver reads it, is refused
in words."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.errors import GenerationError
from datagen.io.row_groups import JoinedFile, PartWriter, dictionary_columns, encode, write_part

CUTS = [0, 1000, 1700, 3000]  # uneven row groups


def table(n: int = 3000) -> pa.Table:
    """Every kind of column datagen writes: ints, floats, strings (dictionary-encoded by pyarrow),
    UTC timestamps, nulls, booleans, dates."""
    rng = np.random.default_rng(7)
    return pa.table(
        {
            "id": np.arange(n, dtype=np.int64),
            "amount": rng.lognormal(3, 0.6, n),
            "channel": pa.array(np.array(["web", "app", "store"])[rng.integers(0, 3, n)]),
            "at": pa.array(rng.integers(0, 10**15, n).astype("datetime64[us]"), pa.timestamp("us", "UTC")),
            "maybe": pa.array([None if i % 7 == 0 else i for i in range(n)], pa.int64()),
            "flag": pa.array(rng.integers(0, 2, n).astype(bool)),
            "day": pa.array(rng.integers(0, 20000, n).astype("datetime64[D]"), pa.date32()),
        }
    )


def pyarrow_file(path: Path, t: pa.Table) -> bytes:
    """pyarrow's own writer, each row group cut as in CUTS, with the encoder's choice of dictionaries
    (the same for every row group of `table()`)."""
    [dictionary] = {tuple(dictionary_columns(t.slice(a, b - a))) for a, b in itertools.pairwise(CUTS)}
    assert dictionary == ("channel",)
    with pq.ParquetWriter(path, t.schema, compression="zstd", use_dictionary=list(dictionary)) as writer:
        for a, b in itertools.pairwise(CUTS):
            writer.write_table(t.slice(a, b - a), row_group_size=b - a)
    return path.read_bytes()


def test_a_joined_file_is_the_bytes_pyarrow_writes_for_the_same_row_groups(tmp_path: Path) -> None:
    t = table()
    joined = JoinedFile(tmp_path / "joined.parquet")
    for i, (a, b) in enumerate(itertools.pairwise(CUTS)):
        piece = t.slice(a, b - a)
        if i % 2:  # from a part file, as a worker leaves it
            part = write_part(tmp_path / f"part-{i}.parquet", piece)
            assert part.rows == b - a
            joined.append_file(Path(part.path))
        else:  # from memory, as the driver encodes its own rows
            joined.append(encode(piece))
    size = joined.close()
    data = (tmp_path / "joined.parquet").read_bytes()
    assert size == len(data)
    assert data == pyarrow_file(tmp_path / "whole.parquet", t)
    meta = pq.ParquetFile(tmp_path / "joined.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000, 700, 1300]
    assert pq.read_table(tmp_path / "joined.parquet").equals(t)


def test_a_part_encoded_with_another_schema_is_refused(tmp_path: Path) -> None:
    joined = JoinedFile(tmp_path / "t.parquet")
    joined.append(encode(table(10)))
    with pytest.raises(GenerationError, match="encoded differently") as err:
        joined.append(encode(table(10).drop_columns(["flag"])))
    assert "same datagen and pyarrow versions" in (err.value.hint or "")
    joined.abort()


def test_a_part_folder_a_worker_cannot_reach_says_what_storage_is_needed(tmp_path: Path) -> None:
    writer = PartWriter(str(tmp_path / "not-shared"), "orders")
    with pytest.raises(GenerationError, match="cannot write") as err:
        writer(3, table(10))
    assert "orders-000003.parquet" in err.value.message
    assert "same path" in (err.value.hint or "")
    assert not (tmp_path / "not-shared").exists()  # no folder is made for a run that is gone


def test_a_row_groups_bytes_do_not_depend_on_how_its_rows_are_chunked() -> None:
    """Pages of over 1 MB: pyarrow would cut them where chunks end, were they not combined first."""
    rng = np.random.default_rng(3)
    n = 1 << 17
    t = pa.table({"x": rng.normal(size=n), "s": pa.array(rng.integers(0, 10**9, n).astype(str))})
    in_pieces = pa.concat_tables([t.slice(i, 1000) for i in range(0, n, 1000)])
    assert in_pieces.column("x").num_chunks > 100
    assert encode(in_pieces) == encode(t)


def test_only_columns_with_few_distinct_values_get_a_dictionary(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 50_000
    prices = np.round(rng.lognormal(3, 0.7, 3000), 2)
    t = pa.table(
        {
            "id": np.arange(n, dtype=np.int64),  # unique
            "amount": rng.lognormal(3, 0.6, n),  # unique
            "at": pa.array(rng.integers(0, 10**15, n).astype("datetime64[us]"), pa.timestamp("us", "UTC")),
            "channel": pa.array(np.array(["web", "app", "store"])[rng.integers(0, 3, n)]),
            "price": prices[rng.integers(0, len(prices), n)],  # 3,000 values over 50,000 rows
            "flag": pa.array(rng.integers(0, 2, n).astype(bool)),
        }
    )
    part = write_part(tmp_path / "t.parquet", t)
    group = pq.ParquetFile(part.path).metadata.row_group(0)
    dictionary = {
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if any("DICTIONARY" in e for e in group.column(i).encodings)
    }
    assert dictionary == {"channel", "price"}
    assert pq.read_table(part.path).equals(t)
