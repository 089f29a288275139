"""Benchmark: alert latency and delivery time, against a local webhook receiver and a local SMTP server.

Usage:
    python bench/alerts_bench.py [--samples 15] [--deliveries 50]

Starts a throwaway embedded workspace with the PetCare demo (connection ``demo``) in a temp dir, an http.server that
answers like a Slack incoming webhook and an aiosmtpd server, both on 127.0.0.1, then measures:

* ``failed run -> webhook``: from the moment a failed run is recorded (``run_adhoc`` returned: the row is committed)
  to the moment the receiver has the message, when ``AlertEngine.evaluate()`` runs right after. In production the
  worker calls evaluate() once a minute, so add up to 60 s of waiting for the tick to these figures.
* ``evaluate()``: the whole call with one run_failure rule (check, state, delivery, record).
* ``webhook delivery`` / ``e-mail delivery``: ``Deliverer.webhook`` / ``Deliverer.email`` alone (the POST or the SMTP
  conversation plus the delivery row and its attempt record in the workspace).
* ``webhook POST alone``: ``Sender.webhook`` without the record, to show what the bookkeeping costs.

Medians (and p90) of the samples; every server it started is stopped and its data deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller

from dba_admin.config import Settings
from dba_admin.jobs.alerts import AlertEngine, RuleSpec
from dba_admin.jobs.delivery import Deliverer, Message, Sender
from dba_admin.local_pg import EmbeddedPostgres
from dba_admin.projects import ProjectManager
from dba_admin.rls import UserClaims
from dba_admin.services import Services


class Receiver:
    """A webhook on loopback that notes when each POST arrived (time.perf_counter)."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                receiver.arrivals.append(time.perf_counter())
                receiver.arrived.set()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/benchtoken"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def line(label: str, values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{label:<34} {statistics.median(values_ms):>9.1f} {p90:>9.1f} {min(values_ms):>9.1f} {len(values_ms):>5}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=15, help="failed runs alerted on (one rule each)")
    parser.add_argument("--deliveries", type=int, default=50, help="deliveries timed per channel")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="dba-admin-alerts-bench-"))
    root.chmod(0o711)
    receiver = Receiver()
    smtp_port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    settings = Settings(
        data_dir=root / "data",
        load_demo=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="bench@example.com",
        smtp_starttls=False,
    )
    services: Services | None = None
    try:
        started = time.perf_counter()
        services = Services.build(settings)
        print(f"workspace with the demo ready in {time.perf_counter() - started:.1f} s (embedded, {root})")
        engine = AlertEngine(services)
        pm = ProjectManager(services.db)
        demo = services.connection("demo")
        email = "bench@example.com"
        claims = UserClaims(sub=uuid.uuid5(uuid.NAMESPACE_URL, email), email=email, app_role="analyst")
        pm.run_adhoc(claims, "select 1", target=demo)  # warm the pools

        latency: list[float] = []
        evaluate_ms: list[float] = []
        for i in range(args.samples):
            rule = engine.create_rule(
                RuleSpec(name=f"bench {i}", kind="run_failure", connection="demo", webhook_url=receiver.url),
                actor="bench",
            )
            receiver.arrived.clear()
            pm.run_adhoc(claims, "select 1/0", target=demo)
            recorded = time.perf_counter()
            outcomes = engine.evaluate()
            done = time.perf_counter()
            if not receiver.arrived.wait(10) or not any(o.fired for o in outcomes):
                print(f"sample {i}: no alert arrived", file=sys.stderr)
                return 1
            latency.append((receiver.arrivals[-1] - recorded) * 1000)
            evaluate_ms.append((done - recorded) * 1000)
            engine.delete_rule(rule.id, actor="bench")

        deliverer = Deliverer(services.db)
        sender = Sender(settings)
        message = Message(subject="[DBA Admin] bench", text="[DBA Admin] Alert 'bench': a benchmark message")
        webhook_ms, email_ms, post_ms = [], [], []
        for _ in range(args.deliveries):
            clock = time.perf_counter()
            assert deliverer.webhook(receiver.url, message, rule_id=None, rule_name="bench").sent
            webhook_ms.append((time.perf_counter() - clock) * 1000)
            clock = time.perf_counter()
            assert deliverer.email(["oncall@example.com"], message, rule_id=None, rule_name="bench").sent
            email_ms.append((time.perf_counter() - clock) * 1000)
            clock = time.perf_counter()
            assert sender.webhook(receiver.url, message).ok
            post_ms.append((time.perf_counter() - clock) * 1000)

        print()
        print(f"{'what (ms)':<34} {'median':>9} {'p90':>9} {'min':>9} {'n':>5}")
        print(line("failed run -> webhook received", latency))
        print(line("evaluate() (one run_failure rule)", evaluate_ms))
        print(line("webhook delivery (recorded)", webhook_ms))
        print(line("e-mail delivery (recorded)", email_ms))
        print(line("webhook POST alone", post_ms))
        print("\nIn production add the wait for the worker's once-a-minute tick (0 to 60 s) to the first line.")
        return 0
    finally:
        if services is not None:
            services.close()
        smtp.stop()
        receiver.close()
        EmbeddedPostgres(settings.data_dir).destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
