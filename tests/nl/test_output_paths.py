"""`datagen nl --yes` picks the data folder itself, from the model's `metadata.name`: whatever the
model writes there, the data lands in `data/<slug>` under the working folder, and a folder the user
already has is never written into (a scripted model, no network)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console

from datagen.dsl import check
from datagen.io.manifest import MANIFEST_FILE, require_complete
from datagen.nl.oneshot import run_nl
from datagen.settings import Settings
from tests.nl.fakes import ScriptedLLM
from tests.nl.scenarios import turn

HOSTILE = {
    "parent": ("../../x", "x"),
    "absolute": ("/abs", "abs"),
    "dot-dot": ("..", "dataset"),
    "empty": ("", "dataset"),
    "long": ("x" * 10_000, "x" * 64),
    "unicode": ("Účetnictví 📊 データ", "Ucetnictvi"),
    "flag": ("-rf /", "rf"),
    "newline": ("shop\n../../etc", "shop_etc"),
}


def bookshop_named(name: str) -> dict:
    def rename(schema: dict) -> None:
        schema["metadata"]["name"] = name
        schema["nodes"][0]["rows"] = 60  # small and quick

    return turn("bookshop", rename)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def nl_yes(work: Path, reply: dict) -> int:
    return run_nl(
        "a bookshop",
        settings=Settings(api_key=None, base_url="http://127.0.0.1:9/v1", model="scripted"),
        out=work / "schema.json",
        yes=True,
        generate=True,
        scale=1.0,
        seed=42,
        data_dir=None,
        resume=None,
        verbose=False,
        console=Console(file=io.StringIO(), width=200),
        client=ScriptedLLM(reply),
    )


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder sits two levels down, so `../../x` would land in tmp_path if it escaped."""
    folder = tmp_path / "home" / "project"
    folder.mkdir(parents=True)
    (tmp_path / "home" / "keep.txt").write_text("outside the working folder")
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_schema_name_only_ever_becomes_a_slug_under_data(work: Path, case: str) -> None:
    name, slug = HOSTILE[case]
    reply = bookshop_named(name)
    assert check(reply["schema"]).ok  # the name reaches the folder choice, not a repair round
    outside = tree(work.parent.parent)
    outside = {k: v for k, v in outside.items() if not k.startswith("home/project/")}

    assert nl_yes(work, reply) == 0
    assert sorted(p.name for p in work.iterdir()) == ["data", "schema.conversation.jsonl", "schema.json"]
    assert [p.name for p in (work / "data").iterdir()] == [slug]
    require_complete(work / "data" / slug, "dataset")
    after = {k: v for k, v in tree(work.parent.parent).items() if not k.startswith("home/project/")}
    assert after == outside  # nothing outside the working folder was created, changed or removed


def test_a_name_matching_a_users_folder_goes_to_a_fresh_folder_and_touches_nothing(work: Path) -> None:
    mine = work / "data" / "reports"
    mine.mkdir(parents=True)
    (mine / ".metadata.json").write_text('{"mine": true}')  # a common name; it does not make it ours
    (mine / "q3.xlsx").write_text("the user's spreadsheet")
    before = tree(mine)

    assert nl_yes(work, bookshop_named("reports")) == 0
    assert tree(mine) == before
    assert sorted(p.name for p in (work / "data").iterdir()) == ["reports", "reports-2"]
    assert (work / "data" / "reports-2" / MANIFEST_FILE).is_file()


def test_a_second_run_with_the_same_name_replaces_its_own_dataset(work: Path) -> None:
    assert nl_yes(work, bookshop_named("shop")) == 0
    first = json.loads((work / "data" / "shop" / ".metadata.json").read_text())
    (work / "data" / "shop" / "my_notes.md").write_text("kept")
    assert nl_yes(work, bookshop_named("shop")) == 0
    assert sorted(p.name for p in (work / "data").iterdir()) == ["shop"]
    assert (work / "data" / "shop" / "my_notes.md").read_text() == "kept"
    assert (
        json.loads((work / "data" / "shop" / ".metadata.json").read_text())["schema_hash"]
        == first["schema_hash"]
    )


def test_the_working_folder_itself_is_never_the_data_folder(work: Path) -> None:
    """`.` as a name must not make `data/.` (the data root) or the working folder the target."""
    assert nl_yes(work, bookshop_named(".")) == 0
    assert [p.name for p in (work / "data").iterdir()] == ["dataset"]
    assert not (work / "data" / MANIFEST_FILE).exists() and not (work / MANIFEST_FILE).exists()
    assert os.listdir(work / "data" / "dataset")
