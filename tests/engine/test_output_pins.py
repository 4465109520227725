"""Output pins: the SHA-256 of the Parquet bytes `datagen generate` writes for every bundled example,
at a small scale and with small blocks (so several blocks, chunks and parent blocks are crossed).

A refactor must not change a single byte: these pins prove it. A deliberate output change (a new
default, a fixed bug in a generator) updates the pins in the same commit, and that commit's message
says why the bytes changed. Print the current hashes with
`.venv/bin/python -m tests.engine.test_output_pins` and paste them into `output_pins.json`.

The bytes depend on the pinned numpy, pyarrow and faker versions, and on the platform's libm: the pins
are those of the CI platform (Linux x86-64)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pytest

from datagen.dsl import check
from datagen.engine.generate import Options
from datagen.io.dataset import write_dataset
from datagen.io.output import table_files
from datagen.resources import examples_dir

PINS_FILE = Path(__file__).with_name("output_pins.json")
EXAMPLES = sorted(examples_dir().glob("*.json"))
OPTIONS = Options(seed=3, scale=0.05, block_rows=1024, chunk_rows=3000)


def table_hashes(example: Path, out_dir: Path) -> dict[str, str]:
    """Generate `example` into `out_dir` as `datagen generate` does; SHA-256 of each table's files."""
    checked = check(json.loads(example.read_text(encoding="utf-8")))
    write_dataset(checked, out_dir, OPTIONS)
    hashes = {}
    for node in checked.raise_for_errors().nodes:
        digest = hashlib.sha256()
        for file in table_files(out_dir, node.id):
            digest.update(file.read_bytes())
        hashes[node.id] = digest.hexdigest()
    return hashes


def test_every_example_is_pinned() -> None:
    assert sorted(json.loads(PINS_FILE.read_text(encoding="utf-8"))) == [p.stem for p in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_output_bytes_are_unchanged(example: Path, tmp_path: Path) -> None:
    pinned = json.loads(PINS_FILE.read_text(encoding="utf-8"))[example.stem]
    assert table_hashes(example, tmp_path / "data") == pinned


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        current = {p.stem: table_hashes(p, Path(tmp) / p.stem) for p in EXAMPLES}
    print(json.dumps(current, indent=2))
