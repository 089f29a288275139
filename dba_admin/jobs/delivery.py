"""Alert messages out: a Slack-compatible webhook and SMTP e-mail, with bounded retries and a record of every try.

Why it looks like this:

* One attempt is one function per channel (:class:`Sender`); retrying and recording are one loop around it
  (:class:`Deliverer`), so both channels back off, give up and are recorded the same way.
* Every message gets a row in ``dba_admin.alert_deliveries`` before its first attempt, and each attempt updates it
  (attempt count, one entry in ``attempt_log``, HTTP status or SMTP reply, error): a delivery that crashed half-way
  still shows as tried.
* Secrets never reach that row, the audit trail or a log line: a webhook is recorded as ``scheme://host/…`` (Slack's
  token is the path), and every error text is scrubbed of the URL, its path and the SMTP password before it is kept.
* Only temporary failures are retried (no answer, a timeout, HTTP 5xx or 429, SMTP 4xx); a wrong URL (HTTP 404) or a
  refused login fails at once instead of three times.
* The standard library only (urllib, smtplib): no HTTP client is a dependency of the project.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from psycopg.types.json import Jsonb

from dba_admin.errors import one_line

if TYPE_CHECKING:
    from dba_admin.config import Settings
    from dba_admin.database import DatabaseManager

__all__ = [
    "EMAIL",
    "WEBHOOK",
    "Attempt",
    "Deliverer",
    "DeliveryResult",
    "Message",
    "Sender",
    "check_webhook_url",
    "parse_addresses",
    "redact_url",
    "scrub",
]

log = logging.getLogger(__name__)

WEBHOOK = "webhook"
EMAIL = "email"
CHANNELS = (WEBHOOK, EMAIL)
ALERT = "alert"
SUMMARY = "summary"
TEST = "test"

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF_S = 1.0  # before the 2nd attempt; doubled before each further one
DEFAULT_TIMEOUT_S = 10.0
MAX_SUMMARY_CHARS = 300
MAX_ERROR_CHARS = 500
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class Message:
    """What one alert says: a subject (e-mail) and a text (the webhook's ``text``, the e-mail's body)."""

    subject: str
    text: str

    @property
    def summary(self) -> str:
        """The first line, short: what the deliveries table keeps of the payload."""
        first = self.text.strip().splitlines()[0] if self.text.strip() else self.subject
        return first if len(first) <= MAX_SUMMARY_CHARS else first[: MAX_SUMMARY_CHARS - 1] + "…"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one try. ``retry``: a temporary failure, worth another try after a pause."""

    ok: bool
    retry: bool = False
    http_status: int | None = None
    smtp_reply: str | None = None
    error: str | None = None
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class DeliveryResult:
    """A message's fate after every attempt: sent or failed, and how it went (no secret in any field)."""

    id: int
    channel: str
    target: str
    status: str
    attempts: int
    http_status: int | None = None
    smtp_reply: str | None = None
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.status == "sent"


# ---------------------------------------------------------------------------------------------------
# Targets without secrets
# ---------------------------------------------------------------------------------------------------


def check_webhook_url(url: str) -> str:
    """The URL, stripped, if it can be posted to (http or https with a host); else ValueError naming the rule."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError("a webhook URL starts with https:// (or http://) and names a host")
    return url


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: the host stays (where it goes), the path, query and login go (they hold tokens)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "invalid URL"
    where = f"{parts.scheme or '?'}://{host}" + (f":{port}" if port else "")
    hidden = (parts.path not in ("", "/")) or parts.query or parts.fragment or parts.username
    return where + ("/…" if hidden else "")


def parse_addresses(value: str | Iterable[str]) -> tuple[str, ...]:
    """E-mail addresses from a comma-, semicolon- or space-separated text (or a list); ValueError on a bad one."""
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else list(value)
    found: list[str] = []
    for item in items:
        address = item.strip().lower()
        if not address:
            continue
        if not _ADDRESS.match(address):
            raise ValueError(f"{address!r} is not an e-mail address (name@example.com)")
        if address not in found:
            found.append(address)
    return tuple(found)


def _secret_forms(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote(secret)}
    return {form for form in forms if len(form) >= 4}


def scrub(text: str | None, secrets: Iterable[str | None]) -> str | None:
    """``text`` with every secret (as written and URL-encoded) replaced by ***, cut to one bounded line."""
    if text is None:
        return None
    for secret in secrets:
        if not secret:
            continue
        for form in sorted(_secret_forms(secret), key=len, reverse=True):
            text = text.replace(form, "***")
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def webhook_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that may hold a token: the whole URL, its path, query and password."""
    found = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    found += [parts.path, parts.query, parts.password or ""]
    # A path segment that looks like a token (long, or with digits): Slack's T…/B…/secret, a Teams or Discord key.
    found += [s for s in parts.path.split("/") if len(s) >= 20 or (len(s) >= 8 and any(c.isdigit() for c in s))]
    return [s for s in found if s and s != "/"]


# ---------------------------------------------------------------------------------------------------
# One attempt per channel
# ---------------------------------------------------------------------------------------------------


def _smtp_reply(code: int, reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


class Sender:
    """Sends one message once on a channel and says how it went; never raises for a delivery failure."""

    def __init__(self, settings: Settings, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def webhook(self, url: str, message: Message) -> Attempt:
        """POST ``{"text": …}``: Slack's incoming-webhook shape (Mattermost and Discord's Slack mode read it too)."""
        started = time.perf_counter()

        def done(**values: Any) -> Attempt:
            return Attempt(elapsed_ms=(time.perf_counter() - started) * 1000, **values)

        try:
            url = check_webhook_url(url)
        except ValueError as exc:
            return done(ok=False, error=str(exc))
        body = json.dumps({"text": message.text}).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above: http or https only
            url,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": "dba-admin-alerts"},
            method="POST",
        )
        try:
            # The scheme is checked above (http or https only): no file:// or custom scheme reaches urlopen.
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310  # nosec B310
                status = int(response.status)
                response.read(4096)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            try:
                said = exc.read(300).decode(errors="replace")
            except OSError:
                said = ""
            error = f"HTTP {status} {exc.reason}" + (f": {said}" if said.strip() else "")
            return done(ok=False, retry=status >= 500 or status == 429, http_status=status, error=error)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                error = f"no answer within {self.timeout_s:g} s"
            else:
                error = one_line(reason) if isinstance(reason, BaseException) else str(reason)
            return done(ok=False, retry=True, error=error)
        if 200 <= status < 300:
            return done(ok=True, http_status=status)
        return done(ok=False, retry=status >= 500, http_status=status, error=f"HTTP {status}")

    def email(self, to: Sequence[str], message: Message) -> Attempt:
        """One e-mail through SMTP_HOST (STARTTLS when SMTP_STARTTLS, login when SMTP_USER); the DATA reply kept."""
        started = time.perf_counter()

        def done(**values: Any) -> Attempt:
            return Attempt(elapsed_ms=(time.perf_counter() - started) * 1000, **values)

        s = self.settings
        if not s.smtp_host:
            return done(ok=False, error="SMTP_HOST is not set: e-mail alerts need an SMTP server (see the README)")
        if not to:
            return done(ok=False, error="no recipient")
        sender = s.smtp_from or s.smtp_user or "dba-admin@localhost"
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = sender
        mail["To"] = ", ".join(to)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain="dba-admin")
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout_s) as smtp:
                smtp.ehlo()
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password or "")
                code, reply = smtp.mail(sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, sender)
                refused = {}
                for address in to:
                    code, reply = smtp.rcpt(address)
                    if code not in (250, 251):
                        refused[address] = (code, reply)
                if len(refused) == len(to):
                    raise smtplib.SMTPRecipientsRefused(refused)
                code, reply = smtp.data(mail.as_bytes())
                answer = _smtp_reply(code, reply)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            first = next(iter(exc.recipients.values()))
            return done(
                ok=False,
                retry=all(400 <= c < 500 for c in codes),
                smtp_reply=_smtp_reply(*first),
                error="every recipient was refused",
            )
        except smtplib.SMTPResponseException as exc:
            said = _smtp_reply(exc.smtp_code, exc.smtp_error)
            return done(ok=False, retry=400 <= exc.smtp_code < 500, smtp_reply=said, error=f"SMTP refused: {said}")
        except smtplib.SMTPNotSupportedError as exc:
            return done(ok=False, error=f"the SMTP server does not support it: {one_line(exc)}")
        except (smtplib.SMTPException, OSError) as exc:
            if isinstance(exc, TimeoutError):
                return done(ok=False, retry=True, error=f"no answer within {self.timeout_s:g} s")
            return done(ok=False, retry=True, error=one_line(exc))
        if refused:
            return done(ok=True, smtp_reply=answer, error=f"refused: {', '.join(sorted(refused))}")
        return done(ok=True, smtp_reply=answer)


# ---------------------------------------------------------------------------------------------------
# Retries and the record
# ---------------------------------------------------------------------------------------------------


class Deliverer:
    """Delivers a message on one channel with up to ``attempts`` tries (backoff doubling from ``backoff_s``),
    recording the delivery and each attempt in the workspace."""

    def __init__(
        self,
        workspace: DatabaseManager,
        settings: Settings | None = None,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_s: float = DEFAULT_BACKOFF_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("a delivery needs at least one attempt")
        self.workspace = workspace
        self.settings = settings or workspace.settings
        self.attempts = attempts
        self.backoff_s = max(0.0, backoff_s)
        self.sender = Sender(self.settings, timeout_s=timeout_s)
        self._sleep = sleep

    def webhook(self, url: str, message: Message, *, rule_id: Any, rule_name: str, kind: str = ALERT) -> DeliveryResult:
        return self.deliver(
            WEBHOOK,
            redact_url(url),
            message,
            lambda: self.sender.webhook(url, message),
            secrets=webhook_secrets(url),
            rule_id=rule_id,
            rule_name=rule_name,
            kind=kind,
        )

    def email(
        self, to: Sequence[str], message: Message, *, rule_id: Any, rule_name: str, kind: str = ALERT
    ) -> DeliveryResult:
        return self.deliver(
            EMAIL,
            ", ".join(to),
            message,
            lambda: self.sender.email(to, message),
            secrets=[self.settings.smtp_password],
            rule_id=rule_id,
            rule_name=rule_name,
            kind=kind,
        )

    def deliver(
        self,
        channel: str,
        target: str,
        message: Message,
        send: Callable[[], Attempt],
        *,
        secrets: Sequence[str | None],
        rule_id: Any,
        rule_name: str,
        kind: str,
    ) -> DeliveryResult:
        summary = scrub(message.summary, secrets) or ""
        with self.workspace.connection() as conn:
            row = conn.execute(
                "/* dba_admin */ insert into dba_admin.alert_deliveries"
                " (rule_id, rule_name, channel, target, kind, payload_summary)"
                " values (%s, %s, %s, %s, %s, %s) returning id",
                (rule_id, rule_name, channel, target, kind, summary),
            ).fetchone()
        assert row is not None
        delivery_id = int(row[0])
        attempt = Attempt(ok=False, error="not attempted")
        number = 0
        for number in range(1, self.attempts + 1):
            try:
                attempt = send()
            except Exception as exc:  # a bug in a sender must still leave a record, never a secret
                log.exception("alert delivery %s on %s raised", delivery_id, channel)
                attempt = Attempt(ok=False, error=f"unexpected error ({type(exc).__name__})")
            error = scrub(attempt.error, secrets)
            reply = scrub(attempt.smtp_reply, secrets)
            final = attempt.ok or not attempt.retry or number == self.attempts
            status = "sent" if attempt.ok else ("failed" if final else "retrying")
            entry = {
                "attempt": number,
                "ok": attempt.ok,
                "http_status": attempt.http_status,
                "smtp_reply": reply,
                "error": error,
                "ms": round(attempt.elapsed_ms, 1),
            }
            with self.workspace.connection() as conn:
                conn.execute(
                    "/* dba_admin */ update dba_admin.alert_deliveries set attempts = %s,"
                    " attempt_log = attempt_log || pg_catalog.jsonb_build_array(%s::jsonb"
                    " || pg_catalog.jsonb_build_object('at', pg_catalog.clock_timestamp())),"
                    " status = %s, http_status = %s, smtp_reply = %s, error = %s,"
                    " last_attempt_at = pg_catalog.clock_timestamp(),"
                    " finished_at = case when %s then pg_catalog.clock_timestamp() end where id = %s",
                    (number, Jsonb(entry), status, attempt.http_status, reply, error, final, delivery_id),
                )
            if final:
                break
            log.info("alert delivery %s to %s failed (%s); retrying", delivery_id, target, error)
            self._sleep(self.backoff_s * 2 ** (number - 1))
        if not attempt.ok:
            log.warning("alert delivery %s to %s failed after %d attempt(s): %s", delivery_id, target, number, error)
        return DeliveryResult(
            id=delivery_id,
            channel=channel,
            target=target,
            status="sent" if attempt.ok else "failed",
            attempts=number,
            http_status=attempt.http_status,
            smtp_reply=scrub(attempt.smtp_reply, secrets),
            error=scrub(attempt.error, secrets),
        )
