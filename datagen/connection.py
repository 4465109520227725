"""The language model a person connected once (in the chat app), remembered per user.

`connection.json` in the user's config folder (platformdirs; `DATAGEN_CONFIG_DIR` overrides it) holds
the endpoint, the model and the mode; never the key. The key goes to the operating system's keyring
when it has one that works (`keyring`: macOS Keychain, Windows Credential Locker, the Secret Service
on Linux desktops), otherwise to `api_key` beside it, a file only the user can read (0600). The
settings read this only when the environment names no endpoint (`OPENAI_API_KEY`, `OPENAI_BASE_URL`),
so what a person sets in a shell always wins."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from datagen.errors import InputError
from datagen.redact import remember_secret

CONNECTION_FILE = "connection.json"
KEY_FILE = "api_key"
FORMAT = "datagen-connection/1"
KEYRING_SERVICE = "datagen"
KEYRING_USER = "api_key"
IN_KEYRING = "keyring"
IN_FILE = "file"


def config_dir() -> Path:
    if folder := os.environ.get("DATAGEN_CONFIG_DIR"):
        return Path(folder)
    import platformdirs

    return Path(platformdirs.user_config_dir("datagen"))


@dataclass(frozen=True)
class SavedConnection:
    """`key_store` says where the key is (`keyring`, `file`) or None when the endpoint needs none."""

    base_url: str | None
    model: str | None
    llm_mode: str = "TOOLS"
    key_store: str | None = None

    def settings_values(self) -> dict[str, Any]:
        """The values the settings take from it (the key read from where it is kept)."""
        values: dict[str, Any] = {"base_url": self.base_url, "model": self.model, "llm_mode": self.llm_mode}
        key = read_key(self.key_store)
        if key:
            values["api_key"] = key
        return {k: v for k, v in values.items() if v is not None}


def mask(key: str | None) -> str:
    """A key as it may be shown again: its first characters and its last four."""
    if not key:
        return ""
    key = key.strip()
    if len(key) <= 8:
        return "•" * len(key)
    head = key[:3] if key.startswith("sk-") else key[:2]
    return f"{head}…{key[-4:]}"


def load() -> SavedConnection | None:
    """The saved connection; None when there is none or the file is not one of ours."""
    try:
        data = json.loads((config_dir() / CONNECTION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    fields = {k: data.get(k) for k in ("base_url", "model", "llm_mode", "key_store")}
    if not all(v is None or isinstance(v, str) for v in fields.values()):
        return None
    return SavedConnection(
        fields["base_url"], fields["model"], fields["llm_mode"] or "TOOLS", fields["key_store"]
    )


def save(base_url: str | None, model: str | None, llm_mode: str, key: str | None) -> SavedConnection:
    """Remember a connection (replacing the one before); returns it, saying where the key went."""
    folder = config_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        store = _store_key(key.strip()) if key and key.strip() else None
        if store != IN_FILE:
            (folder / KEY_FILE).unlink(missing_ok=True)
        if store != IN_KEYRING:
            _keyring_delete()
        saved = SavedConnection(base_url, model, llm_mode, store)
        _write_private(folder / CONNECTION_FILE, json.dumps({"format": FORMAT, **asdict(saved)}, indent=2))
    except OSError as exc:
        raise InputError(
            f"cannot save the connection in {folder}: {exc.strerror or exc}",
            hint="set DATAGEN_CONFIG_DIR to a folder you can write to",
        ) from exc
    return saved


def forget() -> None:
    """Remove the saved connection and its key, wherever it was kept."""
    folder = config_dir()
    for name in (CONNECTION_FILE, KEY_FILE):
        (folder / name).unlink(missing_ok=True)
    _keyring_delete()


def read_key(store: str | None) -> str | None:
    key: str | None = None
    if store == IN_KEYRING:
        key = _keyring_get()
    elif store == IN_FILE:
        with contextlib.suppress(OSError):
            key = (config_dir() / KEY_FILE).read_text(encoding="utf-8").strip() or None
    remember_secret(key)
    return key


def _store_key(key: str) -> str:
    """The keyring when it keeps the key (read back to be sure: some backends accept and drop it),
    else the private file."""
    if _keyring_set(key) and _keyring_get() == key:
        return IN_KEYRING
    _write_private(config_dir() / KEY_FILE, key)
    return IN_FILE


def _write_private(path: Path, text: str) -> None:
    """Written as 0600 from the first byte (never readable by others, even for a moment)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by the umask; 0600 is what we want whatever it is
    os.replace(tmp, path)


# The keyring is optional: no backend (a server, a container), a locked one, or a broken D-Bus are all
# "not available" here, never an error the person sees.
def _keyring_set(key: str) -> bool:
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, KEYRING_USER, key)
    except Exception:
        return False
    return True


def _keyring_get() -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:
        return None


def _keyring_delete() -> None:
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:
        return
