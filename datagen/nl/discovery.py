"""Finding a language model for someone who has never set one up: the local servers on the usual
ports and their models, the models of any OpenAI-compatible endpoint, and a one-request test that
says in plain words whether a connection works.

Everything here is one short HTTP request (a GET of `/v1/models` or Ollama's `/api/tags`, a POST of
one tiny chat completion), made with the same HTTP client the openai package uses. Nothing is
retried: a person is waiting for the answer."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx2

from datagen.redact import redact

LOCALHOST = "127.0.0.1"
PROBE_TIMEOUT = 0.6  # seconds per port: a local server answers in milliseconds
TEST_TIMEOUT = 60.0  # a local model may have to load before its first answer


@dataclass(frozen=True)
class ServerKind:
    name: str
    port: int
    mode: str  # how its replies are best structured (see datagen.settings)


# The usual ports of the servers people run (each one's documented default).
KNOWN_SERVERS = (
    ServerKind("Ollama", 11434, "JSON_SCHEMA"),
    ServerKind("LM Studio", 1234, "JSON_SCHEMA"),
    ServerKind("vLLM", 8000, "TOOLS"),
    ServerKind("llama.cpp", 8080, "JSON_SCHEMA"),
    ServerKind("Jan", 1337, "JSON_SCHEMA"),
    ServerKind("LocalAI", 8081, "JSON_SCHEMA"),
)


@dataclass(frozen=True)
class LocalServer:
    name: str
    base_url: str  # the OpenAI-compatible root, ending in /v1
    mode: str
    models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str  # one or two plain sentences: what happened, and what to do when it failed
    seconds: float = 0.0


def _get_json(client: httpx2.Client, url: str, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = client.get(url, headers=headers)
    response.raise_for_status()
    return response.json()


def _model_ids(data: Any) -> list[str]:
    """`/v1/models` (`{"data": [{"id": …}]}`) or Ollama's `/api/tags` (`{"models": [{"name": …}]}`)."""
    if not isinstance(data, dict):
        return []
    items = data.get("data") if isinstance(data.get("data"), list) else data.get("models")
    names = []
    for item in items if isinstance(items, list) else []:
        name = item.get("id") or item.get("name") or item.get("model") if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return sorted(set(names), key=str.lower)


def _probe_one(kind: ServerKind, host: str, timeout: float) -> LocalServer | None:
    root = f"http://{host}:{kind.port}"
    with httpx2.Client(timeout=timeout) as client:
        for path in ("/v1/models", "/api/tags"):
            try:
                models = _model_ids(_get_json(client, root + path))
            except (httpx2.HTTPError, ValueError):
                continue
            return LocalServer(kind.name, f"{root}/v1", kind.mode, models)
    return None


def find_local_servers(
    host: str = LOCALHOST, kinds: tuple[ServerKind, ...] = KNOWN_SERVERS, timeout: float = PROBE_TIMEOUT
) -> list[LocalServer]:
    """The servers answering on the usual ports of `host`, with their models, all probed at once."""
    with ThreadPoolExecutor(max_workers=len(kinds) or 1) as pool:
        found = pool.map(lambda kind: _probe_one(kind, host, timeout), kinds)
        return [server for server in found if server is not None]


def list_models(base_url: str, key: str | None = None, timeout: float = 10.0) -> list[str]:
    """The models an OpenAI-compatible endpoint lists (empty when it lists none or cannot be asked)."""
    root = base_url.rstrip("/")
    with httpx2.Client(timeout=timeout) as client:
        for url in (f"{root}/models", root.removesuffix("/v1") + "/api/tags"):
            try:
                return _model_ids(_get_json(client, url, key))
            except (httpx2.HTTPError, ValueError):
                continue
    return []


def guess_mode(base_url: str) -> str:
    """TOOLS for OpenAI and servers on vLLM's port; JSON_SCHEMA for the other local servers."""
    for kind in KNOWN_SERVERS:
        if f":{kind.port}/" in base_url.rstrip("/") + "/":
            return kind.mode
    return "TOOLS"


def try_connection(
    base_url: str, model: str, key: str | None = None, timeout: float = TEST_TIMEOUT
) -> ConnectionTest:
    """One tiny chat completion: the endpoint answers, the key is accepted, the model exists."""
    url = base_url.rstrip("/") + "/chat/completions"
    body = {"model": model, "messages": [{"role": "user", "content": "Reply with the single word: ready"}]}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    started = time.monotonic()
    try:
        with httpx2.Client(timeout=httpx2.Timeout(timeout, connect=min(10.0, timeout))) as client:
            response = client.post(url, json=body, headers=headers)
    except httpx2.TimeoutException:
        return ConnectionTest(
            False,
            f"{model} did not answer within {timeout:.0f} s. Is the server busy, or the model very large?",
        )
    except httpx2.HTTPError:
        return ConnectionTest(
            False, f"Nothing answers at {redact(base_url)}. Is the server running, and is the address right?"
        )
    seconds = time.monotonic() - started
    return _verdict(response, model, base_url, seconds)


def _verdict(response: httpx2.Response, model: str, base_url: str, seconds: float) -> ConnectionTest:
    status = response.status_code
    if status in (401, 403):
        return ConnectionTest(False, "The key was refused. Check that it is complete and still valid.")
    if status == 404:
        return ConnectionTest(
            False, f"The server has no model called {model!r} (or {redact(base_url)} is not an API address)."
        )
    if status == 429:
        return ConnectionTest(False, "The server says: too many requests, or no credit left on the account.")
    if status >= 400:
        return ConnectionTest(False, f"The server refused the test ({status}): {_said(response)}")
    try:
        data = response.json()
        reply = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ConnectionTest(
            False, f"{redact(base_url)} answered, but not like a chat API. Is it the address of the API?"
        )
    if not isinstance(reply, dict):
        return ConnectionTest(False, f"{redact(base_url)} answered, but not like a chat API.")
    return ConnectionTest(True, f"Connected: {model} answered in {seconds:.1f} s.", seconds)


def _said(response: httpx2.Response) -> str:
    try:
        data = response.json()
        error = data.get("error", data) if isinstance(data, dict) else data
        text = error.get("message") if isinstance(error, dict) else error
    except ValueError:
        text = response.text
    text = " ".join(str(text).split())
    return redact(text if len(text) <= 160 else text[:159] + "…")
