"""A model connected once is remembered per user: the endpoint, model and mode in connection.json, the
key in the keyring when one works, else in a file only the user can read; the environment wins."""

from __future__ import annotations

import json
import stat

import keyring
import pytest
from keyring.backend import KeyringBackend

from datagen import connection
from datagen.redact import redact
from datagen.settings import Settings

KEY = "sk-proj-remembered0123456789abcd"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, keeps: bool = True) -> None:
        super().__init__()
        self.keeps = keeps
        self.saved: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.keeps:
            self.saved[service, username] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.saved.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.saved.pop((service, username), None)


@pytest.fixture(autouse=True)
def no_endpoint_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATAGEN_MODEL", "DATAGEN_LLM_MODE"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_keyring_the_key_goes_to_a_file_only_the_user_can_read() -> None:
    saved = connection.save(None, "gpt-4o-mini", "TOOLS", KEY)
    assert saved.key_store == connection.IN_FILE
    folder = connection.config_dir()
    assert stat.S_IMODE((folder / connection.KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / connection.CONNECTION_FILE).stat().st_mode) == 0o600
    assert KEY not in (folder / connection.CONNECTION_FILE).read_text(encoding="utf-8")
    settings = Settings.load().require_llm()
    assert (settings.key, settings.chat_model, settings.base_url) == (KEY, "gpt-4o-mini", None)
    assert redact(f"key={KEY}") == "key=<redacted>"  # remembered as a secret once read


def test_with_a_working_keyring_the_key_is_kept_there_and_no_file_holds_it() -> None:
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    saved = connection.save(None, None, "TOOLS", KEY)
    assert saved.key_store == connection.IN_KEYRING
    assert ring.saved == {(connection.KEYRING_SERVICE, connection.KEYRING_USER): KEY}
    assert not (connection.config_dir() / connection.KEY_FILE).exists()
    assert Settings.load().key == KEY
    connection.forget()
    assert ring.saved == {} and Settings.load().key is None


def test_a_keyring_that_accepts_the_key_but_drops_it_falls_back_to_the_file() -> None:
    keyring.set_keyring(MemoryKeyring(keeps=False))
    assert connection.save(None, None, "TOOLS", KEY).key_store == connection.IN_FILE
    assert Settings.load().key == KEY


def test_a_local_server_is_saved_without_a_key() -> None:
    connection.save("http://127.0.0.1:11434/v1", "llama3.1", "JSON_SCHEMA", None)
    settings = Settings.load().require_llm()
    assert (settings.base_url, settings.model, settings.llm_mode, settings.key) == (
        "http://127.0.0.1:11434/v1",
        "llama3.1",
        "JSON_SCHEMA",
        None,
    )


def test_an_endpoint_in_the_environment_or_the_flags_wins_and_none_of_the_saved_one_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection.save(None, "gpt-4o", "TOOLS", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    settings = Settings.load()
    assert (settings.key, settings.model, settings.base_url) == (None, None, "http://127.0.0.1:8000/v1")
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert Settings(base_url="http://127.0.0.1:9/v1").key is None  # a flag too
    assert Settings().key == KEY


def test_saving_again_replaces_the_key_and_a_keyless_save_removes_it() -> None:
    connection.save(None, None, "TOOLS", KEY)
    connection.save("http://127.0.0.1:8080/v1", "qwen", "JSON_SCHEMA", None)
    assert not (connection.config_dir() / connection.KEY_FILE).exists()
    assert Settings.load().key is None


@pytest.mark.parametrize("text", ["not json", json.dumps({"format": "other"}), json.dumps([1])])
def test_a_damaged_or_foreign_connection_file_is_ignored(text: str) -> None:
    folder = connection.config_dir()
    folder.mkdir(parents=True)
    (folder / connection.CONNECTION_FILE).write_text(text, encoding="utf-8")
    assert connection.load() is None and Settings.load().base_url is None


@pytest.mark.parametrize(
    ("key", "shown"), [(KEY, "sk-…abcd"), ("ollama", "••••••"), ("gsk_abcdefghijkl", "gs…ijkl"), (None, "")]
)
def test_a_key_is_shown_again_only_masked(key: str | None, shown: str) -> None:
    assert connection.mask(key) == shown
