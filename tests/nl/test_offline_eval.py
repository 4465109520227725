"""The plain-English evaluation the README reports, repeated from an offline model's answers
(cassettes/offline_eval, authored: see its README): a server on 127.0.0.1 answers each request datagen
sends from the file named by the request's hash, and the test checks the README's table row for each
prompt set against the run."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from datagen.nl.client import OpenAIClient
from datagen.nl.model_eval import load_eval_set, run_eval, summarise
from datagen.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = ROOT / "cassettes" / "offline_eval"
TODAY = date(2026, 12, 2)


def request_key(request: dict) -> str:
    basis = {k: request.get(k) for k in ("messages", "tools", "response_format")}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


class _Replay(BaseHTTPRequestHandler):
    folder: Path

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "offline-strong-model", "object": "model"}]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        key = request_key(request)
        path = self.folder / f"{key}.json"
        if not path.exists():
            self._send(400, {"error": {"message": f"no offline answer for {key}", "type": "invalid_request"}})
            return
        answer = json.loads(path.read_text(encoding="utf-8"))
        name = request["tool_choice"]["function"]["name"]
        call = {
            "id": f"call_{key}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(answer["arguments"])},
        }
        self._send(
            200,
            {
                "id": f"chatcmpl-{key}",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "tool_calls",
                        "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            },
        )

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


SCALE = 0.02  # small: the test generates and validates 60 datasets


@pytest.fixture(params=["prompts", "prompts_fresh", "prompts_unseen"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    handler = type("Replay", (_Replay,), {"folder": ANSWERS / request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield request.param, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def readme_row(name: str, summary: dict) -> str:
    n = summary["prompts"]
    first = round(summary["first_try_valid_rate"] * n)
    ready = round(summary["ready_rate"] * n)
    valid = round(summary["validated_rate"] * n)
    return (
        f"| `evals/{name}.yaml` | {n} | {first} ({first / n:.0%}) | {ready} ({ready / n:.0%}) | "
        f"{valid} ({valid / n:.0%}) | {summary['mean_repairs']:.2f} | {summary['mean_questions']:.2f} |"
    )


def test_the_readme_reports_the_offline_evaluation(served: tuple[str, str], tmp_path: Path) -> None:
    name, url = served
    settings = Settings(api_key="dummy", base_url=url, model="offline-strong-model", today=TODAY)
    prompts = load_eval_set(ROOT / "evals" / f"{name}.yaml")
    results = run_eval(
        prompts, lambda: OpenAIClient(settings), data_root=tmp_path, scale=SCALE, today=TODAY, turn_timeout=60
    )
    assert not any(r.simplified for r in results), "no requested behaviour dropped by the simplifier"
    # what the model got wrong first is reported for every refused first proposal, and only for those
    assert all(bool(r.first_problems) != r.first_try_valid for r in results if r.ready)
    row = readme_row(name, summarise(results))
    assert row in (ROOT / "README.md").read_text(encoding="utf-8"), row
