"""LLM providers behind one small interface: Gemini (google-genai) and the resilience around it.

Vanna 2's lesson: the model sits behind a tiny protocol, the SDK is imported only when a key is set, and
every failure mode has a named outcome. Here:

* every call has a timeout (the SDK's ``HttpOptions.timeout``, set per attempt);
* a turn may carry a deadline (a ``time.monotonic()`` value, ``ASSISTANT_DEADLINE_S`` from now): each attempt's
  timeout is the time left, a backoff that would end past it is not slept and no attempt starts after it, so a
  hanging service costs the user the deadline once, not three timeouts (:class:`DeadlineExceeded`);
* an HTTP 200 without text (no candidate, a blocked prompt, a candidate stopped by a safety filter) is a failure,
  :class:`EmptyReply`, not an empty answer; it is not retried and does not count against the breaker (the service
  answered);
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
    "DeadlineExceeded",
    "EmptyReply",
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
# An attempt needs at least this much of the deadline left to be worth starting.
MIN_ATTEMPT_S = 0.2
# Finish reasons that mean a filter stopped the answer: whatever text came is not the answer.
BLOCKED_FINISH = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"}
)


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


class DeadlineExceeded(ProviderError):
    """The turn's deadline passed before Gemini answered (or too little of it was left to start an attempt)."""


class EmptyReply(ProviderError):
    """Gemini answered HTTP 200 without an answer: no candidate, a blocked prompt or a filtered candidate."""


class LlmProvider(Protocol):
    """What the assistant needs from a model."""

    model: str

    def generate(
        self,
        parts: Sequence[str],
        *,
        system: str,
        history: Sequence[ChatTurn] = (),
        deadline: float | None = None,
    ) -> LlmReply: ...

    def generate_stream(
        self,
        parts: Sequence[str],
        *,
        system: str,
        history: Sequence[ChatTurn] = (),
        deadline: float | None = None,
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
        now: Callable[[], float] = time.monotonic,
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
        self._now = now  # the clock deadlines are read on (time.monotonic, as the callers compute them)
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

    def _request(self, parts: Sequence[str], system: str, history: Sequence[ChatTurn]) -> list[Any]:
        from google.genai import types

        contents = [types.Content(role=t.role, parts=[types.Part(text=t.text)]) for t in history if t.text]
        contents.append(types.Content(role="user", parts=[types.Part(text=p) for p in parts if p]))
        return contents

    def _config(self, system: str, timeout_s: float) -> Any:
        """The request's config, with this attempt's HTTP timeout (the SDK's per-request option, in ms)."""
        from google.genai import types

        return types.GenerateContentConfig(
            system_instruction=system,
            temperature=self.temperature,
            http_options=types.HttpOptions(timeout=max(1, int(timeout_s * 1000))),
        )

    def _time_left(self, deadline: float | None) -> float | None:
        """Seconds an attempt may take now: the timeout, cut to what is left of the deadline; None when too little
        is left to start one."""
        if deadline is None:
            return self.timeout_s
        left = deadline - self._now()
        if left < MIN_ATTEMPT_S:
            return None
        return min(self.timeout_s, left)

    def _classify(self, exc: BaseException, timeout_s: float | None = None) -> tuple[bool, str, int | None]:
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
                waited = self.timeout_s if timeout_s is None else timeout_s
                return True, f"Gemini did not answer within {waited:.3g} s ({name})", None
            return True, f"could not reach Gemini ({name})", None
        return False, f"Gemini call failed ({type(exc).__name__})", None

    def _call(self, fn: Callable[[float], Any], deadline: float | None) -> Any:
        """Run one SDK call (``fn(timeout_s)``) with retries/backoff, under the breaker, within the deadline."""
        timeout_s = self._time_left(deadline)
        if timeout_s is None:
            # Checked before the breaker: a call that never starts must not take the half-open probe.
            raise DeadlineExceeded("Gemini did not answer in time (no time was left for a call)")
        if not self.breaker.allow():
            raise ProviderUnavailable(
                f"Gemini is paused after repeated failures (circuit breaker open, retry in "
                f"{self.breaker.seconds_until_retry():.0f} s)"
            )
        attempt = 0
        while True:
            attempt += 1
            try:
                result = fn(timeout_s)
            except Exception as exc:
                retryable, reason, status = self._classify(exc, timeout_s)
                if status != 429:
                    self.breaker.record_failure()
                if not retryable or attempt >= self.max_attempts or self.breaker.state == "open":
                    if status == 429:
                        self.breaker.record_failure()
                    if retryable and self._time_left(deadline) is None:
                        raise DeadlineExceeded(_late(reason, attempt), status=status) from exc
                    raise ProviderError(reason, status=status) from exc
                pause = min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))
                if deadline is not None and self._now() + pause + MIN_ATTEMPT_S > deadline:
                    if status == 429:
                        self.breaker.record_failure()
                    raise DeadlineExceeded(_late(reason, attempt), status=status) from exc
                self._sleep(pause)
                left = self._time_left(deadline)
                if left is None:
                    raise DeadlineExceeded(_late(reason, attempt), status=status) from exc
                timeout_s = left
                if not self.breaker.allow():
                    raise ProviderUnavailable(reason + "; circuit breaker opened") from exc
                continue
            self.breaker.record_success()
            return result

    def generate(
        self,
        parts: Sequence[str],
        *,
        system: str,
        history: Sequence[ChatTurn] = (),
        deadline: float | None = None,
    ) -> LlmReply:
        """One answer; raises ProviderError (DeadlineExceeded, EmptyReply, ProviderUnavailable) instead of returning
        an empty one."""
        client = self._get_client()
        contents = self._request(parts, system, history)

        def once(timeout_s: float) -> Any:
            config = self._config(system, timeout_s)
            return client.models.generate_content(model=self.model, contents=contents, config=config)

        response = self._call(once, deadline)
        reply = _reply_of(response, self.model)
        problem = _empty_reason(response, reply.text)
        if problem:
            raise EmptyReply(problem)
        return reply

    def generate_stream(
        self,
        parts: Sequence[str],
        *,
        system: str,
        history: Sequence[ChatTurn] = (),
        deadline: float | None = None,
    ) -> Iterator[LlmChunk]:
        """Chunks as they arrive. Retries cover only the start (until the first chunk): a stream that breaks
        half-way raises ProviderError, since the caller has already shown part of it. The deadline covers the whole
        stream: each read waits at most the time left, and a stream still going past the deadline is cut."""
        client = self._get_client()
        contents = self._request(parts, system, history)

        def start(timeout_s: float) -> tuple[Any, Any]:
            config = self._config(system, timeout_s)
            stream = client.models.generate_content_stream(model=self.model, contents=contents, config=config)
            iterator = iter(stream)
            first = next(iterator, None)
            return iterator, first

        iterator, first = self._call(start, deadline)
        texts: list[str] = []
        usage_in = usage_out = 0
        model = self.model
        chunk = first
        last = first
        problem: str | None = None
        try:
            while chunk is not None:
                text = _text_of(chunk)
                meta = getattr(chunk, "usage_metadata", None)
                if meta is not None:
                    usage_in = int(getattr(meta, "prompt_token_count", 0) or 0) or usage_in
                    usage_out = int(getattr(meta, "candidates_token_count", 0) or 0) or usage_out
                model = getattr(chunk, "model_version", None) or model
                problem = _blocked_reason(chunk) or problem
                if text:
                    texts.append(text)
                    yield LlmChunk(text)
                if deadline is not None and self._now() > deadline:
                    raise DeadlineExceeded("Gemini did not answer in time (the answer was cut off at the deadline)")
                last = chunk
                chunk = next(iterator, None)
        except ProviderError:
            raise
        except Exception as exc:
            retryable, reason, status = self._classify(exc)
            self.breaker.record_failure()
            if retryable and self._time_left(deadline) is None:
                raise DeadlineExceeded(_late(reason, 1) + " (the answer was cut off)", status=status) from exc
            raise ProviderError(reason + " (the answer was cut off)", status=status) from exc
        full = "".join(texts)
        if not full.strip():
            problem = problem or _empty_reason(last, full) or "Gemini gave no answer: the reply had no text"
        if problem:
            raise EmptyReply(problem)
        yield LlmChunk("", LlmReply(full, usage_in, usage_out, model))


def _late(reason: str, attempts: int) -> str:
    """The reason of a DeadlineExceeded: said first, the last failure after it."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return f"Gemini did not answer in time ({tries}; last: {reason})"


def _name(value: Any) -> str:
    """An enum's name as Gemini spells it (BlockedReason.SAFETY -> SAFETY), or the string itself."""
    raw = getattr(value, "value", value)
    return str(raw or "")


def _blocked_reason(response: Any) -> str | None:
    """Why a response (or a stream chunk) carries no usable answer: a blocked prompt or a filtered candidate."""
    feedback = getattr(response, "prompt_feedback", None)
    block = _name(getattr(feedback, "block_reason", None))
    if block and block != "BLOCKED_REASON_UNSPECIFIED":
        return f"Gemini gave no answer: the request was blocked ({block})"
    candidates = getattr(response, "candidates", None) or []
    if candidates:
        finish = _name(getattr(candidates[0], "finish_reason", None))
        if finish in BLOCKED_FINISH:
            return f"Gemini gave no answer: the answer was blocked (finish reason {finish})"
    return None


def _empty_reason(response: Any, text: str) -> str | None:
    """None when the response holds an answer; else a reason safe to show."""
    blocked = _blocked_reason(response)
    if blocked:
        return blocked
    candidates = getattr(response, "candidates", None) or []
    if not candidates:
        return "Gemini gave no answer: no candidate in the reply"
    if not text.strip():
        finish = _name(getattr(candidates[0], "finish_reason", None))
        return "Gemini gave no answer: the reply had no text" + (f" (finish reason {finish})" if finish else "")
    return None


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
