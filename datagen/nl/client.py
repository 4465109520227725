"""The seam between the conversation and a language model: one call, `complete(messages, model)`.

`Conversation` only knows the `LLM` protocol, so a UI or a test can inject anything that answers it.
`OpenAIClient` is the real one: `openai.OpenAI` (any OpenAI-compatible endpoint) wrapped by
`instructor.from_openai`. It makes exactly one HTTP request per call — the openai client's own retries
and instructor's re-asks are off — because the conversation counts requests against a per-turn budget
and does its own re-asks with better feedback (the DSL checker's messages)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from datagen.errors import LLMError
from datagen.nl.settings import LLMSettings

M = TypeVar("M", bound=BaseModel)
Message = dict[str, str]
# instructor logs every failed attempt at ERROR; we report them as events, so without an application
# logging setup they should not also appear on stderr (a NullHandler stops Python's last-resort printer).
logging.getLogger("instructor").addHandler(logging.NullHandler())


@dataclass
class Usage:
    """Requests sent and tokens the endpoint reported for them."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "total_tokens": self.total_tokens}


class LLM(Protocol):
    """Anything that turns a chat into one validated reply. Raise `TransientError` for failures worth
    retrying, `UnreadableReply` when the reply does not fit `response_model`, `Refusal` when the model
    declines, and `LLMError` for everything that needs the person to change something."""

    def complete(self, messages: list[Message], response_model: type[M]) -> tuple[M, Usage]: ...


class TransientError(LLMError):
    """429, 5xx, a timeout or a dropped connection: worth another try after a pause."""

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class UnreadableReply(LLMError):
    """The reply is not valid JSON or does not fit the turn model; `problems` says why (for the re-ask)
    and `raw` is what the model sent (so it can see its own mistake)."""

    def __init__(self, problems: str, *, raw: str, usage: Usage) -> None:
        super().__init__(f"the model's reply could not be read: {problems}")
        self.problems = problems
        self.raw = raw
        self.usage = usage


class Refusal(LLMError):
    """The model declined to answer (a safety refusal or a content filter)."""

    def __init__(self, reason: str, *, usage: Usage) -> None:
        super().__init__(f"the model declined: {reason}")
        self.reason = reason
        self.usage = usage


def describe_validation(exc: BaseException) -> str:
    """Pydantic errors as `- where: what` lines, without the input echo and documentation links."""
    if isinstance(exc, PydanticValidationError):
        lines = []
        for e in exc.errors(include_url=False, include_input=False)[:12]:
            where = ".".join(str(p) for p in e["loc"]) or "(reply)"
            lines.append(f"- {where}: {e['msg']}")
        return "\n".join(lines)
    return f"- {str(exc).strip() or type(exc).__name__}"


def _usage_of(response: Any) -> Usage:
    usage = getattr(response, "usage", None)
    return Usage(
        1, int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)
    )


def _message_of(response: Any) -> Any:
    choices = getattr(response, "choices", None) or []
    return choices[0].message if choices else None


def _raw_text(response: Any) -> str:
    message = _message_of(response)
    if message is None:
        return ""
    for call in getattr(message, "tool_calls", None) or []:
        return call.function.arguments or ""
    return message.content or ""


def _refusal_of(response: Any) -> str | None:
    message = _message_of(response)
    if message is not None and getattr(message, "refusal", None):
        return str(message.refusal)
    choices = getattr(response, "choices", None) or []
    if choices and choices[0].finish_reason == "content_filter":
        return "the endpoint's content filter stopped the reply"
    return None


def _retry_after(exc: Any) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(headers[name]) * scale
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", "") or exc)


class OpenAIClient:
    """The real endpoint. `http_client` is for tests and proxies (an `httpx2.Client`)."""

    def __init__(self, settings: LLMSettings, *, http_client: Any = None) -> None:
        import instructor
        import openai

        self.settings = settings
        self._openai = openai.OpenAI(
            api_key=settings.api_key or "not-needed",  # local servers ignore it; the client needs one
            base_url=settings.base_url,
            max_retries=0,
            timeout=settings.timeout,
            http_client=http_client,
        )
        self._client = instructor.from_openai(self._openai, mode=instructor.Mode[settings.mode])

    def complete(self, messages: list[Message], response_model: type[M]) -> tuple[M, Usage]:
        from instructor.core import IncompleteOutputException, InstructorRetryException
        from instructor.core.hooks import Hooks

        responses: list[Any] = []
        hooks = Hooks()
        hooks.on("completion:response", responses.append)
        try:
            parsed = self._client.chat.completions.create(
                model=self.settings.model,
                messages=messages,
                response_model=response_model,
                max_retries=0,  # one attempt: the conversation re-asks and counts every request
                hooks=hooks,
            )
        except IncompleteOutputException:
            last = responses[-1] if responses else None
            raise UnreadableReply(
                "- (reply): the reply was cut off before it ended (the model hit its output limit); "
                "make the schema shorter",
                raw=_raw_text(last),
                usage=_usage_of(last),
            ) from None
        except InstructorRetryException as exc:
            raise self._translate(exc.__cause__ or exc, responses[-1] if responses else None) from None
        return parsed, _usage_of(responses[-1] if responses else None)

    def _translate(self, cause: BaseException, response: Any) -> LLMError:
        import openai

        if response is not None:
            usage = _usage_of(response)
            if refusal := _refusal_of(response):
                return Refusal(refusal, usage=usage)
            if isinstance(cause, AssertionError):
                return Refusal(str(cause).split("due to", 1)[-1].strip(), usage=usage)
            return UnreadableReply(describe_validation(cause), raw=_raw_text(response), usage=usage)
        where = self.settings.endpoint
        if isinstance(cause, openai.APITimeoutError):
            return TransientError(
                f"the endpoint did not answer within {self.settings.timeout:g} s", kind="timeout"
            )
        if isinstance(cause, openai.APIConnectionError):
            return TransientError(f"could not connect to {where}", kind="connection")
        if isinstance(cause, openai.RateLimitError):
            detail = _server_message(cause)
            if "quota" in detail.lower():
                return LLMError(f"the endpoint says the account has no quota left: {detail}")
            return TransientError(
                "rate limited by the endpoint (429)", kind="rate_limit", retry_after=_retry_after(cause)
            )
        if isinstance(cause, openai.APIStatusError):
            return self._status_error(cause, where)
        if isinstance(cause, json.JSONDecodeError | PydanticValidationError):
            return UnreadableReply(describe_validation(cause), raw="", usage=Usage(1))
        return LLMError(f"the request to {where} failed: {type(cause).__name__}: {cause}")

    def _status_error(self, cause: Any, where: str) -> LLMError:
        status = cause.status_code
        if status >= 500:
            return TransientError(
                f"the endpoint had a server error ({status})", kind="server", retry_after=_retry_after(cause)
            )
        if status in (401, 403):
            return LLMError(
                f"{where} refused the credentials ({status})",
                hint="check OPENAI_API_KEY (and that the key may use this model)",
            )
        if status == 404:
            return LLMError(
                f"model '{self.settings.model}' was not found at {where} (404)",
                hint="set DATAGEN_MODEL (or --model) to a model the endpoint serves",
            )
        return LLMError(
            f"{where} rejected the request ({status}): {_server_message(cause)}",
            hint="if it is about tools or response_format, set DATAGEN_LLM_MODE to another mode "
            "(TOOLS, JSON_SCHEMA, JSON)",
        )
