"""The Datagen chat TUI (Textual). Presentation only: `datagen` never imports this package; the
`datagen tui` command reaches it through `importlib` (see tests/test_architecture.py)."""

from tui.factory import create_app, main, run

__all__ = ["create_app", "main", "run"]
