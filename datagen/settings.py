"""How Datagen is configured: one model read from the environment, command-line flags over it.

The language model: any OpenAI-compatible endpoint works (OpenAI, vLLM, Ollama, llama.cpp server).
The mode says how the schema of a reply is enforced: TOOLS (a forced function call; OpenAI and vLLM),
JSON_SCHEMA (`response_format` with a JSON Schema; Ollama, llama.cpp, recent OpenAI models), JSON
(JSON mode with the schema in the prompt; servers that have neither). The chat app: where sessions,
data and exports go and how it behaves (`DATAGEN_TUI_*`).

When the environment names no endpoint, the connection saved in the chat app (datagen/connection.py:
endpoint, model, mode, and the key from the keyring or a private file) is used, so a model connected
once works for every command. Reading the settings never fails for a missing model (a schema can be
generated without one); `require_llm()` says what to set when a command needs it. The key is a
`SecretStr` and is remembered by the redactor as soon as it is read, so no message, file or log can
carry it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from datagen.errors import InputError, LLMError
from datagen.redact import redact, remember_secret, remember_url_secrets

MODES = ("TOOLS", "JSON_SCHEMA", "JSON", "MD_JSON")
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_LLM_TIMEOUT = 180.0  # seconds for one conversation turn, every request and retry included
OPENAI_ENDPOINT = "https://api.openai.com/v1"
_OLLAMA_EXAMPLE = (
    "for a local Ollama: export OPENAI_BASE_URL=http://localhost:11434/v1 DATAGEN_MODEL=llama3.1 "
    "DATAGEN_LLM_MODE=JSON_SCHEMA"
)


def _default_sessions_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("datagen")) / "sessions"


_ENDPOINT_NAMES = ("api_key", "base_url", "OPENAI_API_KEY", "OPENAI_BASE_URL")


class SavedConnectionSource(PydanticBaseSettingsSource):
    """The saved connection, below the environment and the flags, and taken whole or not at all: when
    a key or an endpoint is given any other way, none of it is used (a key saved for OpenAI must never
    be sent to a server named in the environment)."""

    def __init__(self, settings_cls: type[BaseSettings], given: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.given = given

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the file once

    def __call__(self) -> dict[str, Any]:
        import os

        from datagen import connection

        named = any(os.environ.get(n, "").strip() for n in ("OPENAI_API_KEY", "OPENAI_BASE_URL"))
        if named or any(self.given.get(n) is not None for n in _ENDPOINT_NAMES):
            return {}
        saved = connection.load()
        return saved.settings_values() if saved is not None else {}


class Settings(BaseSettings):
    """Each field names the environment variable it is read from; `Settings(model="x")` (or
    `Settings.load(model=...)` for flags that may be None) wins over the environment."""

    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

    # the language model
    api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL", repr=False)  # may hold a password
    model: str | None = Field(None, validation_alias="DATAGEN_MODEL")
    llm_mode: str = Field("TOOLS", validation_alias="DATAGEN_LLM_MODE")
    llm_timeout: float = Field(
        DEFAULT_LLM_TIMEOUT, gt=0, allow_inf_nan=False, validation_alias="DATAGEN_LLM_TIMEOUT"
    )
    # the date the model is told is today (default: the real one); fixed, a replayed run sends the
    # same prompt on any day
    today: date | None = Field(None, validation_alias="DATAGEN_TODAY")
    # the chat app
    sessions_dir: Path = Field(
        default_factory=_default_sessions_dir, validation_alias="DATAGEN_TUI_SESSIONS_DIR"
    )
    data_dir: Path = Field(Path("data"), validation_alias="DATAGEN_TUI_DATA_DIR")  # data/<schema name>
    export_dir: Path = Field(Path("export"), validation_alias="DATAGEN_TUI_EXPORT_DIR")  # export/<name>
    # where "Save as CSV / Excel" offers to save (default: the Documents folder, else the working one)
    save_dir: Path | None = Field(None, validation_alias="DATAGEN_TUI_SAVE_DIR")
    sample_rows: int = Field(50, ge=1, validation_alias="DATAGEN_TUI_SAMPLE_ROWS")  # preview sample size
    preview_rows: int = Field(100, ge=1, validation_alias="DATAGEN_TUI_PREVIEW_ROWS")  # rows shown per table
    seed: int = Field(42, validation_alias="DATAGEN_TUI_SEED")
    cursor_blink: bool = Field(True, validation_alias="DATAGEN_TUI_CURSOR_BLINK")
    autosave: bool = Field(True, validation_alias="DATAGEN_TUI_AUTOSAVE")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        given = getattr(init_settings, "init_kwargs", {})
        return init_settings, env_settings, SavedConnectionSource(settings_cls, given)

    @field_validator("api_key", "base_url", "model", "today", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_mode", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    def model_post_init(self, context: Any, /) -> None:
        remember_secret(self.key)
        remember_url_secrets(self.base_url)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """The environment with the given flags over it (None means "not given"); a bad value is an
        InputError naming its variable, not a traceback."""
        given = {name: value for name, value in overrides.items() if value is not None}
        try:
            return cls(**given)
        except PydanticValidationError as exc:
            problems = []
            for error in exc.errors(include_url=False, include_input=False):
                name = str(error["loc"][0]) if error["loc"] else "?"
                field = cls.model_fields.get(name)
                where = field.validation_alias if field and isinstance(field.validation_alias, str) else name
                problems.append(f"{where}: {error['msg']}")
            raise InputError(
                "invalid setting " + "; ".join(problems), hint="fix or unset that environment variable"
            ) from None

    # ------------------------------------------------------------------ the language model
    @property
    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None

    @property
    def chat_model(self) -> str:
        return self.model or DEFAULT_MODEL

    @property
    def endpoint(self) -> str:
        """The endpoint for messages: credentials written into the URL (`https://user:key@host`) and its
        query string are left out."""
        if not self.base_url:
            return OPENAI_ENDPOINT
        try:
            parts = urlsplit(self.base_url)
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
        except ValueError:
            return redact(self.base_url)
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    @property
    def needs_model_name(self) -> bool:
        """A server other than OpenAI has no default model: one must be named (or asked for)."""
        return self.base_url is not None and "api.openai.com" not in self.base_url

    def describe(self) -> str:
        return f"{self.chat_model} at {self.endpoint} ({self.llm_mode} mode)"

    def require_llm(self) -> Settings:
        """These settings if a language model is configured well enough to try; LLMError saying what
        to set otherwise. A server without a model named is asked for its models when a client is
        made (datagen.nl.client.resolve_model)."""
        if self.key is None and self.base_url is None:
            raise LLMError(
                "no language model is configured: set OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL "
                "(for any OpenAI-compatible server)",
                hint=_OLLAMA_EXAMPLE,
            )
        if self.llm_mode not in MODES:
            raise LLMError(
                f"unknown DATAGEN_LLM_MODE '{self.llm_mode}'",
                hint=f"use one of {', '.join(MODES)} (TOOLS for OpenAI and vLLM, JSON_SCHEMA for "
                "Ollama and llama.cpp)",
            )
        return self
