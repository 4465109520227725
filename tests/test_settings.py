"""One settings model for the whole tool: the environment, flags over it; a missing model says what
to set; a bad value names its variable; credentials never reach a message."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from datagen.errors import InputError, LLMError
from datagen.redact import redact
from datagen.settings import DEFAULT_LLM_TIMEOUT, DEFAULT_MODEL, Settings

VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DATAGEN_MODEL",
    "DATAGEN_LLM_MODE",
    "DATAGEN_LLM_TIMEOUT",
    "DATAGEN_TODAY",
    "DATAGEN_TUI_SESSIONS_DIR",
    "DATAGEN_TUI_SAMPLE_ROWS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_today_is_the_real_date_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load().today is None  # the conversation then takes the real date
    monkeypatch.setenv("DATAGEN_TODAY", "2025-03-14")
    assert Settings.load().today == date(2025, 3, 14)
    monkeypatch.setenv("DATAGEN_TODAY", "last tuesday")
    with pytest.raises(InputError, match="DATAGEN_TODAY"):
        Settings.load()


def test_openai_key_alone_uses_openai_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    s = Settings.load().require_llm()
    assert (s.key, s.base_url, s.chat_model, s.llm_mode) == ("sk-x", None, DEFAULT_MODEL, "TOOLS")
    assert s.llm_timeout == DEFAULT_LLM_TIMEOUT == 180
    assert "sk-x" not in s.describe() and "sk-x" not in repr(s)


def test_a_local_server_needs_no_key_and_a_model_named_or_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    unnamed = Settings.load().require_llm()  # the server is asked for its models when a client is made
    assert unnamed.model is None and unnamed.needs_model_name
    monkeypatch.setenv("DATAGEN_MODEL", "llama3.1")
    monkeypatch.setenv("DATAGEN_LLM_MODE", "json_schema")
    s = Settings.load().require_llm()
    assert (s.key, s.chat_model, s.llm_mode) == (None, "llama3.1", "JSON_SCHEMA")


def test_flags_win_over_the_environment_and_none_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"OPENAI_API_KEY": "sk-x", "DATAGEN_MODEL": "a", "DATAGEN_LLM_TIMEOUT": "30"}.items():
        monkeypatch.setenv(name, value)
    s = Settings.load(model="b", llm_mode="JSON", base_url="http://vllm:8000/v1", llm_timeout=None)
    assert (s.chat_model, s.llm_mode, s.base_url, s.llm_timeout) == ("b", "JSON", "http://vllm:8000/v1", 30)
    assert Settings.load(llm_timeout=5).llm_timeout == 5


def test_nothing_configured_names_both_variables_and_an_ollama_example() -> None:
    settings = Settings.load()  # reading never fails: a schema can be opened without a model
    with pytest.raises(LLMError) as info:
        settings.require_llm()
    assert "OPENAI_API_KEY" in info.value.message and "OPENAI_BASE_URL" in info.value.message
    assert "OPENAI_BASE_URL=http://localhost:11434/v1" in info.value.hint
    assert info.value.exit_code == 2


def test_an_unknown_mode_lists_the_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("DATAGEN_LLM_MODE", "functions")
    with pytest.raises(LLMError, match="unknown DATAGEN_LLM_MODE 'FUNCTIONS'") as info:
        Settings.load().require_llm()
    assert "TOOLS, JSON_SCHEMA, JSON, MD_JSON" in info.value.hint


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan"])
def test_a_bad_time_limit_names_its_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATAGEN_LLM_TIMEOUT", value)
    with pytest.raises(InputError, match="DATAGEN_LLM_TIMEOUT") as info:
        Settings.load()
    assert info.value.exit_code == 2


def test_the_chat_app_settings_come_from_the_same_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATAGEN_TUI_SESSIONS_DIR", str(tmp_path))
    monkeypatch.setenv("DATAGEN_TUI_SAMPLE_ROWS", "7")
    s = Settings.load()
    assert (s.sessions_dir, s.sample_rows, s.data_dir, s.export_dir) == (
        tmp_path,
        7,
        Path("data"),
        Path("export"),
    )
    assert Settings(sessions_dir=tmp_path / "x", cursor_blink=False).sessions_dir == tmp_path / "x"
    monkeypatch.setenv("DATAGEN_TUI_SAMPLE_ROWS", "0")
    with pytest.raises(InputError, match="DATAGEN_TUI_SAMPLE_ROWS"):
        Settings.load()


def test_credentials_in_the_base_url_never_reach_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OPENAI_BASE_URL", "https://alice:s3cret-pass-word@llm.example.com:8443/v1?token=abcdefgh12"
    )
    import httpx2

    from datagen.nl.client import resolve_model

    settings = Settings.load()
    assert settings.endpoint == "https://llm.example.com:8443/v1"
    not_found = httpx2.Client(transport=httpx2.MockTransport(lambda _: httpx2.Response(404, json={})))
    with pytest.raises(LLMError) as info:  # no model named nor listed: the message shows the endpoint, safely
        resolve_model(settings, http_client=not_found)
    for text in (str(info.value), settings.describe(), repr(settings)):
        assert "s3cret-pass-word" not in text and "alice" not in text and "abcdefgh12" not in text
    assert "llm.example.com:8443/v1" in info.value.message
    # and the password itself is remembered: echoed alone by a server, it is still redacted
    assert redact("the server said: s3cret-pass-word") == "the server said: <redacted>"


def test_the_key_is_remembered_for_redaction_as_soon_as_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "local-7c1e9a44d0b2-secret"  # not sk-shaped: only remembering the value can catch it
    assert redact(f"x {key} y") == f"x {key} y"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    Settings.load()
    assert redact(f"x {key} y") == "x <redacted> y"


def test_connection_errors_name_the_endpoint_without_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx2
    import openai

    from datagen.nl.client import OpenAIClient

    monkeypatch.setenv("OPENAI_BASE_URL", "http://bob:hunter2hunter2@127.0.0.1:9/v1")
    monkeypatch.setenv("DATAGEN_MODEL", "m")
    client = OpenAIClient(Settings.load())
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    error = client._translate(openai.APIConnectionError(request=request), None, 10.0)
    assert "hunter2hunter2" not in str(error) and "bob" not in str(error)
    assert "127.0.0.1:9" in str(error)


@pytest.mark.parametrize("command", [["tui"], ["nl", "a shop"], ["eval", "prompts.yaml"]])
def test_a_bad_environment_value_is_an_exit_2_message_for_every_model_command(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    from typer.testing import CliRunner

    from datagen.cli import app

    monkeypatch.setenv("DATAGEN_LLM_TIMEOUT", "soon")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "invalid setting DATAGEN_LLM_TIMEOUT" in result.stderr and "Traceback" not in result.output


def test_python_m_tui_reports_a_bad_environment_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.launch import main

    monkeypatch.setenv("DATAGEN_TUI_SAMPLE_ROWS", "many")
    assert main([]) == 2
    assert "invalid setting DATAGEN_TUI_SAMPLE_ROWS" in capsys.readouterr().err
