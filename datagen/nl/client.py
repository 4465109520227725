"""The seam between the conversation and a language model: one call, `complete(messages, model)`.

`Conversation` only knows the `LLM` protocol, so a UI or a test can inject anything that answers it.
`OpenAIClient` is the real one: `openai.OpenAI` (any OpenAI-compatible endpoint) wrapped by
`instructor.from_openai`. It makes exactly one HTTP request per call — the openai client's own retries
and instructor's re-asks are off — because the conversation counts requests against a per-turn budget
and does its own re-asks with better feedback (the DSL checker's messages).

Each call ends within its `timeout` of wall-clock time, whatever the server does: httpx's timeouts only
bound each read, so a server trickling one byte a second (or stalling inside the headers) would hold
a call for ever. The request runs in a daemon thread that is waited for until the deadline; the reply
body is read against the same deadline and capped in size, so an abandoned request ends soon too."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

import httpx2
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from datagen.errors import LLMError
from datagen.redact import redact, redact_logs
from datagen.settings import Settings

M = TypeVar("M", bound=BaseModel)
Message = dict[str, str]
OnPartial = Callable[[dict[str, Any]], None]  # the reply's JSON so far, parsed as far as it goes
MAX_REPLY_BYTES = 4_000_000  # a schema reply is tens of kilobytes; anything near this is not one
CONNECT_TIMEOUT = 15.0  # seconds to reach the server (an unreachable host fails fast, then is retried)
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
    """Anything that turns a chat into one validated reply, within `timeout` seconds. Raise
    `TransientError` for failures worth retrying (a timeout too), `UnreadableReply` when the reply does
    not fit `response_model`, `Refusal` when the model declines, and `LLMError` for everything that
    needs the person to change something. A client that can stream also takes `on_partial` (see
    `OpenAIClient.complete`); the conversation passes it only when its own `on_partial` is set."""

    def complete(
        self, messages: list[Message], response_model: type[M], *, timeout: float
    ) -> tuple[M, Usage]: ...


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
        self.problems = redact(problems)
        self.raw = redact(raw)
        self.usage = usage


class Refusal(LLMError):
    """The model declined to answer (a safety refusal or a content filter)."""

    def __init__(self, reason: str, *, usage: Usage) -> None:
        super().__init__(f"the model declined: {reason}")
        self.reason = redact(reason)
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


def _one_line(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _server_message(exc: Any) -> str:
    """What the server said about an error, on one line (redacted: servers quote the key back)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return redact(_one_line(str(inner["message"]), 300))
    return redact(_one_line(str(getattr(exc, "message", "") or exc), 300))


def _is_error_page(exc: Any) -> bool:
    response = getattr(exc, "response", None)
    kind = str(getattr(response, "headers", {}).get("content-type", "")).lower()
    body = getattr(exc, "body", None)
    return "html" in kind or (isinstance(body, str) and body.lstrip().startswith("<"))


def _is_completion(response: Any) -> bool:
    choices = getattr(response, "choices", None)
    return isinstance(choices, list) and bool(choices)


def _not_a_completion(response: Any) -> str:
    """What came back instead of a chat completion, in a few words."""
    if isinstance(response, str):
        what = "an HTML page" if response.lstrip().startswith("<") else "text"
        return f"{what}: '{redact(_one_line(response, 80))}'" if response.strip() else "an empty body"
    return "JSON without 'choices'"


class ReplyTooLarge(Exception):
    """The body went past MAX_REPLY_BYTES (raised while reading, so nothing more is read)."""


_deadline: ContextVar[float | None] = ContextVar("datagen_request_deadline", default=None)


class _BoundedBody(httpx2.SyncByteStream):
    """A response body read against the request's deadline and at most MAX_REPLY_BYTES long."""

    def __init__(self, stream: Any, deadline: float | None) -> None:
        self._stream = stream
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self._stream:
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise ReplyTooLarge(size)
            if self._deadline is not None and time.monotonic() > self._deadline:
                raise httpx2.ReadTimeout("the reply did not end before the deadline")
            yield chunk

    def close(self) -> None:
        self._stream.close()


def _bound_body(response: Any) -> None:
    """httpx response hook (before the body is read): refuse a declared oversized body at once, and
    read any other against the deadline and the size cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise ReplyTooLarge(int(declared))
    response.stream = _BoundedBody(response.stream, _deadline.get())


MAX_LISTED_MODELS = 20  # names an error lists before saying how many more there are


def _openai_client(settings: Settings, http_client: Any) -> Any:
    import openai

    if http_client is None:
        http_client = openai.DefaultHttpxClient()
    hooks = http_client.event_hooks.get("response", [])
    if _bound_body not in hooks:
        http_client.event_hooks = {**http_client.event_hooks, "response": [*hooks, _bound_body]}
    return openai.OpenAI(
        api_key=settings.key or "not-needed",  # local servers ignore it; the client needs one
        base_url=settings.base_url,
        max_retries=0,
        timeout=settings.llm_timeout,
        http_client=http_client,
        # replies are small JSON; uncompressed, the size cap is a cap on what is held in memory
        default_headers={"Accept-Encoding": "identity"},
    )


def _served_models(api: Any, settings: Settings) -> list[str]:
    """The ids `GET /models` lists (redacted, one line each); LLMError when the server cannot say."""
    where = settings.endpoint
    hint = "set DATAGEN_MODEL (or --model) to a model that server has, e.g. llama3.1"
    try:
        page = api.models.list(timeout=min(CONNECT_TIMEOUT, settings.llm_timeout))
        names = [str(getattr(m, "id", "") or "") for m in getattr(page, "data", None) or []]
    except Exception as exc:  # any failure means the same: the server cannot name its model for us
        status = getattr(exc, "status_code", None)
        why = f"it answered {status}" if status else f"{type(exc).__name__}"
        raise LLMError(
            f"OPENAI_BASE_URL is set ({where}) but no model is named, and {where}/models could not "
            f"be read to find one ({why})",
            hint=hint,
        ) from None
    return [redact(_one_line(n, 120)) for n in names if n.strip()]


def resolve_model(settings: Settings, *, http_client: Any = None, api: Any = None) -> Settings:
    """The settings with a model named: as given, OpenAI's default, or — for another server with none
    named — the one model that server lists at `/models`. Several models are listed in the error, so
    the person can pick one."""
    settings = settings.require_llm()
    if settings.model is not None or not settings.needs_model_name:
        return settings
    names = _served_models(api or _openai_client(settings, http_client), settings)
    if len(names) == 1:
        return settings.model_copy(update={"model": names[0]})
    where = settings.endpoint
    if not names:
        raise LLMError(
            f"OPENAI_BASE_URL is set ({where}) but no model is named, and the server lists no models",
            hint="load a model into the server, or set DATAGEN_MODEL (or --model)",
        )
    shown = ", ".join(names[:MAX_LISTED_MODELS])
    more = f" and {len(names) - MAX_LISTED_MODELS} more" if len(names) > MAX_LISTED_MODELS else ""
    raise LLMError(
        f"OPENAI_BASE_URL is set ({where}) but no model is named, and the server has {len(names)}: "
        f"{shown}{more}",
        hint="set DATAGEN_MODEL (or --model) to one of them",
    )


_VALUE_ENDS = ("}", "]", ",")  # a piece holding one of these may have finished a value


def _parse_partial(text: str) -> dict[str, Any] | None:
    """The JSON object written so far, with its unfinished tail left out or cut short."""
    from jiter import from_json

    try:
        value = from_json(text.encode(), partial_mode="trailing-strings")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _StreamSeen:
    """What the chunks of a stream said besides the reply's JSON: usage, finish reason, a refusal."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.refusal = ""

    def watch(self, chunks: Iterable[Any]) -> Iterator[Any]:
        for chunk in chunks:
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                self.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
                self.completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            for choice in getattr(chunk, "choices", None) or []:
                self.finish_reason = choice.finish_reason or self.finish_reason
                self.refusal += getattr(choice.delta, "refusal", None) or ""
            yield chunk


class OpenAIClient:
    """The real endpoint. `http_client` is for tests and proxies (an `httpx2.Client`). Without a model
    named, a server's only model is used (`resolve_model`)."""

    def __init__(self, settings: Settings, *, http_client: Any = None) -> None:
        import instructor

        redact_logs()  # openai and instructor log request URLs and server errors, which may quote the key
        settings = settings.require_llm()
        self._openai = _openai_client(settings, http_client)  # the model is named per request
        self.settings = resolve_model(settings, api=self._openai)
        self._client = instructor.from_openai(self._openai, mode=instructor.Mode[self.settings.llm_mode])

    def complete(
        self,
        messages: list[Message],
        response_model: type[M],
        *,
        timeout: float | None = None,
        on_partial: OnPartial | None = None,
    ) -> tuple[M, Usage]:
        """One request, over within `timeout` seconds (default: the settings' turn limit). With
        `on_partial`, the reply is streamed and `on_partial` gets the JSON written so far (parsed as
        far as it goes) each time a value in it is complete; the result is the same either way."""
        budget = max(0.0, self.settings.llm_timeout if timeout is None else timeout)
        deadline = time.monotonic() + budget
        outcome: dict[str, Any] = {}

        def run() -> None:
            _deadline.set(deadline)  # this thread's context: what `_bound_body` reads
            try:
                if on_partial is None:
                    outcome["value"] = self._request(messages, response_model, budget)
                else:
                    outcome["value"] = self._stream(messages, response_model, budget, on_partial)
            except BaseException as exc:  # handed to the waiting thread as is
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="datagen-llm-request", daemon=True)
        thread.start()
        thread.join(budget)
        if thread.is_alive():  # left to end on its own: its reads stop at the same deadline
            raise self._timed_out(budget)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _timed_out(self, budget: float) -> TransientError:
        return TransientError(
            f"the model at {self.settings.endpoint} did not finish answering within {budget:.3g} s",
            kind="timeout",
        )

    def _request(self, messages: list[Message], response_model: type[M], budget: float) -> tuple[M, Usage]:
        from instructor.core import IncompleteOutputException, InstructorRetryException
        from instructor.core.hooks import Hooks

        responses: list[Any] = []
        hooks = Hooks()
        hooks.on("completion:response", responses.append)
        try:
            parsed = self._client.chat.completions.create(
                model=self.settings.chat_model,
                messages=messages,
                response_model=response_model,
                max_retries=0,  # one attempt: the conversation re-asks and counts every request
                hooks=hooks,
                timeout=httpx2.Timeout(budget, connect=min(CONNECT_TIMEOUT, budget)),
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
            raise self._translate(
                exc.__cause__ or exc, responses[-1] if responses else None, budget
            ) from None
        return parsed, _usage_of(responses[-1] if responses else None)

    def _stream(
        self, messages: list[Message], response_model: type[M], budget: float, on_partial: OnPartial
    ) -> tuple[M, Usage]:
        """One streamed request. The request is prepared by instructor's handler for the mode (the same
        tools / response_format as `_request` sends) and the JSON is pulled out of the chunks by that
        handler's stream extractor. instructor's own `create_partial` is not used: in 1.17 its sync
        path reads the whole stream before yielding, and `Partial[...]` cannot make our discriminated
        `Turn` union optional."""
        import instructor
        import openai
        from instructor.v2.core.providers import Provider
        from instructor.v2.core.registry import mode_registry

        handlers = mode_registry.get_handlers(Provider.OPENAI, instructor.Mode[self.settings.llm_mode])
        request = {"messages": messages, "model": self.settings.chat_model, "stream": True}
        _, request = handlers.request_handler(response_model=response_model, kwargs=request)
        seen = _StreamSeen()
        try:
            raw = self._openai.chat.completions.with_raw_response.create(
                **request,
                stream_options={"include_usage": True},
                timeout=httpx2.Timeout(budget, connect=min(CONNECT_TIMEOUT, budget)),
            )
            stream = self._chunks(raw)
            text = ""
            assert handlers.stream_extractor is not None
            for piece in handlers.stream_extractor(seen.watch(stream)):
                text += piece
                if any(mark in piece for mark in _VALUE_ENDS):
                    partial = _parse_partial(text)
                    if partial is not None:
                        on_partial(partial)
        except openai.OpenAIError as exc:
            raise self._translate(exc, None, budget) from None
        usage = Usage(1, seen.prompt_tokens, seen.completion_tokens)
        if seen.refusal or seen.finish_reason == "content_filter":
            raise Refusal(seen.refusal or "the endpoint's content filter stopped the reply", usage=usage)
        if seen.finish_reason == "length":
            raise UnreadableReply(
                "- (reply): the reply was cut off before it ended (the model hit its output limit); "
                "make the schema shorter",
                raw=text,
                usage=usage,
            )
        final = _parse_partial(text)
        if final is not None:
            on_partial(final)
        try:
            return response_model.model_validate_json(text or "{}"), usage
        except PydanticValidationError as exc:
            raise UnreadableReply(describe_validation(exc), raw=text, usage=usage) from None

    def _chunks(self, raw: Any) -> Iterable[Any]:
        """The stream's chunks; a server that ignores `stream` and sends one whole completion gives it
        as a single chunk (the same fields, as a delta), so both take the same road."""
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        if "text/event-stream" in raw.http_response.headers.get("content-type", ""):
            return raw.parse()
        body = raw.http_response.read()
        try:
            completion = ChatCompletion.model_validate_json(body)
        except PydanticValidationError:
            text = body.decode("utf-8", errors="replace")
            raise LLMError(
                f"{self.settings.endpoint} answered, but not with a chat completion "
                f"({_not_a_completion(text)})",
                hint="OPENAI_BASE_URL must be the root of an OpenAI-compatible API (it usually ends in /v1)",
            ) from None
        choices = []
        for choice in completion.choices:
            message = choice.message.model_dump(exclude_none=True)
            calls = [{**call, "index": i} for i, call in enumerate(message.pop("tool_calls", []))]
            delta = {**message, **({"tool_calls": calls} if calls else {})}
            choices.append({"index": choice.index, "delta": delta, "finish_reason": choice.finish_reason})
        chunk = {
            "id": completion.id,
            "object": "chat.completion.chunk",
            "created": completion.created,
            "model": completion.model,
            "choices": choices,
            "usage": completion.usage.model_dump() if completion.usage else None,
        }
        return [ChatCompletionChunk.model_validate(chunk)]

    def _translate(self, cause: BaseException, response: Any, budget: float) -> LLMError:
        import openai

        where = self.settings.endpoint
        if response is not None and not _is_completion(response):
            return LLMError(
                f"{where} answered, but not with a chat completion ({_not_a_completion(response)})",
                hint="OPENAI_BASE_URL must be the root of an OpenAI-compatible API (it usually ends in "
                "/v1), not a web page or another service",
            )
        if response is not None:
            usage = _usage_of(response)
            if refusal := _refusal_of(response):
                return Refusal(refusal, usage=usage)
            if isinstance(cause, AssertionError):
                return Refusal(str(cause).split("due to", 1)[-1].strip(), usage=usage)
            return UnreadableReply(describe_validation(cause), raw=_raw_text(response), usage=usage)
        if isinstance(cause, openai.APITimeoutError):
            return self._timed_out(budget)
        if isinstance(cause, openai.APIConnectionError):
            if isinstance(cause.__cause__, ReplyTooLarge):
                return LLMError(
                    f"{where} sent a reply of more than {MAX_REPLY_BYTES // 1_000_000} MB; a chat "
                    "completion is far smaller, so it was not read",
                    hint="check that OPENAI_BASE_URL points at an OpenAI-compatible API",
                )
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
            said = "an error page" if _is_error_page(cause) else f"'{_server_message(cause)}'"
            return TransientError(
                f"{where} is failing: it answered {status} with {said} (the server, or a proxy in "
                "front of it, is down or overloaded)",
                kind="server",
                retry_after=_retry_after(cause),
            )
        if status in (401, 403):
            return LLMError(
                f"{where} refused the credentials ({status})",
                hint="check OPENAI_API_KEY (and that the key may use this model)",
            )
        if status == 404:
            return LLMError(
                f"model '{self.settings.chat_model}' was not found at {where} (404)",
                hint="set DATAGEN_MODEL (or --model) to a model the endpoint serves",
            )
        return LLMError(
            f"{where} rejected the request ({status}): {_server_message(cause)}",
            hint="if it is about tools or response_format, set DATAGEN_LLM_MODE to another mode "
            "(TOOLS, JSON_SCHEMA, JSON)",
        )
