"""Failed-login throttle per source address and per username, in dba_admin.login_attempts.

Instead of a hard lock that any visitor could trigger against any account, each failure makes the next attempt
for the same address and the same username wait longer: no delay for the first ``free_failures``, then
``base_seconds`` doubling per failure up to ``max_seconds``. A success resets both. An attempt made during a
delay is refused without checking the password and does not extend the delay. The state lives in the database
so every app server behind a load balancer sees the same delays; nothing is kept in a local file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg

KEY_LENGTH = 256  # the stored key is cut to this; a longer "username" is garbage anyway


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 3
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    forget_after: dt.timedelta = dt.timedelta(hours=24)  # a failure this old no longer counts

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure."""
        over = failures - self.free_failures
        if over <= 0:
            return 0.0
        return float(min(self.max_seconds, self.base_seconds * 2 ** min(over - 1, 30)))


@dataclass(frozen=True)
class ThrottleState:
    """One key's state after a failure, or the blocking key on a refused attempt."""

    kind: str  # 'address' or 'username'
    key: str
    failures: int
    next_allowed_at: dt.datetime
    retry_after_seconds: float


def throttle_keys(username: str | None, address: str | None) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    if address:
        keys.append(("address", address[:KEY_LENGTH]))
    if username:
        keys.append(("username", username[:KEY_LENGTH]))
    return keys


def blocking(conn: psycopg.Connection[Any], keys: list[tuple[str, str]]) -> ThrottleState | None:
    """The key whose delay runs longest, when a delay is running for any of ``keys``; else None."""
    if not keys:
        return None
    row = conn.execute(
        "select a.kind, a.key, a.failures, a.next_allowed_at,"
        " extract(epoch from a.next_allowed_at - now())::float8"
        " from dba_admin.login_attempts a join unnest(%s::text[], %s::text[]) as k(kind, key)"
        " on a.kind = k.kind and a.key = k.key"
        " where a.next_allowed_at > now() order by a.next_allowed_at desc limit 1 /* dba_admin */",
        ([k for k, _ in keys], [v for _, v in keys]),
    ).fetchone()
    return ThrottleState(*row) if row else None


def record_failure(
    conn: psycopg.Connection[Any], keys: list[tuple[str, str]], policy: ThrottlePolicy
) -> list[ThrottleState]:
    """Count one failure for every key and set its next allowed time; returns each key's new state."""
    states: list[ThrottleState] = []
    forget = policy.forget_after
    for kind, key in keys:
        counted = conn.execute(
            "insert into dba_admin.login_attempts as a (kind, key, failures) values (%(kind)s, %(key)s, 1)"
            " on conflict (kind, key) do update set"
            " failures = case when a.last_failed_at < now() - %(forget)s then 1 else a.failures + 1 end,"
            " first_failed_at = case when a.last_failed_at < now() - %(forget)s then now() else a.first_failed_at end,"
            " last_failed_at = now()"
            " returning failures /* dba_admin */",
            {"kind": kind, "key": key, "forget": forget},
        ).fetchone()
        assert counted is not None
        row = conn.execute(
            "update dba_admin.login_attempts set next_allowed_at = now() + make_interval(secs => %s)"
            " where kind = %s and key = %s"
            " returning kind, key, failures, next_allowed_at,"
            " greatest(0, extract(epoch from next_allowed_at - now()))::float8 /* dba_admin */",
            (policy.delay_after(counted[0]), kind, key),
        ).fetchone()
        assert row is not None
        states.append(ThrottleState(*row))
    # Old entries (failures long ago) are dropped as new ones come, so the table stays small.
    conn.execute("delete from dba_admin.login_attempts where last_failed_at < now() - %s /* dba_admin */", (forget,))
    return states


def reset(conn: psycopg.Connection[Any], keys: list[tuple[str, str]]) -> None:
    """Forget the failures of ``keys`` (a successful login)."""
    if keys:
        conn.execute(
            "delete from dba_admin.login_attempts a using unnest(%s::text[], %s::text[]) as k(kind, key)"
            " where a.kind = k.kind and a.key = k.key /* dba_admin */",
            ([k for k, _ in keys], [v for _, v in keys]),
        )
