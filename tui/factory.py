"""One factory builds the app for the command line and for the tests (so they run the same thing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datagen.settings import Settings
from tui.app import DatagenApp
from tui.backend import Backend


def create_app(
    backend: Backend | None = None,
    settings: Settings | None = None,
    *,
    schema_path: Path | None = None,
    offer_resume: bool = True,
    **injected: Any,
) -> DatagenApp:
    """`backend` defaults to the real conversation core with the LLM the settings name; `settings` to
    the environment's (and the connection saved in the app). `injected` passes the app's other
    dependencies (`clock`, `open_folder`, `find_servers`, `openai_url`; see DatagenApp)."""
    settings = settings or Settings.load()
    if backend is None:
        from tui.llm import LLMBackend

        backend = LLMBackend(settings)
    return DatagenApp(backend, settings, schema_path=schema_path, offer_resume=offer_resume, **injected)
