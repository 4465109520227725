"""Endpoint settings from the environment and flags; missing configuration says what to set."""

from __future__ import annotations

import pytest

from datagen.errors import LLMError
from datagen.nl.settings import DEFAULT_MODEL, LLMSettings


def test_openai_key_alone_uses_openai_defaults() -> None:
    s = LLMSettings.from_env({"OPENAI_API_KEY": "sk-x"})
    assert (s.api_key, s.base_url, s.model, s.mode) == ("sk-x", None, DEFAULT_MODEL, "TOOLS")
    assert "sk-x" not in s.describe()


def test_a_local_server_needs_no_key_but_a_model() -> None:
    env = {
        "OPENAI_BASE_URL": "http://localhost:11434/v1",
        "DATAGEN_MODEL": "llama3.1",
        "DATAGEN_LLM_MODE": "json_schema",
    }
    s = LLMSettings.from_env(env)
    assert (s.api_key, s.model, s.mode) == (None, "llama3.1", "JSON_SCHEMA")
    with pytest.raises(LLMError, match="no model is named"):
        LLMSettings.from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1"})


def test_flags_win_over_the_environment() -> None:
    env = {"OPENAI_API_KEY": "sk-x", "DATAGEN_MODEL": "a", "DATAGEN_LLM_MODE": "TOOLS"}
    s = LLMSettings.from_env(env, model="b", mode="JSON", base_url="http://vllm:8000/v1")
    assert (s.model, s.mode, s.base_url) == ("b", "JSON", "http://vllm:8000/v1")


def test_nothing_configured_names_both_variables_and_an_ollama_example() -> None:
    with pytest.raises(LLMError) as info:
        LLMSettings.from_env({})
    assert "OPENAI_API_KEY" in info.value.message and "OPENAI_BASE_URL" in info.value.message
    assert "OPENAI_BASE_URL=http://localhost:11434/v1" in info.value.hint
    assert info.value.exit_code == 2


def test_an_unknown_mode_lists_the_modes() -> None:
    with pytest.raises(LLMError, match="unknown DATAGEN_LLM_MODE 'FUNCTIONS'") as info:
        LLMSettings.from_env({"OPENAI_API_KEY": "k", "DATAGEN_LLM_MODE": "functions"})
    assert "TOOLS, JSON_SCHEMA, JSON, MD_JSON" in info.value.hint


def test_credentials_in_the_base_url_never_reach_a_message() -> None:
    settings = LLMSettings.from_env(
        {
            "OPENAI_BASE_URL": "https://alice:s3cret-key@llm.example.com:8443/v1?token=abc",
            "DATAGEN_MODEL": "m",
        }
    )
    assert settings.endpoint == "https://llm.example.com:8443/v1"
    text = settings.describe()
    assert "s3cret-key" not in text and "alice" not in text and "token" not in text
    assert "llm.example.com:8443/v1" in text


def test_connection_errors_name_the_endpoint_without_its_credentials() -> None:
    import httpx2
    import openai

    from datagen.nl.client import OpenAIClient

    settings = LLMSettings.from_env(
        {"OPENAI_BASE_URL": "http://bob:hunter2@127.0.0.1:9/v1", "DATAGEN_MODEL": "m"}
    )
    client = OpenAIClient(settings)
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    error = client._translate(openai.APIConnectionError(request=request), None)
    assert "hunter2" not in str(error) and "bob" not in str(error)
    assert "127.0.0.1:9" in str(error)
