"""Fixtures for every test."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: takes many times a typical test's time, so it runs first")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` run first (each xdist worker takes tests in this order): started last, one
    would keep its worker busy after the others had finished."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(autouse=True)
def _faker_cache_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Faker pools are cached on disk; tests never read or write the user's real cache. One folder per
    test session, shared by its xdist workers (their temporary folders sit in the session's), keeps the
    suite fast while staying out of the user's home: a pool one worker built is read by the others,
    where building it again took a fifth of the suite's pool-building time. Sharing is safe as it is
    between runs: writes are atomic and every read checks the file's key."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if worker_id != "master" else base) / "faker-cache"
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
