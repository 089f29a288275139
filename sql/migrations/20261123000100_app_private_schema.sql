-- sql/migrations/20261123000100_app_private_schema.sql
-- The app's private schema `dba_admin`: login users, the append-only audit trail, shared settings, and the
-- trigger functions the app tables use. Private means: nothing is granted to PUBLIC, anon, authenticated,
-- service_role or the read-only role; only the connecting owner (the superuser, `postgres` on Supabase) reads
-- it, so password hashes and the audit trail are out of reach of any SQL a user types or any API key.
-- The migration runner creates dba_admin.schema_migrations itself; this file does not touch it.
-- Every function has `set search_path = ''` and names everything schema-qualified (Supabase's advice; the
-- advisors check it).

create schema if not exists dba_admin;
comment on schema dba_admin is 'DBA Admin private schema: users, audit log, settings, migrations. Not exposed to API roles.';
revoke all on schema dba_admin from public;

-- Users ---------------------------------------------------------------------------------------------------
-- Kept in the database (not a YAML file on one server) so that several app instances share logins and lockout.
create table dba_admin.users (
    id uuid primary key default gen_random_uuid(),
    username text not null unique
        constraint users_username_format check (username ~ '^[a-z0-9][a-z0-9_.@+-]{1,127}$'),
    email text not null unique
        constraint users_email_lowercase check (email = lower(email) and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name text,
    password_hash text,
    role text not null default 'viewer'
        constraint users_role_valid check (role in ('admin', 'dba', 'analyst', 'viewer')),
    auth_source text not null default 'local'
        constraint users_auth_source_valid check (auth_source in ('local', 'supabase')),
    is_active boolean not null default true,
    failed_attempts integer not null default 0 constraint users_failed_attempts_nonneg check (failed_attempts >= 0),
    locked_until timestamptz,
    last_login_at timestamptz,
    password_changed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- A local account without a hash could never log in; a Supabase account must not carry one.
    constraint users_password_matches_source check (
        (auth_source = 'local' and password_hash is not null)
        or (auth_source = 'supabase' and password_hash is null)
    )
);
comment on table dba_admin.users is 'DBA Admin login users: bcrypt hash (local) or Supabase Auth account, app role, lockout state.';
comment on column dba_admin.users.password_hash is 'bcrypt hash for local users; NULL for users who log in through Supabase Auth.';
comment on column dba_admin.users.role is 'App role: admin, dba, analyst or viewer. Sent to the database as the app_role claim.';
comment on column dba_admin.users.failed_attempts is 'Consecutive failed logins; reset on success. At the limit the account is locked.';
comment on column dba_admin.users.locked_until is 'Login refused until this time (lockout after repeated failures).';

-- Audit log -----------------------------------------------------------------------------------------------
-- Append-only: the grants give no app role UPDATE/DELETE/TRUNCATE, and triggers refuse those for everyone,
-- superuser included, so a mistaken statement cannot rewrite history. (A table owner can still disable the
-- triggers deliberately, e.g. for a retention job; that is DDL, visible in the server log, not an accident.)
create table dba_admin.audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default clock_timestamp(),
    actor text,
    action text not null constraint audit_log_action_nonempty check (action <> ''),
    target text,
    details jsonb not null default '{}'::jsonb,
    app_instance text
);
comment on table dba_admin.audit_log is 'Append-only audit trail of logins, project/script changes, executions, user admin and backups.';
comment on column dba_admin.audit_log.actor is 'Who did it: username or email; NULL for the system (migrations, bootstrap).';
comment on column dba_admin.audit_log.action is 'What happened, dotted verb, e.g. login.success, project.delete, script.run.';
comment on column dba_admin.audit_log.app_instance is 'Which app server wrote the row (host:pid), for teams running several.';
create index audit_log_at_idx on dba_admin.audit_log (at desc);
create index audit_log_actor_at_idx on dba_admin.audit_log (actor, at desc);
create index audit_log_action_at_idx on dba_admin.audit_log (action, at desc);

create or replace function dba_admin.audit_log_append_only()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'dba_admin.audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege',
          hint = 'Audit rows can only be inserted.';
end;
$$;
comment on function dba_admin.audit_log_append_only() is 'Refuses UPDATE, DELETE and TRUNCATE on dba_admin.audit_log for every role.';

create trigger audit_log_no_update_delete
    before update or delete on dba_admin.audit_log
    for each row execute function dba_admin.audit_log_append_only();
create trigger audit_log_no_truncate
    before truncate on dba_admin.audit_log
    for each statement execute function dba_admin.audit_log_append_only();

-- Settings ------------------------------------------------------------------------------------------------
-- Settings every app instance must agree on (e.g. lockout policy), editable from the Admin pages.
create table dba_admin.settings (
    key text primary key constraint settings_key_nonempty check (key <> ''),
    value jsonb not null,
    updated_by text,
    updated_at timestamptz not null default now()
);
comment on table dba_admin.settings is 'Settings shared by every app instance, keyed by name, value as JSON.';

-- Trigger functions shared by the app tables -----------------------------------------------------------------
-- They live here, not in public, so they are not callable through an API; a trigger fires them without the
-- caller needing EXECUTE on them or USAGE on this schema.
create or replace function dba_admin.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := pg_catalog.now();
  return new;
end;
$$;
comment on function dba_admin.touch_updated_at() is 'BEFORE UPDATE trigger: keeps updated_at true without trusting the client.';

create trigger users_touch_updated_at before update on dba_admin.users
    for each row execute function dba_admin.touch_updated_at();
create trigger settings_touch_updated_at before update on dba_admin.settings
    for each row execute function dba_admin.touch_updated_at();

-- Nothing for anyone but the owner. Explicit, so it also holds on Supabase whatever default privileges exist.
revoke all on all tables in schema dba_admin from public, anon, authenticated, service_role;
revoke all on all sequences in schema dba_admin from public, anon, authenticated, service_role;
revoke all on all functions in schema dba_admin from public, anon, authenticated, service_role;
-- Functions added here later start without PUBLIC execute as well.
alter default privileges in schema dba_admin revoke execute on functions from public;
