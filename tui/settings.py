"""Where the TUI keeps things and how it behaves, from the environment (`DATAGEN_TUI_*`).

Tests build a `Settings` pointing at a temporary folder, with the cursor blink off, so nothing
depends on the developer's machine or the clock."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_sessions_dir() -> Path:
    return Path(platformdirs.user_data_dir("datagen")) / "sessions"


class Settings(BaseSettings):
    """`DATAGEN_TUI_SESSIONS_DIR=/tmp/x` moves the autosaved sessions, and so on for every field."""

    model_config = SettingsConfigDict(env_prefix="DATAGEN_TUI_", extra="ignore")

    sessions_dir: Path = Field(default_factory=_default_sessions_dir)
    data_dir: Path = Path("data")  # full datasets land in data/<schema name>
    export_dir: Path = Path("export")  # CSV exports land in export/<schema name>
    sample_rows: int = Field(default=50, ge=1)  # rows per parent-less table in the preview
    preview_rows: int = Field(default=100, ge=1)  # rows shown per table in the Preview tab
    seed: int = 42
    cursor_blink: bool = True
    autosave: bool = True
