"""Where bundled files live: the example schemas and the LLM prompts (plain files, DESIGN.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def examples_dir() -> Path:
    return ROOT / "examples"


def prompts_dir() -> Path:
    """The checkout's top-level prompts/; in an installed wheel, the copy shipped inside the package
    (datagen/resources/prompts is a symlink to ../../prompts, which the wheel build dereferences)."""
    source = ROOT / "prompts"
    if (source / "system.md").is_file():
        return source
    return Path(__file__).resolve().parent / "resources" / "prompts"


@dataclass(frozen=True)
class Example:
    name: str
    path: Path
    summary: str


def list_examples() -> list[Example]:
    """Every bundled example with its one-line summary (metadata.description's first sentence)."""
    out = []
    for path in sorted(examples_dir().glob("*.json")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        except (OSError, ValueError):
            continue
        out.append(Example(path.stem, path, str(meta.get("description") or meta.get("name") or "").strip()))
    return out
