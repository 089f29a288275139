-- Alerts (issue 16, section 2): rules, their state, what each one has counted, and every delivery.
--
--   * dba_admin.alert_rules: what to watch (kind + parameters, optionally one connection), the deduplication window,
--     and where to send (a webhook, e-mail addresses). A webhook URL carries its token in the path (Slack's
--     /services/T…/B…/secret), so it is kept only as a Fernet token (SECRETS_KEY, like the connections' DSNs) plus
--     a redacted form (scheme://host/…) for display, the audit trail and the deliveries.
--   * dba_admin.alert_state: one row per rule: ok or firing, last evaluated and fired, and the open window: the first
--     trigger sends a message and opens it; later triggers inside it are only counted (suppressed) and go out as one
--     summary when it ends. Workers lock the row (FOR UPDATE SKIP LOCKED), so two workers never send twice.
--   * dba_admin.alert_events: what an event rule (a failed run, a scheduled run's result) has already counted, keyed
--     per rule, so each event is counted once however often and by however many workers the rules are evaluated.
--   * dba_admin.alert_deliveries: every message sent or tried: channel, redacted target, a payload summary, attempts
--     (each one in attempt_log), HTTP status or SMTP reply, error. Never a URL token or a password.
-- Private like the rest of the schema: nothing is granted to PUBLIC or the API roles.

create table dba_admin.alert_rules (
    id uuid primary key default gen_random_uuid(),
    name text not null unique
        constraint alert_rules_name_valid check (pg_catalog.btrim(name) <> '' and pg_catalog.length(name) <= 120),
    kind text not null
        constraint alert_rules_kind_valid check (kind in ('script_result', 'run_failure', 'advisor_findings',
                                                         'error_rate', 'connection_unreachable')),
    parameters jsonb not null default '{}'::jsonb
        constraint alert_rules_parameters_object check (pg_catalog.jsonb_typeof(parameters) = 'object'),
    connection_name text,
    window_seconds integer not null default 900
        constraint alert_rules_window_range check (window_seconds between 60 and 604800),
    webhook_secret text,
    webhook_target text,
    email_to text[] not null default '{}'::text[],
    enabled boolean not null default true,
    created_by text not null,
    updated_by text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint alert_rules_has_channel check (webhook_secret is not null or pg_catalog.cardinality(email_to) > 0),
    constraint alert_rules_webhook_pair check ((webhook_secret is null) = (webhook_target is null))
);
comment on table dba_admin.alert_rules is
    'Alert rules: what to watch, the deduplication window, and the channels (webhook URL encrypted, e-mail addresses).';
comment on column dba_admin.alert_rules.connection_name is 'The connection watched; NULL: any (or every) connection.';
comment on column dba_admin.alert_rules.window_seconds is 'One message per window; later triggers in it are summarised once.';
comment on column dba_admin.alert_rules.webhook_secret is 'Fernet token of the webhook URL (SECRETS_KEY; the URL holds a token).';
comment on column dba_admin.alert_rules.webhook_target is 'The webhook without its secret parts (scheme://host/…), for display and records.';
create trigger alert_rules_touch_updated_at before update on dba_admin.alert_rules
    for each row execute function dba_admin.touch_updated_at();

create table dba_admin.alert_state (
    rule_id uuid primary key references dba_admin.alert_rules (id) on delete cascade,
    status text not null default 'ok' constraint alert_state_status_valid check (status in ('ok', 'firing')),
    last_evaluated_at timestamptz,
    last_fired_at timestamptz,
    last_sent_at timestamptz,
    last_message text,
    window_started_at timestamptz,
    suppressed integer not null default 0 constraint alert_state_suppressed_nonneg check (suppressed >= 0),
    first_suppressed_at timestamptz,
    updated_at timestamptz not null default now()
);
comment on table dba_admin.alert_state is
    'Per rule: ok or firing, last evaluated/fired/sent, and the open window with the triggers counted in it.';
comment on column dba_admin.alert_state.window_started_at is 'When the open window began (its first message); NULL: no open window.';
comment on column dba_admin.alert_state.suppressed is 'Triggers inside the open window not sent yet: one summary at its end.';
create trigger alert_state_touch_updated_at before update on dba_admin.alert_state
    for each row execute function dba_admin.touch_updated_at();

create table dba_admin.alert_events (
    rule_id uuid not null references dba_admin.alert_rules (id) on delete cascade,
    event_key text not null constraint alert_events_key_nonempty check (event_key <> ''),
    seen_at timestamptz not null default now(),
    primary key (rule_id, event_key)
);
comment on table dba_admin.alert_events is
    'Events an alert rule has counted (a failed run, a scheduled run), so each is counted once; pruned after its window.';
create index alert_events_seen_at_idx on dba_admin.alert_events (seen_at);

create table dba_admin.alert_deliveries (
    id bigint generated always as identity primary key,
    rule_id uuid references dba_admin.alert_rules (id) on delete set null,
    rule_name text not null,
    channel text not null constraint alert_deliveries_channel_valid check (channel in ('webhook', 'email')),
    target text not null,
    kind text not null constraint alert_deliveries_kind_valid check (kind in ('alert', 'summary', 'test')),
    payload_summary text not null,
    attempts integer not null default 0 constraint alert_deliveries_attempts_nonneg check (attempts >= 0),
    attempt_log jsonb not null default '[]'::jsonb,
    status text not null default 'pending'
        constraint alert_deliveries_status_valid check (status in ('pending', 'retrying', 'sent', 'failed')),
    http_status integer,
    smtp_reply text,
    error text,
    created_at timestamptz not null default now(),
    last_attempt_at timestamptz,
    finished_at timestamptz
);
comment on table dba_admin.alert_deliveries is
    'Every alert message sent or tried: redacted target, payload summary, each attempt, HTTP status or SMTP reply.';
comment on column dba_admin.alert_deliveries.target is 'Where it went, without secrets: scheme://host/… for a webhook, the addresses for e-mail.';
comment on column dba_admin.alert_deliveries.attempt_log is 'One object per attempt: at, outcome, HTTP status or SMTP reply, error, milliseconds.';
create index alert_deliveries_created_at_idx on dba_admin.alert_deliveries (created_at desc);
create index alert_deliveries_rule_created_at_idx on dba_admin.alert_deliveries (rule_id, created_at desc);

revoke all on dba_admin.alert_rules, dba_admin.alert_state, dba_admin.alert_events, dba_admin.alert_deliveries
    from public, anon, authenticated, service_role;
revoke all on sequence dba_admin.alert_deliveries_id_seq from public, anon, authenticated, service_role;
