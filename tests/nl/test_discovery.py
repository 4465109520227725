"""Finding a model for someone who never set one up: local servers on their usual ports (probed on
127.0.0.1, here against servers this test starts), their models, and a one-request connection test
whose result is a plain sentence."""

from __future__ import annotations

import socket

from datagen.nl.discovery import ServerKind, find_local_servers, guess_mode, list_models, try_connection
from tests.nl.local_server import LocalModelServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_local_servers_are_found_on_their_ports_with_their_models() -> None:
    nobody = free_port()
    with (
        LocalModelServer(["llama3.1", "qwen2.5:7b"], ollama=True) as ollama,
        LocalModelServer(["Qwen/Qwen2.5-7B-Instruct"]) as vllm,
    ):
        kinds = (
            ServerKind("Ollama", ollama.port, "JSON_SCHEMA"),
            ServerKind("vLLM", vllm.port, "TOOLS"),
            ServerKind("llama.cpp", nobody, "JSON_SCHEMA"),
        )
        found = find_local_servers(kinds=kinds)
    assert [(s.name, s.base_url, s.mode, s.models) for s in found] == [
        ("Ollama", ollama.url, "JSON_SCHEMA", ["llama3.1", "qwen2.5:7b"]),
        ("vLLM", vllm.url, "TOOLS", ["Qwen/Qwen2.5-7B-Instruct"]),
    ]


def test_an_ollama_that_only_answers_its_own_api_is_found_too() -> None:
    with LocalModelServer(["mistral"], ollama=True, key="not-what-it-gets") as server:  # /v1/models: 401
        [found] = find_local_servers(kinds=(ServerKind("Ollama", server.port, "JSON_SCHEMA"),))
    assert found.models == ["mistral"] and ("GET", "/api/tags") in server.requests


def test_models_of_a_custom_endpoint_are_listed_with_its_key() -> None:
    with LocalModelServer(["m1", "m2"], key="sk-secret-key-1234567890") as server:
        assert list_models(server.url, "sk-secret-key-1234567890") == ["m1", "m2"]
        assert list_models(server.url, "wrong") == []


def test_the_connection_test_says_what_happened_in_plain_words() -> None:
    with LocalModelServer(["llama3.1"], key="right-key-0123456789") as server:
        ok = try_connection(server.url, "llama3.1", "right-key-0123456789")
        refused = try_connection(server.url, "llama3.1", "wrong-key")
        missing = try_connection(server.url, "llama9", "right-key-0123456789")
        assert server.requests.count(("POST", "/v1/chat/completions")) == 3  # one request each
    assert ok.ok and ok.message.startswith("Connected: llama3.1 answered in ")
    assert (
        not refused.ok
        and refused.message == "The key was refused. Check that it is complete and still valid."
    )
    assert not missing.ok and "no model called 'llama9'" in missing.message
    down = try_connection(f"http://127.0.0.1:{free_port()}/v1", "llama3.1")
    assert not down.ok and down.message.startswith("Nothing answers at http://127.0.0.1:")


def test_the_mode_follows_the_server() -> None:
    assert guess_mode("http://127.0.0.1:11434/v1") == "JSON_SCHEMA"
    assert guess_mode("http://localhost:8000/v1") == "TOOLS"
    assert guess_mode("https://api.openai.com/v1") == "TOOLS"
