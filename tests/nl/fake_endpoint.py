"""A misbehaving OpenAI-compatible endpoint on 127.0.0.1, for the faults no cassette can hold: a
server that trickles its reply a byte at a time, one that never answers, bodies that are not chat
completions, error pages. Each request gets the next behaviour; the last one repeats.

    with FakeEndpoint(Respond(400, {...})) as endpoint:
        ... OPENAI_BASE_URL=endpoint.url ...
    endpoint.requests  # the JSON bodies received"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

from tests.nl.wire import Step, render


@dataclass(frozen=True)
class Respond:
    """A whole reply at once. `body` is bytes as is, or JSON; `length=False` sends no Content-Length
    (the body ends when the connection closes)."""

    status: int
    body: bytes | dict[str, Any]
    content_type: str = "application/json"
    length: bool = True


@dataclass(frozen=True)
class Model:
    """A chat completion, rendered as OpenAI would send it for what the request asked (tests/nl/wire)."""

    step: Step


@dataclass(frozen=True)
class Trickle:
    """A valid-looking reply sent one byte every `interval` seconds; `from_start` trickles the status
    line and headers too (not just the body)."""

    interval: float = 1.0
    from_start: bool = False


@dataclass(frozen=True)
class Silent:
    """Reads the request and never answers."""


Behaviour = Respond | Model | Trickle | Silent


class FakeEndpoint:
    """`models`: what `GET /v1/models` lists (None: that path is not served, a 404)."""

    def __init__(self, *behaviours: Behaviour, models: list[str] | None = None) -> None:
        self.behaviours = list(behaviours)
        self.models = models
        self.listed = 0  # GET /v1/models requests served
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                endpoint.requests.append(json.loads(body or b"{}"))
                endpoint.headers.append({k.lower(): v for k, v in self.headers.items()})
                n = len(endpoint.requests)
                behaviour = endpoint.behaviours[min(n, len(endpoint.behaviours)) - 1]
                endpoint._serve(self, behaviour, body, n)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models") and endpoint.models is not None:
                    endpoint.listed += 1
                    listing = [{"id": m, "object": "model", "owned_by": "local"} for m in endpoint.models]
                    status, payload = 200, json.dumps({"object": "list", "data": listing}).encode()
                else:
                    status, payload = 404, json.dumps({"error": {"message": "not found"}}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()  # silent and trickling handlers end; their clients see the connection close
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler, behaviour: Behaviour, body: bytes, n: int) -> None:
        if isinstance(behaviour, Silent):
            self._stop.wait()
            return
        if isinstance(behaviour, Model | Trickle):
            step = behaviour.step if isinstance(behaviour, Model) else _ANY_PROPOSAL
            request = httpx2.Request("POST", "http://endpoint/v1/chat/completions", content=body)
            response = render(step, request, n)
            status, content_type, payload = response.status_code, "application/json", response.content
        else:
            status, content_type = behaviour.status, behaviour.content_type
            payload = (
                behaviour.body if isinstance(behaviour.body, bytes) else json.dumps(behaviour.body).encode()
            )
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\ncontent-type: {content_type}\r\n"
        if not isinstance(behaviour, Respond) or behaviour.length:
            head += f"content-length: {len(payload)}\r\n"
        head += "connection: close\r\n\r\n"
        raw = head.encode() + payload
        if isinstance(behaviour, Trickle):
            start = 0 if behaviour.from_start else len(head)
            handler.wfile.write(raw[:start])
            for i in range(start, len(raw)):
                if self._stop.wait(behaviour.interval):
                    return
                try:
                    handler.wfile.write(raw[i : i + 1])
                except OSError:  # the client gave up: what a trickled-at client should do
                    return
            return
        try:
            handler.wfile.write(raw)
        except OSError:  # the client stopped reading (an oversized body): expected
            return


def _proposal() -> Step:
    from tests.nl.scenarios import turn
    from tests.nl.wire import Reply

    return Reply(turn("bookshop"))


_ANY_PROPOSAL = _proposal()
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests", 502: "Bad Gateway"}
