"""Names on disk from schema or model text: folder slugs, the default folder, table file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.errors import InputError
from datagen.io.manifest import CSV_EXPORT, DATASET, MANIFEST_FILE, Manifest, write_manifest
from datagen.io.names import (
    check_distinct_on_disk,
    default_file,
    default_output_dir,
    output_slug,
    table_file_stem,
)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("shop", "shop"),
        ("My Shop 2024", "My_Shop_2024"),
        ("../../x", "x"),
        ("/etc/passwd", "etc_passwd"),
        ("..", "dataset"),
        (".", "dataset"),
        ("", "dataset"),
        ("   ", "dataset"),
        ("-rf", "rf"),
        ("Café crème", "Cafe_creme"),
        ("データ", "dataset"),
        ("a\x00b\nc", "a_b_c"),
        ("C:\\Users\\x", "C_Users_x"),
        ("~", "dataset"),
        ("x" * 10_000, "x" * 64),
        ("a" * 63 + "/b", "a" * 63),  # cut at 64, then no trailing separator
    ],
)
def test_output_slug_is_always_a_plain_bounded_name(text: str, slug: str) -> None:
    assert output_slug(text) == slug


def test_default_output_dir_reuses_only_absent_empty_or_own_folders(tmp_path: Path) -> None:
    assert default_output_dir(tmp_path, "shop", DATASET) == tmp_path / "shop"
    (tmp_path / "shop").mkdir()
    assert default_output_dir(tmp_path, "shop", DATASET) == tmp_path / "shop"  # empty
    (tmp_path / "shop" / ".datagen.tmp-1-abc").mkdir()  # a killed run's staging folder
    assert default_output_dir(tmp_path, "shop", DATASET) == tmp_path / "shop"
    (tmp_path / "shop" / "mine.txt").write_text("x")
    assert default_output_dir(tmp_path, "shop", DATASET) == tmp_path / "shop-2"
    (tmp_path / "shop-2").write_text("a file, not a folder")
    assert default_output_dir(tmp_path, "shop", DATASET) == tmp_path / "shop-3"
    (tmp_path / "shop-3").mkdir()
    write_manifest(tmp_path / "shop-3", Manifest(DATASET, True, ("t.parquet",)))
    assert default_output_dir(tmp_path, "shop", DATASET) == tmp_path / "shop-3"  # ours: replaced
    assert default_output_dir(tmp_path, "shop", CSV_EXPORT) == tmp_path / "shop-4"  # ours, another kind
    (tmp_path / "shop-4").mkdir()
    (tmp_path / "shop-4" / MANIFEST_FILE).write_text("not json")
    assert default_output_dir(tmp_path, "shop", CSV_EXPORT) == tmp_path / "shop-5"


def test_default_output_dir_never_leaves_its_root(tmp_path: Path) -> None:
    for name in ("../up", "/abs", "..", "a/../../b"):
        assert default_output_dir(tmp_path / "data", name, DATASET).parent == tmp_path / "data"


def test_default_file_never_names_an_existing_file(tmp_path: Path) -> None:
    assert default_file(tmp_path, "../My Shop", ".json") == tmp_path / "My_Shop.json"
    (tmp_path / "My_Shop.json").write_text("the user's")
    assert default_file(tmp_path, "../My Shop", ".json") == tmp_path / "My_Shop-2.json"


@pytest.mark.parametrize("table_id", ["orders", "_t", "T2", "x" * 128])
def test_identifier_table_ids_are_file_stems(table_id: str) -> None:
    assert table_file_stem(table_id) == table_id


@pytest.mark.parametrize("table_id", ["", "../x", "a/b", "/abs", ".hidden", "2x", "x\n", "x" * 129, "é"])
def test_other_table_ids_are_refused_as_file_names(table_id: str) -> None:
    with pytest.raises(InputError, match="cannot be used as a file name"):
        table_file_stem(table_id)


def test_table_ids_that_differ_only_in_case_are_refused() -> None:
    check_distinct_on_disk(["orders", "order_items"])
    with pytest.raises(InputError, match="'Orders' and 'orders' differ only in upper/lower case"):
        check_distinct_on_disk(["Orders", "orders"])
