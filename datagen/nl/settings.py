"""Which endpoint, model and structured-output mode to use: environment first, flags over it.

Any OpenAI-compatible endpoint works (OpenAI, vLLM, Ollama, llama.cpp server). The mode says how the
schema of a reply is enforced: TOOLS (a forced function call; OpenAI and vLLM), JSON_SCHEMA
(`response_format` with a JSON Schema; Ollama, llama.cpp, recent OpenAI models), JSON (JSON mode with
the schema in the prompt; servers that have neither)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from datagen.errors import LLMError

MODES = ("TOOLS", "JSON_SCHEMA", "JSON", "MD_JSON")
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 120.0
_OLLAMA_EXAMPLE = (
    "for a local Ollama: export OPENAI_BASE_URL=http://localhost:11434/v1 DATAGEN_MODEL=llama3.1 "
    "DATAGEN_LLM_MODE=JSON_SCHEMA"
)


@dataclass(frozen=True)
class LLMSettings:
    """Never printed whole: `describe()` is the safe view (the key is not in it)."""

    api_key: str | None
    base_url: str | None
    model: str
    mode: str = "TOOLS"
    timeout: float = DEFAULT_TIMEOUT

    @property
    def endpoint(self) -> str:
        """The endpoint for messages: credentials written into the URL (`https://user:key@host`) and its
        query string are left out."""
        if not self.base_url:
            return "https://api.openai.com/v1"
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def describe(self) -> str:
        return f"{self.model} at {self.endpoint} ({self.mode} mode)"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        model: str | None = None,
        base_url: str | None = None,
        mode: str | None = None,
        timeout: float | None = None,
    ) -> LLMSettings:
        """Read OPENAI_API_KEY, OPENAI_BASE_URL, DATAGEN_MODEL, DATAGEN_LLM_MODE; flags win over them."""
        env = os.environ if env is None else env
        key = env.get("OPENAI_API_KEY") or None
        url = base_url or env.get("OPENAI_BASE_URL") or None
        if key is None and url is None:
            raise LLMError(
                "no language model is configured: set OPENAI_API_KEY (for OpenAI) or OPENAI_BASE_URL "
                "(for any OpenAI-compatible server)",
                hint=_OLLAMA_EXAMPLE,
            )
        chosen = model or env.get("DATAGEN_MODEL") or None
        if chosen is None and url is not None and "api.openai.com" not in url:
            raise LLMError(
                f"OPENAI_BASE_URL is set ({url}) but no model is named",
                hint="set DATAGEN_MODEL (or --model) to a model that server has, e.g. llama3.1",
            )
        raw_mode = (mode or env.get("DATAGEN_LLM_MODE") or "TOOLS").strip().upper()
        if raw_mode not in MODES:
            raise LLMError(
                f"unknown DATAGEN_LLM_MODE '{raw_mode}'",
                hint=f"use one of {', '.join(MODES)} (TOOLS for OpenAI and vLLM, JSON_SCHEMA for "
                "Ollama and llama.cpp)",
            )
        return cls(key, url, chosen or DEFAULT_MODEL, raw_mode, timeout or DEFAULT_TIMEOUT)
