"""A local model server on 127.0.0.1 as the chat app finds one: it lists its models (OpenAI's
`/v1/models`, and Ollama's `/api/tags` when it plays Ollama) and answers the connection test's chat
completion, checking the key when it is given one.

    with LocalModelServer(["llama3.1", "qwen2.5"], ollama=True) as server:
        find_local_servers(kinds=(ServerKind("Ollama", server.port, "JSON_SCHEMA"),))"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalModelServer:
    def __init__(self, models: list[str], *, ollama: bool = False, key: str | None = None) -> None:
        self.models = models
        self.ollama = ollama
        self.key = key
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LocalModelServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _authorised(self) -> bool:
                if server.key is None or self.headers.get("authorization") == f"Bearer {server.key}":
                    return True
                self._send(401, {"error": {"message": "Incorrect API key provided", "type": "auth"}})
                return False

            def do_GET(self) -> None:
                server.requests.append(("GET", self.path))
                if self.path == "/v1/models" and self._authorised():
                    self._send(
                        200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                    )
                elif self.path == "/api/tags" and server.ollama:
                    self._send(200, {"models": [{"name": m, "model": m} for m in server.models]})
                elif self.path not in ("/v1/models",):
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                server.requests.append(("POST", self.path))
                if self.path != "/v1/chat/completions" or not self._authorised():
                    if self.path != "/v1/chat/completions":
                        self._send(404, {"error": "not found"})
                    return
                if body.get("model") not in server.models:
                    self._send(404, {"error": {"message": f"model '{body.get('model')}' not found"}})
                    return
                message = {"role": "assistant", "content": "ready"}
                self._send(
                    200,
                    {
                        "id": "c",
                        "object": "chat.completion",
                        "created": 1,
                        "model": body["model"],
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    },
                )

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
