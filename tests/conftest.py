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


@pytest.fixture(autouse=True)
def _user_config_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model connected in the chat app is saved per user; tests never read or write the user's real
    connection, and never touch the machine's keyring (a test that needs one sets its own)."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("DATAGEN_CONFIG_DIR", str(tmp_path / "user-config"))
    keyring.set_keyring(fail.Keyring())
