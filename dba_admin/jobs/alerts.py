"""Alert rules: what to watch, when a rule fires, and the window that keeps a firing rule from flooding anyone.

Five kinds of rule (``parameters`` in brackets):

* ``script_result`` — a scheduled script's result (``script_id`` or any, ``condition`` rows_above / value_above /
  value_below, ``threshold``): judged as each scheduled run ends, through :meth:`AlertEngine.on_scheduled_run`.
* ``run_failure`` — a run ended in error, timeout or interrupted (``script_id`` or any; the rule's connection or any).
* ``advisor_findings`` — unmuted advisor findings at or above ``level`` on the rule's connection (``min_count``).
* ``error_rate`` — the share of failed runs over the window is above ``percent`` (with at least ``min_runs`` runs).
* ``connection_unreachable`` — the rule's connection (or every registered one) does not answer its monitor login.

:meth:`AlertEngine.evaluate` (a worker calls it each minute) checks every enabled rule. The first trigger sends one
message on each channel and opens the rule's window; later triggers inside the window are only counted, and go out
as ONE summary when the window ends ("fired 7 more times since …"). A condition that still holds at that moment is
folded into the summary, which opens the next window: a rule that keeps firing sends one message per window.

Event rules (``script_result``, ``run_failure``) remember each event they counted in ``dba_admin.alert_events``, so a
failed run is counted once however often the rules are evaluated; each rule's state row is taken with FOR UPDATE
SKIP LOCKED, so two workers evaluating at once never send the same message twice. Messages go out after the state is
committed (:mod:`dba_admin.jobs.delivery`), every attempt recorded. Webhook URLs hold tokens: they are stored sealed
with SECRETS_KEY and appear everywhere else as ``scheme://host/…``. Rule changes are audited.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, LiteralString, Protocol

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from dba_admin import audit
from dba_admin.errors import ConfigError, DbaAdminError, NotFound, one_line, query_error_from
from dba_admin.jobs.delivery import (
    ALERT,
    EMAIL,
    SUMMARY,
    TEST,
    WEBHOOK,
    Attempt,
    Deliverer,
    DeliveryResult,
    Message,
    check_webhook_url,
    parse_addresses,
    redact_url,
)
from dba_admin.jobs.schedules import ScheduledRun
from dba_admin.levels import LEVELS
from dba_admin.redaction import mask_error_values

if TYPE_CHECKING:
    from dba_admin.connections import Registry
    from dba_admin.database import DatabaseManager

__all__ = [
    "KINDS",
    "AlertEngine",
    "AlertSource",
    "DeliveryRow",
    "Rule",
    "RuleOutcome",
    "RuleSpec",
    "ScheduledRun",
    "normalize_parameters",
]

log = logging.getLogger(__name__)

SCRIPT_RESULT = "script_result"
RUN_FAILURE = "run_failure"
ADVISOR_FINDINGS = "advisor_findings"
ERROR_RATE = "error_rate"
CONNECTION_UNREACHABLE = "connection_unreachable"
KINDS: tuple[str, ...] = (SCRIPT_RESULT, RUN_FAILURE, ADVISOR_FINDINGS, ERROR_RATE, CONNECTION_UNREACHABLE)
EVENT_KINDS = frozenset({SCRIPT_RESULT, RUN_FAILURE})
CONDITIONS: tuple[str, ...] = ("rows_above", "value_above", "value_below")
FAILED_STATUSES: tuple[str, ...] = ("error", "timeout", "interrupted")
OK = "ok"
FIRING = "firing"
DEFAULT_WINDOW_MINUTES = 15
MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_EVENTS_PER_CHECK = 500  # failed runs read per rule and evaluation; more are counted at the next one
MAX_LISTED = 5  # events named in one message; the rest are counted
EVENT_RETENTION = timedelta(days=1)  # beyond the rule's window: counted events kept this much longer

_RULE_SQL = """/* dba_admin */ select r.id, r.name, r.kind, r.parameters, r.connection_name, r.window_seconds,
  r.webhook_secret, r.webhook_target, r.email_to, r.enabled, r.created_by, r.updated_by, r.created_at, r.updated_at,
  coalesce(s.status, 'ok') as status, s.last_evaluated_at, s.last_fired_at, s.last_sent_at, s.last_message,
  s.window_started_at, coalesce(s.suppressed, 0) as suppressed, s.first_suppressed_at
from dba_admin.alert_rules r left join dba_admin.alert_state s on s.rule_id = r.id"""


class AlertSource(Protocol):
    """What the engine needs: the workspace and the connection registry (``Services`` has both)."""

    @property
    def db(self) -> DatabaseManager: ...

    @property
    def registry(self) -> Registry: ...


@dataclass(frozen=True)
class RuleSpec:
    """A rule as a person writes it (the page's form, the CLI). ``webhook_url`` None: none given (on an edit, the
    current one is kept unless ``clear_webhook``)."""

    name: str
    kind: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    connection: str | None = None
    window_minutes: int = DEFAULT_WINDOW_MINUTES
    webhook_url: str | None = field(default=None, repr=False)
    email_to: Sequence[str] | str = ()
    enabled: bool = True
    clear_webhook: bool = False


@dataclass(frozen=True)
class Rule:
    """A stored rule with its state. The webhook is only its redacted target here; the sealed URL stays hidden."""

    id: uuid.UUID
    name: str
    kind: str
    parameters: dict[str, Any]
    connection: str | None
    window: timedelta
    webhook_target: str | None
    email_to: tuple[str, ...]
    enabled: bool
    created_by: str
    updated_by: str | None
    created_at: datetime
    updated_at: datetime
    status: str = OK
    last_evaluated_at: datetime | None = None
    last_fired_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_message: str | None = None
    window_started_at: datetime | None = None
    suppressed: int = 0
    first_suppressed_at: datetime | None = None
    webhook_secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, on in ((WEBHOOK, self.webhook_target is not None), (EMAIL, bool(self.email_to))) if on)

    @property
    def window_minutes(self) -> int:
        return int(self.window.total_seconds() // 60)

    @property
    def firing(self) -> bool:
        return self.status == FIRING


@dataclass(frozen=True)
class DeliveryRow:
    """One recorded delivery, as the Alerts page lists it (no secret: the target is redacted)."""

    id: int
    created_at: datetime
    rule_id: uuid.UUID | None
    rule_name: str
    channel: str
    target: str
    kind: str
    status: str
    attempts: int
    http_status: int | None
    smtp_reply: str | None
    error: str | None
    payload_summary: str
    finished_at: datetime | None
    attempt_log: list[dict[str, Any]] = field(default_factory=list, compare=False)


@dataclass(frozen=True)
class Trigger:
    """A rule's condition held: what to say, and how many events it stands for."""

    message: str
    count: int = 1


@dataclass(frozen=True)
class _Check:
    """What a rule's check found: events to count once (event rules) or a condition that holds (level rules)."""

    trigger: Trigger | None = None
    events: list[tuple[str, str]] | None = None  # (event key, what it says); None for level rules


@dataclass(frozen=True)
class RuleOutcome:
    """What one evaluation did with one rule."""

    rule_id: uuid.UUID
    rule: str
    fired: bool = False
    sent: tuple[DeliveryResult, ...] = ()
    suppressed: int = 0
    skipped: bool = False  # another worker held the rule's state
    error: str | None = None


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------


def _number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number")
    return number


def _whole(value: Any, what: str, low: int) -> int:
    number = _number(value, what)
    if number != int(number) or number < low:
        raise ValueError(f"{what} must be a whole number of at least {low}")
    return int(number)


def _script_id(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise ValueError(f"script id {value!r} is not a UUID (copy it from the script's page)") from None


def normalize_parameters(kind: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a ``kind`` rule, checked and with defaults; ValueError saying what is wrong."""
    p = dict(parameters or {})
    if kind == SCRIPT_RESULT:
        condition = p.get("condition") or "rows_above"
        if condition not in CONDITIONS:
            raise ValueError(f"condition {condition!r} is not one of {', '.join(CONDITIONS)}")
        return {
            "script_id": _script_id(p.get("script_id")),
            "condition": condition,
            "threshold": _number(p.get("threshold", 0), "the threshold"),
        }
    if kind == RUN_FAILURE:
        return {"script_id": _script_id(p.get("script_id"))}
    if kind == ADVISOR_FINDINGS:
        level = str(p.get("level") or "WARN").upper()
        if level not in LEVELS:
            raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
        return {"level": level, "min_count": _whole(p.get("min_count", 1), "the minimum count", 1)}
    if kind == ERROR_RATE:
        percent = _number(p.get("percent", 10), "the percentage")
        if not 0 <= percent < 100:
            raise ValueError("the percentage must be at least 0 and below 100")
        return {"percent": percent, "min_runs": _whole(p.get("min_runs", 5), "the minimum number of runs", 1)}
    if kind == CONNECTION_UNREACHABLE:
        timeout = p.get("timeout_s")
        if timeout in (None, ""):
            return {}
        seconds = _number(timeout, "the time limit")
        if not 0.5 <= seconds <= 60:
            raise ValueError("the time limit must be between 0.5 and 60 seconds")
        return {"timeout_s": seconds}
    raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 or minutes % 60 else f"{minutes // 60} h"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _first_line(text: str | None, width: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------------


class AlertEngine:
    """Rules (create, edit, enable, delete: audited), their evaluation, and the messages they send."""

    def __init__(self, source: AlertSource, *, deliverer: Deliverer | None = None) -> None:
        self.source = source
        self.db = source.db
        self.deliverer = deliverer or Deliverer(self.db)

    # -- reading -------------------------------------------------------------------------------------------

    def _rules(self, where: LiteralString = "", params: Sequence[Any] = ()) -> list[Rule]:
        """Rules with their state; a driver error comes as the QueryError ``DatabaseManager.read`` names."""
        return [_rule(row) for row in self.db.read(sql.SQL(_RULE_SQL + where + " order by r.name"), params)]

    def list_rules(self, *, enabled_only: bool = False) -> list[Rule]:
        """Every rule with its state, by name."""
        return self._rules(" where r.enabled" if enabled_only else "")

    def get_rule(self, rule_id: uuid.UUID) -> Rule:
        found = self._rules(" where r.id = %s", (rule_id,))
        if not found:
            raise NotFound(f"no alert rule with id {rule_id}")
        return found[0]

    def recent_deliveries(self, limit: int = 50, *, rule_id: uuid.UUID | None = None) -> list[DeliveryRow]:
        """The latest deliveries (newest first), of one rule or all."""
        try:
            with self.db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute(
                    "/* dba_admin */ select id, created_at, rule_id, rule_name, channel, target, kind, status,"
                    " attempts, http_status, smtp_reply, error, payload_summary, finished_at, attempt_log"
                    " from dba_admin.alert_deliveries where (%(rule)s::uuid is null or rule_id = %(rule)s::uuid)"
                    " order by id desc limit %(limit)s",
                    {"rule": rule_id, "limit": max(1, min(int(limit), 1000))},
                )
                return [DeliveryRow(**row) for row in cur.fetchall()]
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc

    # -- changing (audited) --------------------------------------------------------------------------------

    def _checked(self, spec: RuleSpec) -> tuple[str, dict[str, Any], str | None, int, tuple[str, ...]]:
        name = " ".join((spec.name or "").split())
        if not name:
            raise ValueError("a rule needs a name")
        if len(name) > 120:
            raise ValueError("a rule's name has at most 120 characters")
        if spec.kind not in KINDS:
            raise ValueError(f"kind {spec.kind!r} is not one of {', '.join(KINDS)}")
        parameters = normalize_parameters(spec.kind, spec.parameters)
        connection = (spec.connection or "").strip() or None
        if spec.kind == ADVISOR_FINDINGS and connection is None:
            raise ValueError("an advisor findings rule watches one connection: choose it")
        if connection is not None:
            self.source.registry.get(connection)  # NotFound names it
        minutes = _whole(spec.window_minutes, "the window (minutes)", 1)
        if minutes > MAX_WINDOW_MINUTES:
            raise ValueError(f"the window is at most {MAX_WINDOW_MINUTES} minutes (7 days)")
        return name, parameters, connection, minutes, parse_addresses(spec.email_to)

    def _seal(self, url: str) -> tuple[str, str]:
        url = check_webhook_url(url)
        try:
            sealed = self.source.registry.box.seal(url)
        except ConfigError as exc:
            raise ConfigError(f"a webhook URL is stored encrypted: {exc}") from exc
        assert sealed is not None
        return sealed, redact_url(url)

    def _webhook(
        self, spec: RuleSpec, email_to: Sequence[str], *, before: Rule | None
    ) -> tuple[str | None, str | None]:
        """The sealed webhook URL and its shown target: a new URL sealed; else, on an edit, the rule's own kept
        unless ``spec.clear_webhook``. A rule needs at least one channel."""
        if spec.webhook_url:
            secret, target = self._seal(spec.webhook_url)
        elif before is None or spec.clear_webhook:
            secret, target = None, None
        else:
            secret, target = before.webhook_secret, before.webhook_target
        if secret is None and not email_to:
            raise ValueError("a rule needs a channel: a webhook URL, e-mail addresses, or both")
        return secret, target

    @staticmethod
    def _details(rule: Rule) -> dict[str, Any]:
        """What the audit trail keeps of a rule: everything but the webhook's secret parts."""
        return {
            "rule": rule.name,
            "kind": rule.kind,
            "parameters": rule.parameters,
            "connection": rule.connection,
            "window_minutes": rule.window_minutes,
            "webhook": rule.webhook_target,
            "email_to": list(rule.email_to),
            "enabled": rule.enabled,
        }

    def create_rule(self, spec: RuleSpec, *, actor: str) -> Rule:
        """Store a new rule (checked; the webhook URL sealed) and audit it."""
        name, parameters, connection, minutes, email_to = self._checked(spec)
        secret, target = self._webhook(spec, email_to, before=None)
        try:
            with self.db.connection() as conn:
                row = conn.execute(
                    "/* dba_admin */ insert into dba_admin.alert_rules (name, kind, parameters, connection_name,"
                    " window_seconds, webhook_secret, webhook_target, email_to, enabled, created_by)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning id",
                    (name, spec.kind, Jsonb(parameters), connection, minutes * 60, secret, target, list(email_to),
                     spec.enabled, actor),
                ).fetchone()  # fmt: skip
                assert row is not None
                conn.execute("/* dba_admin */ insert into dba_admin.alert_state (rule_id) values (%s)", (row[0],))
                rule = self._rule_in(conn, row[0])
                audit.record(
                    conn, "alert.rule.create", actor=actor, target=f"alert:{rule.id}", details=self._details(rule)
                )
        except psycopg.errors.UniqueViolation:
            raise ValueError(f"a rule named {name!r} exists already: choose another name") from None
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc
        return rule

    def update_rule(self, rule_id: uuid.UUID, spec: RuleSpec, *, actor: str) -> Rule:
        """Change a rule; the webhook URL is kept unless a new one is given or ``spec.clear_webhook``. Audited with
        what changed."""
        name, parameters, connection, minutes, email_to = self._checked(spec)
        before = self.get_rule(rule_id)
        secret, target = self._webhook(spec, email_to, before=before)
        try:
            with self.db.connection() as conn:
                done = conn.execute(
                    "/* dba_admin */ update dba_admin.alert_rules set name = %s, kind = %s, parameters = %s,"
                    " connection_name = %s, window_seconds = %s, webhook_secret = %s, webhook_target = %s,"
                    " email_to = %s, enabled = %s, updated_by = %s where id = %s",
                    (name, spec.kind, Jsonb(parameters), connection, minutes * 60, secret, target, list(email_to),
                     spec.enabled, actor, rule_id),
                )  # fmt: skip
                if done.rowcount == 0:
                    raise NotFound(f"no alert rule with id {rule_id}")
                rule = self._rule_in(conn, rule_id)
                old, new = self._details(before), self._details(rule)
                changed = {k: {"from": old[k], "to": new[k]} for k in new if old[k] != new[k]}
                if spec.webhook_url and before.webhook_secret is not None:
                    changed.setdefault("webhook", {"from": before.webhook_target, "to": rule.webhook_target})
                    changed["webhook"]["replaced"] = True
                audit.record(
                    conn, "alert.rule.update", actor=actor, target=f"alert:{rule_id}", details={"rule": name, **changed}
                )
        except psycopg.errors.UniqueViolation:
            raise ValueError(f"a rule named {name!r} exists already: choose another name") from None
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc
        return rule

    def set_enabled(self, rule_id: uuid.UUID, enabled: bool, *, actor: str) -> Rule:
        """Enable or disable a rule (audited). Disabling closes its window: no summary is owed afterwards."""
        try:
            with self.db.connection() as conn:
                done = conn.execute(
                    "/* dba_admin */ update dba_admin.alert_rules set enabled = %s, updated_by = %s where id = %s"
                    " returning name",
                    (enabled, actor, rule_id),
                ).fetchone()
                if done is None:
                    raise NotFound(f"no alert rule with id {rule_id}")
                if not enabled:
                    conn.execute(
                        "/* dba_admin */ update dba_admin.alert_state set status = 'ok', window_started_at = null,"
                        " suppressed = 0, first_suppressed_at = null where rule_id = %s",
                        (rule_id,),
                    )
                audit.record(
                    conn,
                    "alert.rule.enable" if enabled else "alert.rule.disable",
                    actor=actor,
                    target=f"alert:{rule_id}",
                    details={"rule": done[0]},
                )
                return self._rule_in(conn, rule_id)
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc

    def delete_rule(self, rule_id: uuid.UUID, *, actor: str) -> None:
        """Delete a rule and its state (audited); its deliveries stay, with the rule's name."""
        try:
            with self.db.connection() as conn:
                rule = self._rule_in(conn, rule_id)
                conn.execute("/* dba_admin */ delete from dba_admin.alert_rules where id = %s", (rule_id,))
                audit.record(
                    conn, "alert.rule.delete", actor=actor, target=f"alert:{rule_id}", details=self._details(rule)
                )
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc

    def _rule_in(self, conn: psycopg.Connection[Any], rule_id: Any) -> Rule:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_RULE_SQL + " where r.id = %s", (rule_id,))
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"no alert rule with id {rule_id}")
        return _rule(row)

    # -- sending -------------------------------------------------------------------------------------------

    def send_test(self, rule_id: uuid.UUID, channel: str, *, actor: str) -> DeliveryResult:
        """A test message on one of the rule's channels, recorded like any delivery and audited."""
        rule = self.get_rule(rule_id)
        if channel not in rule.channels:
            raise ValueError(f"rule {rule.name!r} has no {channel} channel")
        message = Message(
            subject=f"[DBA Admin] Test of alert rule {rule.name}",
            text=f"[DBA Admin] Test message of alert rule '{rule.name}' ({rule.kind}), sent by {actor}. "
            f"If you read this, its {channel} channel works.",
        )
        result = self._send_on(rule, channel, message, TEST)
        with self.db.connection() as conn:
            audit.record(
                conn,
                "alert.test",
                actor=actor,
                target=f"alert:{rule.id}",
                details={"rule": rule.name, "channel": channel, "delivery": result.id, "status": result.status},
            )
        return result

    def _send_on(self, rule: Rule, channel: str, message: Message, kind: str) -> DeliveryResult:
        if channel == EMAIL:
            return self.deliverer.email(rule.email_to, message, rule_id=rule.id, rule_name=rule.name, kind=kind)
        try:
            url = self.source.registry.box.open(rule.webhook_secret, what="webhook URL of this rule")
        except DbaAdminError as exc:
            reason = one_line(exc)
            return self.deliverer.deliver(
                WEBHOOK,
                rule.webhook_target or "?",
                message,
                lambda: Attempt(ok=False, error=reason),
                secrets=[],
                rule_id=rule.id,
                rule_name=rule.name,
                kind=kind,
            )
        assert url is not None
        return self.deliverer.webhook(url, message, rule_id=rule.id, rule_name=rule.name, kind=kind)

    def _send(self, rule: Rule, message: Message, kind: str) -> tuple[DeliveryResult, ...]:
        return tuple(self._send_on(rule, channel, message, kind) for channel in rule.channels)

    # -- evaluation ----------------------------------------------------------------------------------------

    def evaluate(self, now: datetime | None = None) -> list[RuleOutcome]:
        """Check every enabled rule at ``now`` (a worker calls this each minute); send what is due. A rule whose
        check fails is reported in its outcome and logged; the others go on."""
        now = _aware(now)
        outcomes = []
        for rule in self.list_rules(enabled_only=True):
            try:
                check = self._check(rule, now)
                outcomes.append(self._apply(rule, check, now))
            except Exception as exc:  # one broken rule (a dropped connection, a bug) must not silence the others
                log.exception("alert rule %s could not be evaluated", rule.name)
                outcomes.append(RuleOutcome(rule.id, rule.name, error=one_line(exc)))
        self._prune(now)
        return outcomes

    def on_scheduled_run(self, run: ScheduledRun, now: datetime | None = None) -> list[RuleOutcome]:
        """Judge a scheduled run that just ended against every enabled ``script_result`` rule it matches."""
        now = _aware(now)
        outcomes = []
        for rule in self.list_rules(enabled_only=True):
            if rule.kind != SCRIPT_RESULT or not _matches(rule, run):
                continue
            said = _judge(rule, run)
            events = [(f"run:{run.execution_id}", said)] if said else []
            try:
                outcomes.append(self._apply(rule, _Check(events=events), now))
            except Exception as exc:  # the scheduler's hook must not fail because one rule could not be applied
                log.exception("alert rule %s could not judge scheduled run %s", rule.name, run.execution_id)
                outcomes.append(RuleOutcome(rule.id, rule.name, error=one_line(exc)))
        return outcomes

    def _check(self, rule: Rule, now: datetime) -> _Check:
        if rule.kind == SCRIPT_RESULT:
            return _Check(events=[])  # judged as runs end; evaluation only closes its window
        if rule.kind == RUN_FAILURE:
            return _Check(events=self._failed_runs(rule, now))
        if rule.kind == ERROR_RATE:
            return _Check(trigger=self._error_rate(rule, now))
        if rule.kind == ADVISOR_FINDINGS:
            return _Check(trigger=self._findings(rule))
        if rule.kind == CONNECTION_UNREACHABLE:
            return _Check(trigger=self._unreachable(rule))
        raise ValueError(f"unknown kind {rule.kind!r}")

    def _failed_runs(self, rule: Rule, now: datetime) -> list[tuple[str, str]]:
        since = max(now - rule.window, rule.created_at)
        with self.db.connection() as conn:
            rows = conn.execute(
                "/* dba_admin */ select id, status, banco, executado_por, erro, sqlstate"
                " from public.execucoes_scripts"
                " where status = any(%(statuses)s) and finished_at > %(since)s and finished_at <= %(now)s"
                " and (%(script)s::uuid is null or script_id = %(script)s::uuid)"
                " and (%(conn)s::text is null or banco = %(conn)s::text)"
                " order by finished_at, id limit %(limit)s",
                {
                    "statuses": list(FAILED_STATUSES),
                    "since": since,
                    "now": now,
                    "script": rule.parameters.get("script_id"),
                    "conn": rule.connection,
                    "limit": MAX_EVENTS_PER_CHECK,
                },
            ).fetchall()
        events = []
        for run_id, status, where, who, error, sqlstate in rows:
            reason = _first_line(mask_error_values(error or ""))
            code = f" [{sqlstate}]" if sqlstate else ""
            said = f"run {run_id} on {where or '?'} by {who} ended {status}{code}: {reason or 'no message'}"
            events.append((f"run:{run_id}", said))
        return events

    def _error_rate(self, rule: Rule, now: datetime) -> Trigger | None:
        with self.db.connection() as conn:
            row = conn.execute(
                "/* dba_admin */ select count(*), count(*) filter (where status = any(%(statuses)s))"
                " from public.execucoes_scripts"
                " where status <> 'running' and finished_at > %(since)s and finished_at <= %(now)s"
                " and (%(conn)s::text is null or banco = %(conn)s::text)",
                {"statuses": list(FAILED_STATUSES), "since": now - rule.window, "now": now, "conn": rule.connection},
            ).fetchone()
        assert row is not None
        total, failed = int(row[0]), int(row[1])
        percent, min_runs = float(rule.parameters["percent"]), int(rule.parameters["min_runs"])
        if total < min_runs or total == 0:
            return None
        rate = 100.0 * failed / total
        if rate <= percent:
            return None
        where = f" on {rule.connection}" if rule.connection else ""
        return Trigger(
            f"{failed} of {total} runs{where} failed in the last {_minutes(rule.window)}: "
            f"{rate:.1f}% (threshold {percent:g}%)"
        )

    def _findings(self, rule: Rule) -> Trigger | None:
        from dba_admin.fleet import collect_fleet

        assert rule.connection is not None
        row = collect_fleet(self.source, [rule.connection], advisors=True, sweep=False)[0]
        if not row.reachable or row.findings is None:
            log.info("alert rule %s: connection %s not checked (%s)", rule.name, rule.connection, row.reason)
            return None
        level = str(rule.parameters["level"])
        counted = LEVELS[LEVELS.index(level) :]
        found = {lv: row.findings.get(lv, 0) for lv in counted}
        total = sum(found.values())
        if total < int(rule.parameters["min_count"]):
            return None
        parts = ", ".join(f"{lv} {n}" for lv, n in reversed(found.items()) if n)
        note = f" ({row.advisors_note})" if row.advisors_note else ""
        return Trigger(f"{total} advisor finding(s) at {level} or above on {rule.connection}: {parts}{note}")

    def _unreachable(self, rule: Rule) -> Trigger | None:
        from dba_admin.fleet import OK as REACHABLE
        from dba_admin.fleet import collect_fleet

        names = [rule.connection] if rule.connection else [c.name for c in self.source.registry.list()]
        if not names:
            return None
        timeout = rule.parameters.get("timeout_s")
        rows = collect_fleet(self.source, names, timeout_s=timeout, advisors=False, sweep=False)
        down = [r for r in rows if r.status != REACHABLE]
        if not down:
            return None
        said = "; ".join(f"connection {r.name} {r.status}: {_first_line(r.reason) or 'no answer'}" for r in down)
        return Trigger(said, count=len(down))

    def _apply(self, rule: Rule, check: _Check, now: datetime) -> RuleOutcome:
        """Decide under the rule's state lock what to send (see the module docstring); send after the commit."""
        due: list[tuple[str, Message]] = []
        trigger = check.trigger
        with self.db.connection() as conn:
            conn.execute(
                "/* dba_admin */ insert into dba_admin.alert_state (rule_id) values (%s) on conflict do nothing",
                (rule.id,),
            )
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(
                    "/* dba_admin */ select window_started_at, suppressed, first_suppressed_at, last_message"
                    " from dba_admin.alert_state where rule_id = %s for update skip locked",
                    (rule.id,),
                )
                state = cur.fetchone()
            if state is None:
                return RuleOutcome(rule.id, rule.name, skipped=True)
            if check.events is not None:
                trigger = self._new_events(conn, rule, check.events, now)
            started: datetime | None = state["window_started_at"]
            suppressed: int = state["suppressed"]
            first: datetime | None = state["first_suppressed_at"]
            handled = False
            if started is not None and now >= started + rule.window:  # the window ended
                if suppressed:
                    count = suppressed + (trigger.count if trigger else 0)
                    latest = trigger.message if trigger else state["last_message"]
                    due.append((SUMMARY, _summary(rule, count, started, latest)))
                    started, handled = (now, True) if trigger else (None, False)
                else:
                    started = None
                suppressed, first = 0, None
            if trigger is not None and not handled:
                if started is None:
                    due.append((ALERT, _alert(rule, trigger)))
                    started = now
                else:
                    suppressed += trigger.count
                    first = first or now
            firing = trigger is not None or (rule.kind in EVENT_KINDS and started is not None)
            conn.execute(
                "/* dba_admin */ update dba_admin.alert_state set status = %s, last_evaluated_at = %s,"
                " last_fired_at = case when %s then %s else last_fired_at end,"
                " last_sent_at = case when %s then %s else last_sent_at end,"
                " last_message = coalesce(%s, last_message), window_started_at = %s, suppressed = %s,"
                " first_suppressed_at = %s where rule_id = %s",
                (
                    FIRING if firing else OK,
                    now,
                    trigger is not None,
                    now,
                    bool(due),
                    now,
                    trigger.message if trigger else None,
                    started,
                    suppressed,
                    first,
                    rule.id,
                ),
            )
        sent: list[DeliveryResult] = []
        for kind, message in due:
            sent += self._send(rule, message, kind)
        return RuleOutcome(rule.id, rule.name, fired=trigger is not None, sent=tuple(sent), suppressed=suppressed)

    @staticmethod
    def _new_events(
        conn: psycopg.Connection[Any], rule: Rule, events: list[tuple[str, str]], now: datetime
    ) -> Trigger | None:
        """The events not counted before (recorded now, in the state's transaction), as one trigger."""
        if not events:
            return None
        rows = conn.execute(
            "/* dba_admin */ insert into dba_admin.alert_events (rule_id, event_key, seen_at)"
            " select %s, k, %s from pg_catalog.unnest(%s::text[]) as k on conflict do nothing returning event_key",
            (rule.id, now, [key for key, _ in events]),
        ).fetchall()
        fresh = {r[0] for r in rows}
        said = [text for key, text in events if key in fresh]
        if not said:
            return None
        listed = "\n".join(f"- {text}" for text in said[:MAX_LISTED])
        more = f"\n(and {len(said) - MAX_LISTED} more)" if len(said) > MAX_LISTED else ""
        head = said[0] if len(said) == 1 else f"{len(said)} events:\n{listed}{more}"
        return Trigger(head, count=len(said))

    def _prune(self, now: datetime) -> None:
        """Counted events older than their rule's window (and a day's margin) are read by no check any more."""
        try:
            with self.db.connection() as conn:
                conn.execute(
                    "/* dba_admin */ delete from dba_admin.alert_events e using dba_admin.alert_rules r"
                    " where e.rule_id = r.id and e.seen_at < %s - pg_catalog.make_interval(secs => r.window_seconds)"
                    " - %s",
                    (now, EVENT_RETENTION),
                )
        except psycopg.Error as exc:
            log.warning("alerts: pruning counted events failed: %s", one_line(exc))


# ---------------------------------------------------------------------------------------------------
# Rules from rows, and what they say
# ---------------------------------------------------------------------------------------------------


def _rule(row: Mapping[str, Any]) -> Rule:
    return Rule(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        parameters=dict(row["parameters"] or {}),
        connection=row["connection_name"],
        window=timedelta(seconds=int(row["window_seconds"])),
        webhook_target=row["webhook_target"],
        email_to=tuple(row["email_to"] or ()),
        enabled=bool(row["enabled"]),
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        last_evaluated_at=row["last_evaluated_at"],
        last_fired_at=row["last_fired_at"],
        last_sent_at=row["last_sent_at"],
        last_message=row["last_message"],
        window_started_at=row["window_started_at"],
        suppressed=int(row["suppressed"]),
        first_suppressed_at=row["first_suppressed_at"],
        webhook_secret=row["webhook_secret"],
    )


def _matches(rule: Rule, run: ScheduledRun) -> bool:
    script = rule.parameters.get("script_id")
    if script is not None and str(run.script_id) != script:
        return False
    return rule.connection is None or rule.connection == run.connection


def _judge(rule: Rule, run: ScheduledRun) -> str | None:
    """What the run's result says against the rule, or None when the condition does not hold."""
    if run.status != "success":
        return None
    condition, threshold = rule.parameters["condition"], float(rule.parameters["threshold"])
    where = f"scheduled run {run.execution_id} of script {run.script_id} on {run.connection}"
    if condition == "rows_above":
        if (run.rows or 0) > threshold:
            return f"{where} returned {run.rows} rows (more than {threshold:g})"
        return None
    try:
        value = float(str(run.first_value).strip())
    except (TypeError, ValueError):
        return None  # no number to compare: the condition cannot hold
    if condition == "value_above" and value > threshold:
        return f"{where}: first value {value:g} is above {threshold:g}"
    if condition == "value_below" and value < threshold:
        return f"{where}: first value {value:g} is below {threshold:g}"
    return None


def _alert(rule: Rule, trigger: Trigger) -> Message:
    return Message(
        subject=f"[DBA Admin] {rule.name}",
        text=f"[DBA Admin] Alert '{rule.name}': {trigger.message}\n"
        f"(Further triggers in the next {_minutes(rule.window)} are sent as one summary.)",
    )


def _summary(rule: Rule, count: int, since: datetime, latest: str | None) -> Message:
    times = "time" if count == 1 else "times"
    text = f"[DBA Admin] Alert '{rule.name}' fired {count} more {times} since {_stamp(since)}."
    if latest:
        text += f"\nLatest: {latest}"
    return Message(subject=f"[DBA Admin] {rule.name}: {count} more", text=text)
