"""Alerts (issue 16, section 2): every rule kind fires once into a real local webhook receiver and a real SMTP server.

The receivers listen on loopback only: an http.server in a thread (answers 200, or the statuses a test queues) and an
aiosmtpd Controller with a login; both are stopped by their fixtures. Runs are real runs through ProjectManager on the
suite's own server; connections are real (the demo, a dead loopback port); nothing is mocked at the database.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import logging
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from apptest_helpers import claims_of, extra_connection, logged_in_page, make_user, texts
from db_helpers import user, workspace_manager

from dba_admin.cli import main
from dba_admin.connections import DEMO_CONNECTION, ConnectionSecrets
from dba_admin.errors import DbaAdminError, NotFound
from dba_admin.jobs.alerts import AlertEngine, RuleSpec, ScheduledRun, normalize_parameters
from dba_admin.jobs.delivery import Deliverer, parse_addresses, redact_url, scrub
from dba_admin.projects import ProjectManager
from dba_admin.services import Services

ACTOR = "alerts-tests"
TOKEN = "s3cr3tW3bh00kT0kenXYZ"
HOOK_PATH = f"/services/T0123ABCD/B0456EFGH/{TOKEN}"
SMTP_USER = "alerts"
SMTP_PASSWORD = "smtp-pa55-s3cret"
ALERTS_PAGE = "pages/alerts.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the local receivers -----------------------------------------------------------------------------------------


class WebhookReceiver:
    """A Slack-like incoming webhook on loopback: records each POST, answers the queued statuses, then 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: deque[int] = deque()
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.changed:
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    receiver.received.append(
                        {"path": self.path, "body": json.loads(body), "status": status, "at": time.perf_counter()}
                    )
                    receiver.changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"oops")

            def log_message(self, *args: Any) -> None:  # quiet: the test output is not a web server log
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    def url(self, path: str = HOOK_PATH) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def texts(self) -> list[str]:
        with self.changed:
            return [r["body"]["text"] for r in self.received if r["status"] == 200]

    def reset(self) -> None:
        with self.changed:
            self.received.clear()
            self.statuses.clear()


class Mailbox:
    """aiosmtpd's handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        with self.lock:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    def bodies(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(str(m["Subject"]), m.get_content()) for m in self.messages]

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self.logins.clear()


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        receiver.thread.join(timeout=5)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=box.authenticate,
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def services(app_db: Any, mailbox: tuple[Mailbox, int]) -> Iterator[Services]:
    """The workspace and registry as a worker has them, with SMTP pointed at the local server (login, no TLS)."""
    settings = app_db.settings.with_overrides(
        smtp_host="127.0.0.1",
        smtp_port=mailbox[1],
        smtp_user=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        smtp_from="dba-admin@example.com",
        smtp_starttls=False,
        smtp_timeout_s=5.0,
    )
    built = Services(settings=settings, db=workspace_manager(app_db, settings), embedded=True, dsn=app_db.dsn)
    yield built
    built.close()


def _delete_rules(services: Services) -> None:
    with services.db.connection() as conn:
        conn.execute("delete from dba_admin.alert_rules")
        conn.execute("delete from dba_admin.alert_deliveries")


@pytest.fixture
def engine(services: Services, webhook: WebhookReceiver, mailbox: tuple[Mailbox, int]) -> Iterator[AlertEngine]:
    """An engine whose retries wait 10 ms (not seconds); no rule before or after the test, receivers emptied."""
    _delete_rules(services)
    webhook.reset()
    mailbox[0].reset()
    yield AlertEngine(services, deliverer=Deliverer(services.db, backoff_s=0.01, timeout_s=5.0))
    _delete_rules(services)


def rule(
    engine: AlertEngine,
    kind: str,
    *,
    webhook: WebhookReceiver | None = None,
    to: str = "",
    connection: str | None = None,
    window: int = 15,
    **parameters: Any,
) -> uuid.UUID:
    spec = RuleSpec(
        name=f"{kind} {uuid.uuid4().hex[:6]}",
        kind=kind,
        parameters=parameters,
        connection=connection,
        window_minutes=window,
        webhook_url=webhook.url() if webhook else None,
        email_to=to,
    )
    return engine.create_rule(spec, actor=ACTOR).id


def failed_run(services: Services, connection: str = DEMO_CONNECTION, sql: str = "select 1/0") -> int:
    """A real run that fails (division by zero), recorded in the history like any other."""
    outcome = ProjectManager(services.db).run_adhoc(
        user("alerts", role="analyst"), sql, target=services.connection(connection)
    )
    assert outcome.execution is not None
    return outcome.execution.id


def deliveries(services: Services) -> list[dict[str, Any]]:
    with services.db.connection() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select * from dba_admin.alert_deliveries order by id")
        return cur.fetchall()


# -- pure parts ----------------------------------------------------------------------------------------------


def test_webhook_targets_keep_the_host_and_hide_the_token() -> None:
    assert redact_url(f"https://hooks.slack.com{HOOK_PATH}") == "https://hooks.slack.com/…"
    assert redact_url("http://user:pw@127.0.0.1:8080/x?token=abc") == "http://127.0.0.1:8080/…"
    assert redact_url("https://example.com") == "https://example.com"
    said = scrub(f"POST to https://hooks.slack.com{HOOK_PATH} failed", [f"https://hooks.slack.com{HOOK_PATH}", TOKEN])
    assert said is not None and TOKEN not in said


def test_rule_parameters_are_checked_with_reasons() -> None:
    assert normalize_parameters("error_rate", {}) == {"percent": 10.0, "min_runs": 5}
    assert normalize_parameters("advisor_findings", {"level": "error"}) == {"level": "ERROR", "min_count": 1}
    for kind, params, reason in [
        ("script_result", {"condition": "rows_sideways"}, "condition"),
        ("script_result", {"threshold": "many"}, "number"),
        ("run_failure", {"script_id": "not-a-uuid"}, "UUID"),
        ("advisor_findings", {"level": "LOUD"}, "level"),
        ("error_rate", {"percent": 150}, "percentage"),
        ("connection_unreachable", {"timeout_s": 600}, "time limit"),
        ("volcano", {}, "kind"),
    ]:
        with pytest.raises(ValueError, match=reason):
            normalize_parameters(kind, params)
    assert parse_addresses("a@example.com; B@example.com, a@example.com") == ("a@example.com", "b@example.com")
    with pytest.raises(ValueError, match="not an e-mail"):
        parse_addresses("nobody")


def test_a_rule_needs_a_channel_a_known_connection_and_a_unique_name(engine: AlertEngine) -> None:
    with pytest.raises(ValueError, match="channel"):
        engine.create_rule(RuleSpec(name="no channel", kind="run_failure"), actor=ACTOR)
    with pytest.raises(ValueError, match="one connection"):
        engine.create_rule(RuleSpec(name="x", kind="advisor_findings", email_to="a@example.com"), actor=ACTOR)
    with pytest.raises(NotFound):
        engine.create_rule(
            RuleSpec(name="x", kind="run_failure", connection="nowhere", email_to="a@example.com"), actor=ACTOR
        )
    engine.create_rule(RuleSpec(name="twice", kind="run_failure", email_to="a@example.com"), actor=ACTOR)
    with pytest.raises(ValueError, match="exists already"):
        engine.create_rule(RuleSpec(name="twice", kind="run_failure", email_to="a@example.com"), actor=ACTOR)


# -- each kind fires once -----------------------------------------------------------------------------------------


def test_a_failed_run_fires_once_on_the_webhook_and_by_email(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver, mailbox: tuple[Mailbox, int]
) -> None:
    rule_id = rule(engine, "run_failure", webhook=webhook, to="oncall@example.com", connection=DEMO_CONNECTION)
    assert all(not o.fired for o in engine.evaluate())  # nothing failed since the rule exists
    run_id = failed_run(services)

    outcome = next(o for o in engine.evaluate(datetime.now(UTC)) if o.rule_id == rule_id)
    assert outcome.fired and {d.status for d in outcome.sent} == {"sent"}
    [text] = webhook.texts()
    assert f"run {run_id} on demo" in text and "ended error [22012]" in text and "division by zero" in text
    [(subject, body)] = mailbox[0].bodies()
    assert subject.startswith("[DBA Admin] run_failure") and f"run {run_id}" in body
    assert mailbox[0].envelopes == [("dba-admin@example.com", ["oncall@example.com"])]
    assert mailbox[0].logins  # the password was used, over a real SMTP login

    engine.evaluate(datetime.now(UTC) + timedelta(minutes=1))  # the same run is never counted twice
    assert len(webhook.texts()) == 1 and len(mailbox[0].bodies()) == 1
    state = engine.get_rule(rule_id)
    assert state.firing and state.last_fired_at is not None and state.suppressed == 0
    rows = deliveries(services)
    assert [(r["channel"], r["status"], r["attempts"], r["kind"]) for r in rows] == [
        ("webhook", "sent", 1, "alert"),
        ("email", "sent", 1, "alert"),
    ]
    assert rows[0]["http_status"] == 200 and rows[1]["smtp_reply"].startswith("250")


def test_a_scheduled_scripts_result_fires_once(engine: AlertEngine, webhook: WebhookReceiver) -> None:
    script = uuid.uuid4()
    rows_rule = rule(
        engine, "script_result", webhook=webhook, script_id=str(script), condition="rows_above", threshold=10
    )
    value_rule = rule(engine, "script_result", webhook=webhook, condition="value_below", threshold=1.5)

    def run(execution_id: int, rows: int, first: str | None, status: str = "success") -> list[Any]:
        return engine.on_scheduled_run(
            ScheduledRun(uuid.uuid4(), script, DEMO_CONNECTION, execution_id, status, rows, first, None)
        )

    assert not any(o.fired for o in run(1, 5, "7"))  # 5 rows, value 7: neither condition holds
    assert not any(o.fired for o in run(2, 50, "oops", status="error"))  # a failed run has no result to judge
    fired = {o.rule_id for o in run(3, 50, "0.25") if o.fired}
    assert fired == {rows_rule, value_rule}
    texts_ = webhook.texts()
    assert len(texts_) == 2
    assert any(f"scheduled run 3 of script {script} on demo returned 50 rows (more than 10)" in t for t in texts_)
    assert any("first value 0.25 is below 1.5" in t for t in texts_)
    other = ScheduledRun(uuid.uuid4(), uuid.uuid4(), DEMO_CONNECTION, 4, "success", 99, "9", None)
    assert [o.rule_id for o in engine.on_scheduled_run(other)] == [value_rule]  # the script filter holds


def test_advisor_findings_fire_once(engine: AlertEngine, webhook: WebhookReceiver) -> None:
    rule_id = rule(engine, "advisor_findings", webhook=webhook, connection=DEMO_CONNECTION, level="INFO")
    now = datetime.now(UTC)
    outcome = next(o for o in engine.evaluate(now) if o.rule_id == rule_id)
    assert outcome.fired, outcome
    [text] = webhook.texts()
    assert "advisor finding(s) at INFO or above on demo" in text
    engine.evaluate(now + timedelta(minutes=1))  # still there: counted, not sent again
    assert len(webhook.texts()) == 1
    assert engine.get_rule(rule_id).suppressed == 1


def test_the_error_rate_fires_once(
    engine: AlertEngine, services: Services, app_db: Any, webhook: WebhookReceiver
) -> None:
    with extra_connection(app_db, readonly=True) as name:
        try:
            rule_id = rule(engine, "error_rate", webhook=webhook, connection=name, percent=50, min_runs=3)
            failed_run(services, name)
            failed_run(services, name)
            assert not next(o for o in engine.evaluate() if o.rule_id == rule_id).fired  # 2 runs: below min_runs
            failed_run(services, name, sql="select 1")
            now = datetime.now(UTC)
            assert next(o for o in engine.evaluate(now) if o.rule_id == rule_id).fired
            engine.evaluate(now + timedelta(seconds=30))
        finally:
            services.targets.forget(name)
    [text] = webhook.texts()
    assert f"2 of 3 runs on {name} failed in the last 15 min: 66.7% (threshold 50%)" in text


def test_an_unreachable_connection_fires_once_without_its_password(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver
) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    secret = "dead-conn-pw-9876"
    services.registry.add(
        name,
        ConnectionSecrets(f"postgresql://monitor:{secret}@127.0.0.1:{free_port()}/gone"),
        actor=ACTOR,
        roles=("admin",),
    )
    try:
        rule_id = rule(engine, "connection_unreachable", webhook=webhook, connection=name, timeout_s=2)
        now = datetime.now(UTC)
        assert next(o for o in engine.evaluate(now) if o.rule_id == rule_id).fired
        engine.evaluate(now + timedelta(minutes=1))
        engine.evaluate(now + timedelta(minutes=2))
    finally:
        with contextlib.suppress(DbaAdminError):
            services.registry.remove(name, actor=ACTOR)
    [text] = webhook.texts()
    assert f"connection {name} unreachable" in text and secret not in text
    assert engine.get_rule(rule_id).suppressed == 2


def test_two_workers_evaluating_at_once_send_one_message(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver
) -> None:
    rule(engine, "run_failure", webhook=webhook, connection=DEMO_CONNECTION)
    failed_run(services)
    other = AlertEngine(services, deliverer=engine.deliverer)
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def worker(which: AlertEngine) -> None:
        start.wait(5)
        outcomes.extend(which.evaluate())

    threads = [threading.Thread(target=worker, args=(e,)) for e in (engine, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2 and sum(o.fired for o in outcomes) == 1
    assert len(webhook.texts()) == 1


# -- no storm ------------------------------------------------------------------------------------------------


def test_many_triggers_in_a_window_make_one_message_then_one_summary(
    engine: AlertEngine, webhook: WebhookReceiver
) -> None:
    script = uuid.uuid4()
    rule_id = rule(engine, "script_result", webhook=webhook, window=15, condition="rows_above", threshold=0)
    t0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    for minute in range(7):
        run = ScheduledRun(uuid.uuid4(), script, DEMO_CONNECTION, 1000 + minute, "success", 3, None, None)
        engine.on_scheduled_run(run, t0 + timedelta(minutes=minute))
    engine.on_scheduled_run(  # the same run reported twice (a retried hook) is counted once
        ScheduledRun(uuid.uuid4(), script, DEMO_CONNECTION, 1006, "success", 3, None, None), t0 + timedelta(minutes=7)
    )
    assert len(webhook.texts()) == 1
    assert engine.get_rule(rule_id).suppressed == 6
    engine.evaluate(t0 + timedelta(minutes=10))  # still inside the window
    assert len(webhook.texts()) == 1
    engine.evaluate(t0 + timedelta(minutes=16))  # the window ended: one summary
    first, summary = webhook.texts()
    assert "returned 3 rows" in first
    assert "fired 6 more times since 2030-01-01 12:00 UTC" in summary and "run 1006" in summary
    engine.evaluate(t0 + timedelta(minutes=40))  # nothing owed any more
    assert len(webhook.texts()) == 2
    state = engine.get_rule(rule_id)
    assert state.suppressed == 0 and state.window_started_at is None and not state.firing


def test_a_condition_that_holds_sends_one_message_per_window(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver
) -> None:
    name = f"gone-{uuid.uuid4().hex[:6]}"
    services.registry.add(
        name, ConnectionSecrets(f"postgresql://m:x@127.0.0.1:{free_port()}/gone"), actor=ACTOR, roles=("admin",)
    )
    try:
        rule(engine, "connection_unreachable", webhook=webhook, connection=name, window=5, timeout_s=1)
        t0 = datetime.now(UTC)
        for minute in range(11):  # 11 evaluations, one a minute, over two windows
            engine.evaluate(t0 + timedelta(minutes=minute))
    finally:
        with contextlib.suppress(DbaAdminError):
            services.registry.remove(name, actor=ACTOR)
    said = webhook.texts()
    assert len(said) == 3, said  # minute 0: the alert; minute 5 and 10: a summary each, opening the next window
    assert "fired 5 more times" in said[1] and "fired 5 more times" in said[2]


# -- delivery: retries, failures, secrets ----------------------------------------------------------------------


def test_a_receiver_failure_is_retried_and_every_attempt_recorded(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver
) -> None:
    rule_id = rule(engine, "run_failure", webhook=webhook)
    webhook.statuses.append(500)
    result = engine.send_test(rule_id, "webhook", actor=ACTOR)
    assert result.sent and result.attempts == 2
    assert [r["status"] for r in webhook.received] == [500, 200]
    [row] = deliveries(services)
    assert (row["status"], row["attempts"], row["http_status"], row["kind"]) == ("sent", 2, 200, "test")
    log = row["attempt_log"]
    assert [(a["attempt"], a["ok"], a["http_status"]) for a in log] == [(1, False, 500), (2, True, 200)]
    assert "HTTP 500" in log[0]["error"]


def test_a_wrong_url_fails_at_once_and_a_dead_one_after_three_tries(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver
) -> None:
    rule_id = rule(engine, "run_failure", webhook=webhook)
    webhook.statuses.append(404)
    wrong = engine.send_test(rule_id, "webhook", actor=ACTOR)
    assert (wrong.status, wrong.attempts, wrong.http_status) == ("failed", 1, 404)
    dead_url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    engine.update_rule(rule_id, RuleSpec(name="dead", kind="run_failure", webhook_url=dead_url), actor=ACTOR)
    dead = engine.send_test(rule_id, "webhook", actor=ACTOR)
    assert (dead.status, dead.attempts, dead.http_status) == ("failed", 3, None)
    assert dead.error and "refused" in dead.error.lower()
    assert [r["status"] for r in deliveries(services)] == ["failed", "failed"]


def test_secrets_stay_out_of_deliveries_audit_and_logs(
    engine: AlertEngine,
    services: Services,
    webhook: WebhookReceiver,
    mailbox: tuple[Mailbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    started = datetime.now(UTC)
    rule_id = rule(engine, "run_failure", webhook=webhook, to="dba@example.com")
    engine.send_test(rule_id, "webhook", actor=ACTOR)
    engine.send_test(rule_id, "email", actor=ACTOR)
    dead_url = f"http://127.0.0.1:{free_port()}/services/T999/B999/{TOKEN}"
    engine.update_rule(
        rule_id,
        RuleSpec(name="renamed", kind="run_failure", webhook_url=dead_url, email_to="dba@example.com"),
        actor=ACTOR,
    )
    engine.send_test(rule_id, "webhook", actor=ACTOR)  # fails three times: the errors are recorded
    engine.set_enabled(rule_id, False, actor=ACTOR)
    engine.delete_rule(rule_id, actor=ACTOR)
    assert len(webhook.texts()) == 1 and len(mailbox[0].bodies()) == 1

    with services.db.connection() as conn:
        recorded = conn.execute("select coalesce(json_agg(d)::text, '') from dba_admin.alert_deliveries d").fetchone()
        trail = conn.execute(
            "select coalesce(json_agg(a order by a.id)::text, '') from dba_admin.audit_log a"
            " where at >= %s and action like 'alert.%%'",
            (started,),
        ).fetchone()
    assert recorded is not None and trail is not None
    for secret in (TOKEN, SMTP_PASSWORD, HOOK_PATH, "T0123ABCD"):
        assert secret not in recorded[0]
        assert secret not in trail[0]
        assert secret not in caplog.text
    assert f"http://127.0.0.1:{webhook.port}/…" in recorded[0] and "dba@example.com" in recorded[0]
    actions = [a["action"] for a in json.loads(trail[0])]
    assert actions == [
        "alert.rule.create",
        "alert.test",
        "alert.test",
        "alert.rule.update",
        "alert.test",
        "alert.rule.disable",
        "alert.rule.delete",
    ]
    update = next(a for a in json.loads(trail[0]) if a["action"] == "alert.rule.update")
    assert update["details"]["webhook"]["replaced"] is True
    assert update["details"]["rule"]["to"] == "renamed"


def test_the_stored_webhook_url_is_encrypted(engine: AlertEngine, services: Services, webhook: WebhookReceiver) -> None:
    rule_id = rule(engine, "run_failure", webhook=webhook)
    with services.db.connection() as conn:
        row = conn.execute(
            "select webhook_secret, webhook_target from dba_admin.alert_rules where id = %s", (rule_id,)
        ).fetchone()
    assert row is not None and TOKEN not in row[0] and row[1] == f"http://127.0.0.1:{webhook.port}/…"
    assert TOKEN not in repr(engine.get_rule(rule_id))
    with services.db.connection() as conn:  # the alert tables are private: no API role can read them
        granted = conn.execute(
            "select count(*) from pg_catalog.pg_roles r cross join unnest(array['dba_admin.alert_rules',"
            " 'dba_admin.alert_state', 'dba_admin.alert_events', 'dba_admin.alert_deliveries']) t"
            " where r.rolname in ('anon', 'authenticated', 'dba_admin_authenticator')"
            " and pg_catalog.has_table_privilege(r.oid, t, 'select')"
        ).fetchone()
    assert granted == (0,)


# -- the page -------------------------------------------------------------------------------------------------


@pytest.fixture
def page_env(app_db: Any, monkeypatch: pytest.MonkeyPatch, engine: AlertEngine) -> AlertEngine:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DBA_ADMIN_DATA_DIR", str(app_db.settings.data_dir))
    return engine


def test_the_alerts_page_says_when_there_is_nothing_yet(app_db: Any, page_env: AlertEngine) -> None:
    at, _ = logged_in_page(app_db.dsn, ALERTS_PAGE, "dba")
    assert not at.exception
    shown = texts(at)
    assert "No alert rule yet" in shown and "No delivery yet" in shown
    assert [b.label for b in at.button if b.label == "Save rule"]


def test_the_alerts_page_lists_rules_sends_a_test_and_saves_a_new_rule(
    app_db: Any, page_env: AlertEngine, webhook: WebhookReceiver
) -> None:
    rule_id = rule(page_env, "run_failure", webhook=webhook, connection=DEMO_CONNECTION)
    at, _ = logged_in_page(app_db.dsn, ALERTS_PAGE, "admin")
    table = at.dataframe[0].value
    assert list(table["name"]) == [page_env.get_rule(rule_id).name]
    assert list(table["state"]) == ["ok"] and list(table["channels"]) == [f"http://127.0.0.1:{webhook.port}/…"]
    assert TOKEN not in texts(at)

    next(b for b in at.button if b.label == "Send test to webhook").click().run()
    assert not at.exception
    assert "Test message sent to" in texts(at)
    assert len(webhook.texts()) == 1 and "Test message of alert rule" in webhook.texts()[0]
    assert at.dataframe[1].value["status"].tolist() == ["sent"]

    at.selectbox(key="alerts_kind_new").select("error_rate").run()
    at.text_input[0].input("Too many errors")
    next(t for t in at.text_input if t.label == "E-mail addresses").input("dba@example.com")
    next(b for b in at.button if b.label == "Save rule").click().run()
    assert not at.exception, at.exception
    assert "Rule Too many errors saved." in texts(at)
    saved = next(r for r in page_env.list_rules() if r.name == "Too many errors")
    assert saved.kind == "error_rate" and saved.email_to == ("dba@example.com",)
    assert saved.parameters == {"percent": 10.0, "min_runs": 5}


def test_the_alerts_page_edits_disables_and_deletes_a_rule(
    app_db: Any, page_env: AlertEngine, webhook: WebhookReceiver
) -> None:
    rule_id = rule(page_env, "run_failure", webhook=webhook)
    name = page_env.get_rule(rule_id).name
    at, _ = logged_in_page(app_db.dsn, ALERTS_PAGE, "dba")

    def click(label: str) -> None:
        next(b for b in at.button if b.label == label).click().run()
        assert not at.exception, at.exception

    click("Edit")
    assert f"Edit rule {name}" in texts(at)
    next(n for n in at.number_input if n.label == "Window (minutes)").set_value(30)
    next(c for c in at.checkbox if c.label == "Remove the webhook").check()
    next(t for t in at.text_input if t.label == "E-mail addresses").input("dba@example.com")
    click("Save rule")
    edited = page_env.get_rule(rule_id)
    assert (edited.window_minutes, edited.webhook_target, edited.email_to) == (30, None, ("dba@example.com",))
    assert "New rule" in texts(at)  # the form is back to a new rule

    click("Disable")
    assert f"Rule {name} disabled." in texts(at) and list(at.dataframe[0].value["state"]) == ["disabled"]
    click("Delete rule")
    assert "Tick the confirmation first" in texts(at) and page_env.list_rules()
    at.checkbox(key=f"alerts_confirm_delete_{rule_id}").check()
    click("Delete rule")
    assert f"Rule {name} deleted" in texts(at) and page_env.list_rules() == []
    assert "No alert rule yet" in texts(at)


def test_the_alerts_page_refuses_an_analyst(app_db: Any, page_env: AlertEngine) -> None:
    at, _ = logged_in_page(app_db.dsn, ALERTS_PAGE, "analyst")
    assert any("needs the role" in e.value for e in at.error)
    assert not at.dataframe


# -- the command line ------------------------------------------------------------------------------------------


def test_the_command_line_lists_rules_and_sends_a_test(
    page_env: AlertEngine, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    name = page_env.get_rule(rule(page_env, "run_failure", webhook=webhook)).name
    assert main(["alert", "list"]) == 0
    out = capsys.readouterr().out
    assert name in out and f"http://127.0.0.1:{webhook.port}/…" in out and TOKEN not in out
    assert main(["alert", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["name"] == name and listed["status"] == "ok" and "webhook_secret" not in listed
    assert main(["alert", "test", name]) == 0
    assert f"webhook http://127.0.0.1:{webhook.port}/…: sent after 1 attempt(s) HTTP 200" in capsys.readouterr().out
    assert len(webhook.texts()) == 1
    assert main(["alert", "test", "no such rule"]) == 2
    assert "no alert rule named 'no such rule'" in capsys.readouterr().err


# -- through the real worker -----------------------------------------------------------------------------------


def test_a_worker_judges_scheduled_results_and_evaluates_rules_on_its_own(
    engine: AlertEngine, services: Services, webhook: WebhookReceiver, app_db: Any
) -> None:
    """The wiring, end to end: a procrastinate worker runs a schedule whose result fires a script_result rule (the
    Scheduler's hook), and its periodic alerts task fires a run_failure rule on a failed run, each once."""
    from test_worker import EVERY_SECOND, FastClock, wait_for

    from dba_admin.jobs.schedules import ScheduleManager
    from dba_admin.jobs.worker import build_app, start_in_thread

    username, _ = make_user(app_db.dsn, "analyst")
    claims = claims_of(app_db.dsn, username)
    project = services.projects.create_project(claims, f"alerts-{uuid.uuid4().hex[:8]}")
    script = services.projects.create_script(claims, project.id, "three rows", "select * from generate_series(1, 3)")
    rule(engine, "script_result", webhook=webhook, script_id=str(script.id), condition="rows_above", threshold=2)
    rule(engine, "run_failure", webhook=webhook, connection=DEMO_CONNECTION)
    ScheduleManager(services.db).create(claims, script.id, DEMO_CONNECTION, "* * * * *")
    run_id = failed_run(services)

    worker = start_in_thread(
        build_app(services, tick_cron=EVERY_SECOND, alerts_cron=EVERY_SECOND, clock=FastClock()), name="alerts"
    )
    try:
        assert worker.ready.wait(15) and not worker.errors, worker.errors
        wait_for(lambda: len(webhook.texts()) >= 2, 30, "both rules to fire")
    finally:
        worker.stop()
    texts_ = webhook.texts()
    assert sum(f"of script {script.id} on demo returned 3 rows (more than 2)" in t for t in texts_) == 1
    assert sum(f"run {run_id} on demo" in t for t in texts_) == 1
