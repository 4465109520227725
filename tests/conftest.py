"""Fixtures for every test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _faker_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Faker pools are cached on disk; tests never read or write the user's real cache. One folder per
    test session (per xdist worker) keeps the suite fast while staying out of the user's home."""
    folder = tmp_path_factory.getbasetemp() / "faker-cache"
    monkeypatch.setenv("DATAGEN_CACHE_DIR", str(folder))
    monkeypatch.delenv("DATAGEN_NO_CACHE", raising=False)
    return folder
