"""Every TUI test runs isolated from the machine: sessions, data and exports in tmp_path, no LLM
credentials from the environment, no blinking cursor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datagen.settings import Settings

SHOP: dict[str, Any] = {
    "version": "1.0",
    "metadata": {"name": "tiny_shop", "description": "Customers and their orders; weekends are busier."},
    "timeframe": {"start": "2024-01-01T00:00:00Z", "end": "2024-12-30T00:00:00Z", "freq": "h"},
    "nodes": [
        {
            "id": "customers",
            "kind": "entity",
            "pk": "customer_id",
            "rows": 200,
            "columns": [
                {"name": "customer_id", "type": "int", "generator": {"sequence": {"start": 1}}},
                {
                    "name": "segment",
                    "type": "string",
                    "generator": {"choice": {"choices": ["vip", "regular"], "weights": [0.2, 0.8]}},
                },
            ],
        },
        {
            "id": "orders",
            "kind": "fact",
            "pk": "order_id",
            "parents": ["customers"],
            "fanout": {"distribution": "poisson", "lambda": 3},
            "columns": [
                {"name": "order_id", "type": "int", "generator": {"sequence": {"start": 1}}},
                {
                    "name": "customer_id",
                    "type": "int",
                    "generator": {"lookup": {"from": "customers.customer_id"}},
                },
                {
                    "name": "ordered_at",
                    "type": "datetime",
                    "generator": {
                        "datetime_series": {
                            "within": "timeframe",
                            "freq": "h",
                            "pattern": {"dimension": "dow", "weights": [1, 1, 1, 1, 1, 2, 2]},
                        }
                    },
                },
                {
                    "name": "amount",
                    "type": "float",
                    "generator": {"distribution": {"type": "uniform", "params": {"low": 5, "high": 50}}},
                },
            ],
        },
    ],
    "constraints": {"ranges": [{"attr": "orders.amount", "min": 5, "max": 50}]},
}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "DATAGEN_MODEL",
        "DATAGEN_LLM_MODE",
        "DATAGEN_LLM_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAGEN_TUI_SESSIONS_DIR", str(tmp_path / "sessions"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        sessions_dir=tmp_path / "sessions",
        data_dir=tmp_path / "data",
        export_dir=tmp_path / "export",
        save_dir=tmp_path / "home",
        cursor_blink=False,
    )


@pytest.fixture
def shop_file(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "tiny_shop.json"
    path.write_text(json.dumps(SHOP, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests are coroutines; anyio's pytest plugin runs them on asyncio."""
    return "asyncio"


def pytest_recording_configure(config: Any, vcr: Any) -> None:
    """The end-to-end tests replay the LLM layer's cassettes, matched as the LLM tests match them."""
    from tests.nl.recording import chat_endpoint

    vcr.register_matcher("chat_endpoint", chat_endpoint)


@pytest.fixture(autouse=True)
def _errors_fail_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in the app is a test failure, not a chat message (the safety net is tested by itself)."""
    from tui.app import DatagenApp

    monkeypatch.setattr(DatagenApp, "reraise_unexpected", True)
