"""LLM providers behind one small interface: Gemini (google-genai) and the resilience around it.

Vanna 2's lesson: the model sits behind a tiny protocol, the SDK is imported only when a key is set, and
every failure mode has a named outcome. Here:

* every call has a timeout (the SDK's ``HttpOptions.timeout``);
* 429 and 5xx answers and transport failures (connect errors, timeouts: the SDK does not wrap those, they
  are the transport's own exceptions) are retried with exponential backoff;
* a circuit breaker counts failures: 3 within 60 s open it for 60 s, during which callers get
  :class:`ProviderUnavailable` immediately (the assistant answers offline, and says so); then one probe
  call is let through (half-open) and its outcome closes or re-opens the breaker.

The clock and the sleep are injectable so tests drive the breaker's cool-down without waiting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from dba_admin.assistant.offline import OfflineAnswer, OfflineProvider

__all__ = [
    "BreakerState",
    "ChatTurn",
    "CircuitBreaker",
    "GeminiProvider",
    "LlmChunk",
    "LlmProvider",
    "LlmReply",
    "OfflineAnswer",
    "OfflineProvider",
    "ProviderError",
    "ProviderUnavailable",
]

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ChatTurn:
    """One earlier message of the conversation; role is "user" or "model" (Gemini's names)."""

    role: Literal["user", "model"]
    text: str


@dataclass(frozen=True)
class LlmReply:
    text: str
    input_tokens: int
    output_tokens: int
    model: str


@dataclass(frozen=True)
class LlmChunk:
    """A piece of a streamed reply; the last chunk has ``reply`` set (full text and token counts)."""

    text: str
    reply: LlmReply | None = None


class ProviderError(Exception):
    """A call failed after its retries; ``reason`` is safe to show (no keys, no URLs with secrets)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)


class ProviderUnavailable(ProviderError):
    """The circuit breaker is open: no call was made."""


class LlmProvider(Protocol):
    """What the assistant needs from a model."""

    model: str

    def generate(self, parts: Sequence[str], *, system: str, history: Sequence[ChatTurn] = ()) -> LlmReply: ...

    def generate_stream(
        self, parts: Sequence[str], *, system: str, history: Sequence[ChatTurn] = ()
    ) -> Iterator[LlmChunk]: ...


# --------------------------------------------------------------------------------------------------
# Circuit breaker
# --------------------------------------------------------------------------------------------------

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """3 failures within ``window_s`` open the breaker for ``open_s``; then one probe decides."""

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        window_s: float = 60.0,
        open_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.window_s = window_s
        self.open_s = open_s
        self._clock = clock
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.open_s:
            return "half_open"
        return "open"

    def seconds_until_retry(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.open_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        with self._lock:
            state = self._state_locked()
            if state == "closed":
                return True
            if state == "open":
                return False
            if self._probing:
                return False
            self._probing = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._failures.clear()
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            now = self._clock()
            if self._opened_at is not None:
                # A failed probe (or a straggler of the calls in flight when it opened): open again.
                self._opened_at = now
                self._probing = False
                return
            self._failures.append(now)
            while self._failures and now - self._failures[0] > self.window_s:
                self._failures.popleft()
            if len(self._failures) >= self.failure_threshold:
                self._opened_at = now
                self._failures.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"state": self.state, "retry_in_s": round(self.seconds_until_retry(), 1)}


# --------------------------------------------------------------------------------------------------
# Gemini
# --------------------------------------------------------------------------------------------------


def _transient_transport_errors() -> tuple[type[BaseException], ...]:
    """Connect errors and timeouts of the transports the SDK may use (httpx2 today, httpx before)."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        for attr in ("TimeoutException", "ConnectError", "RemoteProtocolError", "ReadError", "WriteError"):
            exc_type = getattr(module, attr, None)
            if isinstance(exc_type, type) and issubclass(exc_type, BaseException):
                found.append(exc_type)
    return tuple(found)


class GeminiProvider:
    """Gemini through the current ``google-genai`` SDK (imported here, lazily, only when used)."""

    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        base_url: str | None = None,
        api_version: str | None = "v1beta",
        timeout_s: float = 30.0,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        temperature: float = 0.1,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("GeminiProvider needs an API key (GEMINI_API_KEY)")
        self.model = model
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.temperature = temperature
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        self._api_key = api_key
        self._base_url = base_url
        self._api_version = api_version
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._transport_errors: tuple[type[BaseException], ...] | None = None

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from google import genai
                from google.genai import types

                options = types.HttpOptions(
                    timeout=int(self.timeout_s * 1000),
                    base_url=self._base_url,
                    api_version=self._api_version,
                )
                self._client = genai.Client(api_key=self._api_key, http_options=options)
                self._transport_errors = _transient_transport_errors()
            return self._client

    def _request(self, parts: Sequence[str], system: str, history: Sequence[ChatTurn]) -> tuple[Any, Any]:
        from google.genai import types

        contents = [types.Content(role=t.role, parts=[types.Part(text=t.text)]) for t in history if t.text]
        contents.append(types.Content(role="user", parts=[types.Part(text=p) for p in parts if p]))
        config = types.GenerateContentConfig(system_instruction=system, temperature=self.temperature)
        return contents, config

    def _classify(self, exc: BaseException) -> tuple[bool, str, int | None]:
        """(retryable, safe reason, HTTP status) for an exception raised by a call."""
        from google.genai import errors as genai_errors

        if isinstance(exc, genai_errors.APIError):
            code = int(exc.code) if exc.code is not None else None
            status = exc.status or ""
            reason = f"Gemini answered HTTP {code} {status}".strip()
            return (code in RETRY_STATUS if code is not None else False), reason, code
        transport = self._transport_errors or ()
        if transport and isinstance(exc, transport):
            name = type(exc).__name__
            if "Timeout" in name:
                return True, f"Gemini did not answer within {self.timeout_s:g} s ({name})", None
            return True, f"could not reach Gemini ({name})", None
        return False, f"Gemini call failed ({type(exc).__name__})", None

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one SDK call with retries/backoff, under the breaker."""
        if not self.breaker.allow():
            raise ProviderUnavailable(
                f"Gemini is paused after repeated failures (circuit breaker open, retry in "
                f"{self.breaker.seconds_until_retry():.0f} s)"
            )
        attempt = 0
        while True:
            attempt += 1
            try:
                result = fn()
            except Exception as exc:
                retryable, reason, status = self._classify(exc)
                if status != 429:
                    self.breaker.record_failure()
                if not retryable or attempt >= self.max_attempts or self.breaker.state == "open":
                    if status == 429:
                        self.breaker.record_failure()
                    raise ProviderError(reason, status=status) from exc
                self._sleep(min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1))))
                if not self.breaker.allow():
                    raise ProviderUnavailable(reason + "; circuit breaker opened") from exc
                continue
            self.breaker.record_success()
            return result

    def generate(self, parts: Sequence[str], *, system: str, history: Sequence[ChatTurn] = ()) -> LlmReply:
        client = self._get_client()
        contents, config = self._request(parts, system, history)

        def once() -> Any:
            return client.models.generate_content(model=self.model, contents=contents, config=config)

        response = self._call(once)
        return _reply_of(response, self.model)

    def generate_stream(
        self, parts: Sequence[str], *, system: str, history: Sequence[ChatTurn] = ()
    ) -> Iterator[LlmChunk]:
        """Chunks as they arrive. Retries cover only the start (until the first chunk): a stream that breaks
        half-way raises ProviderError, since the caller has already shown part of it."""
        client = self._get_client()
        contents, config = self._request(parts, system, history)

        def start() -> tuple[Any, Any]:
            stream = client.models.generate_content_stream(model=self.model, contents=contents, config=config)
            iterator = iter(stream)
            first = next(iterator, None)
            return iterator, first

        iterator, first = self._call(start)
        texts: list[str] = []
        usage_in = usage_out = 0
        model = self.model
        chunk = first
        try:
            while chunk is not None:
                text = _text_of(chunk)
                meta = getattr(chunk, "usage_metadata", None)
                if meta is not None:
                    usage_in = int(getattr(meta, "prompt_token_count", 0) or 0) or usage_in
                    usage_out = int(getattr(meta, "candidates_token_count", 0) or 0) or usage_out
                model = getattr(chunk, "model_version", None) or model
                if text:
                    texts.append(text)
                    yield LlmChunk(text)
                chunk = next(iterator, None)
        except Exception as exc:
            _retryable, reason, status = self._classify(exc)
            self.breaker.record_failure()
            raise ProviderError(reason + " (the answer was cut off)", status=status) from exc
        yield LlmChunk("", LlmReply("".join(texts), usage_in, usage_out, model))


def _text_of(response: Any) -> str:
    """The text parts of a response, without the SDK's warning about non-text parts."""
    out: list[str] = []
    for candidate in getattr(response, "candidates", None) or []:
        content = getattr(candidate, "content", None)
        for part in getattr(content, "parts", None) or []:
            text = getattr(part, "text", None)
            if text and not getattr(part, "thought", False):
                out.append(text)
        break  # the first candidate is the answer
    return "".join(out)


def _reply_of(response: Any, model: str) -> LlmReply:
    meta = getattr(response, "usage_metadata", None)
    return LlmReply(
        text=_text_of(response),
        input_tokens=int(getattr(meta, "prompt_token_count", 0) or 0),
        output_tokens=int(getattr(meta, "candidates_token_count", 0) or 0),
        model=getattr(response, "model_version", None) or model,
    )
