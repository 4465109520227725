"""Secrets out of everything the tool writes: terminal, error messages, schema, conversation and
session files, log records, test cassettes.

Two kinds of secret are removed. The configured ones, remembered by value when the settings are read
(the API key, a password or token written into the base URL): every occurrence, wherever a server or
a model echoes it. And anything that looks like a credential whoever it belongs to: `sk-…` keys,
bearer tokens, the user-info of a URL (`https://user:pass@host`), secret-named query parameters
(`?key=…`, `api_key=…`, `token=…`). Each becomes `<redacted>`, which keeps JSON valid."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REDACTED = "<redacted>"
# Shorter values are not treated as secrets by value: a local server's placeholder key such as
# "ollama" would otherwise blank that word out of every message. Patterns still catch real keys.
MIN_SECRET_LENGTH = 8
SECRET_PARAMS = (
    "key",
    "api_key",
    "apikey",
    "api-key",
    "token",
    "access_token",
    "auth",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "sig",
    "signature",
)
_PATTERNS = (
    # sk-…, sk-proj-…, sk-ant-… keys: long, with a digit (so "task-force" or a product code such as
    # "sk-large-blue-widget" in a model's schema is left alone)
    (re.compile(r"\bsk-(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"), rf"\g<1>{REDACTED}"),
    # user-info in a URL: scheme://user[:password]@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@?#]+@"), rf"\g<1>{REDACTED}@"),
    # secret-looking query (or form) parameters
    (
        re.compile(r"(?i)([?&;](?:" + "|".join(re.escape(p) for p in SECRET_PARAMS) + r")=)[^&#\s\"'<>]+"),
        rf"\g<1>{REDACTED}",
    ),
)
_known: set[str] = set()
_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Redact this exact value from now on (the configured API key, a password in the base URL)."""
    if value and len(value.strip()) >= MIN_SECRET_LENGTH:
        with _lock:
            _known.add(value.strip())


def remember_url_secrets(url: str | None) -> None:
    """The user name, password and secret-named query values of a URL, each remembered by value (a
    token is often written as the user name alone: `https://TOKEN@host`)."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    remember_secret(parts.password)
    remember_secret(parts.username)
    for name, value in parse_qsl(parts.query):
        if name.lower() in SECRET_PARAMS:
            remember_secret(value)


def redact(text: str) -> str:
    """`text` without any remembered secret or credential-looking token."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # longest first: one secret may contain another
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string — keys too — redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def _redacting_record_factory(make: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call is the logging module's problem, not ours
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    return factory


def redact_logs() -> None:
    """Every log record made in this process (ours or a library's: openai logs request URLs) is
    redacted as it is created, whatever handler writes it later. Idempotent."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting_record_factory(current))
