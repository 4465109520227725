"""The Datagen chat TUI (Textual). Presentation only: `datagen` never imports this package; the
`datagen tui` command reaches it through `importlib` (see tests/test_architecture.py).

Importing the package is light (tui/launch.py): the app and the data engine load when it starts."""

from __future__ import annotations

from typing import Any

from tui.launch import main, run


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See `tui.factory.create_app` (imported on first use: it loads the data engine)."""
    from tui.factory import create_app as create

    return create(*args, **kwargs)


__all__ = ["create_app", "main", "run"]
