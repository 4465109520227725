"""Where bundled files live: the example schemas and the LLM prompts (plain files, docs/architecture.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# In a checkout these are links to the top-level folders; a wheel build copies what they point to.
PACKAGED = Path(__file__).resolve().parent / "resources"


def _bundled(name: str, probe: str) -> Path:
    """The checkout's top-level folder, or in an installed wheel the copy shipped inside the package."""
    source = ROOT / name
    return source if any(source.glob(probe)) else PACKAGED / name


def examples_dir() -> Path:
    return _bundled("examples", "*.json")


def prompts_dir() -> Path:
    return _bundled("prompts", "system.md")


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
