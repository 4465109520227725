"""Taking the data home: CSV files or one Excel workbook in a folder the person picks, by the replace
rule (only files datagen wrote are replaced; the CSV files and the workbook live side by side), and a
table too big for an Excel sheet refused before anything is written."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.errors import InputError
from datagen.io import spreadsheet
from datagen.io.csv_export import ExportTable
from datagen.io.manifest import MANIFEST_FILE

TABLES = [
    ExportTable("owners", "owner_id", ["owner_id", "name"]),
    ExportTable("walks", "walk_id", ["walk_id", "owner_id", "started_at", "minutes", "big", "text"]),
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"owner_id": [1, 2], "name": ["Ann", None]}), folder / "owners.parquet")
    started = pa.array(
        [datetime(2024, 3, 2, 9, 30), None, datetime(2024, 3, 4, 18, 0)], pa.timestamp("us", "UTC")
    )
    pq.write_table(
        pa.table(
            {
                "walk_id": [1, 2, 3],
                "owner_id": [1, 1, 2],
                "started_at": started,
                "minutes": [30.5, float("nan"), float("inf")],
                "big": [1, 2**60, None],
                "text": ["=1+1", "x" * 40_000, "ok"],
            }
        ),
        folder / "walks.parquet",
    )
    return folder


def test_csv_files_one_per_table_with_a_header(data: Path, tmp_path: Path) -> None:
    saved = spreadsheet.save_csv(data, tmp_path / "home" / "dog_walks", TABLES)
    assert saved.folder == (tmp_path / "home" / "dog_walks").absolute() and saved.rows == 5
    assert (saved.folder / "owners.csv").read_text(encoding="utf-8") == '"owner_id","name"\n1,"Ann"\n2,\n'
    assert sorted(p.name for p in saved.folder.iterdir()) == [MANIFEST_FILE, "owners.csv", "walks.csv"]


def test_an_excel_workbook_has_a_sheet_per_table_and_values_excel_can_hold(
    data: Path, tmp_path: Path
) -> None:
    saved = spreadsheet.save_excel(data, tmp_path / "dog_walks", TABLES, "Dog walks")
    [book_path] = saved.files
    assert book_path.name == "Dog_walks.xlsx"
    book = openpyxl.load_workbook(book_path)
    assert book.sheetnames == ["owners", "walks"]
    assert [[c.value for c in r] for r in book["owners"].iter_rows()] == [
        ["owner_id", "name"],
        [1, "Ann"],
        [2, None],
    ]
    rows = [[c.value for c in r] for r in book["walks"].iter_rows()]
    assert rows[0] == ["walk_id", "owner_id", "started_at", "minutes", "big", "text"]
    assert rows[1][:5] == [1, 1, datetime(2024, 3, 2, 9, 30), 30.5, 1]
    assert rows[1][5] == "=1+1"  # text, never a formula
    assert rows[2][2] is None and rows[2][3] is None  # null, NaN: empty cells
    assert rows[2][4] == str(2**60)  # past 2^53 a double would change the digits: written as text
    assert len(rows[2][5]) == spreadsheet.EXCEL_MAX_TEXT
    assert rows[3][3] is None  # inf


def test_csv_and_excel_share_the_folder_and_a_foreign_file_is_never_replaced(
    data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dog_walks"
    spreadsheet.save_csv(data, out, TABLES)
    spreadsheet.save_excel(data, out, TABLES, "dog_walks")
    spreadsheet.save_csv(data, out, TABLES)  # again: replaces its own CSV files, keeps the workbook
    listed = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))["files"]
    assert listed == ["dog_walks.xlsx", "owners.csv", "walks.csv"]
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    spreadsheet.save_excel(data, out, TABLES, "dog_walks")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # not ours: never touched
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "owners.csv").write_text("their own owners", encoding="utf-8")  # where we would write
    with pytest.raises(InputError, match=r"owners\.csv"):
        spreadsheet.save_csv(data, theirs, TABLES)
    assert (theirs / "owners.csv").read_text(encoding="utf-8") == "their own owners"


def test_a_table_longer_than_an_excel_sheet_is_refused_before_writing(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spreadsheet, "EXCEL_MAX_ROWS", 3)  # walks has 3 rows + a header
    with pytest.raises(InputError, match=r"too many rows for Excel: walks \(3 rows\)") as caught:
        spreadsheet.save_excel(data, tmp_path / "out", TABLES, "x")
    assert "save as CSV" in caught.value.hint and not (tmp_path / "out").exists()


def test_sheet_names_follow_excels_rules() -> None:
    long = "a" * 40
    assert spreadsheet._sheet_names([long, long.upper(), "x"]) == ["a" * 31, "A" * 29 + "_2", "x"]
