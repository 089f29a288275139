-- sql/migrations/20261129001000_revocable_sessions_login_throttle.sql
-- Revocable re-login cookies and login throttling instead of a lock any visitor could trigger (issue 10, §4).
--
-- users.session_version is carried inside the signed re-login cookie; a cookie whose version differs from the
-- row's is refused. Logout, password reset, (de)activation and role change bump it, so every cookie issued
-- before is dead at once, on every app server.
--
-- login_attempts holds the failed-login throttle per source address and per username, shared by every app
-- server: the delay before the next attempt doubles with each failure up to a cap, and a success resets it.
-- A throttle never locks an account and never ends a session already open; users.locked_until is now set only
-- by an admin (Users page or `dba-admin users lock`).

alter table dba_admin.users
    add column session_version integer not null default 1
        constraint users_session_version_positive check (session_version > 0);
comment on column dba_admin.users.session_version is
    'Carried in the signed re-login cookie; bumped on logout, password reset, (de)activation and role change, which revokes every cookie issued before.';
comment on column dba_admin.users.failed_attempts is
    'Consecutive failed logins, for display; reset on success. Failures slow logins down (dba_admin.login_attempts), they no longer lock.';
comment on column dba_admin.users.locked_until is
    'New logins refused until this time; set only by an admin. Sessions already open go on.';

create table dba_admin.login_attempts (
    kind text not null constraint login_attempts_kind_valid check (kind in ('address', 'username')),
    key text not null constraint login_attempts_key_length check (length(key) between 1 and 256),
    failures integer not null default 0 constraint login_attempts_failures_nonneg check (failures >= 0),
    first_failed_at timestamptz not null default now(),
    last_failed_at timestamptz not null default now(),
    next_allowed_at timestamptz not null default now(),
    primary key (kind, key)
);
comment on table dba_admin.login_attempts is
    'Failed-login throttle shared by all app servers: per source address and per username, the time before which a new attempt is refused.';
comment on column dba_admin.login_attempts.next_allowed_at is
    'A login attempt for this key before this time is refused without checking the password (and audited as login.throttled).';
create index login_attempts_last_failed_at_idx on dba_admin.login_attempts (last_failed_at);

revoke all on dba_admin.login_attempts from public, anon, authenticated, service_role;
