-- sql/migrations/20261123002000_advisors.sql
-- Advisors and metrics over time (dba_admin/advisors.py):
--   * dba_admin.muted_findings: findings a DBA has decided to live with, keyed by the finding's cache_key, per
--     database (the table lives in the database it describes). Muted findings are still listed, flagged muted;
--     mute and unmute are audited in dba_admin.audit_log.
--   * dba_admin.snapshots and its children: what `dba-admin snapshot` (cron) and the dashboard (when the last
--     snapshot is over an hour old) store, so growth of the database and its biggest tables, index usage and
--     statement time can be charted over days. pg_stat_statements counters are cumulative, so the query helpers
--     chart the difference between consecutive snapshots.
-- Private like the rest of the schema: nothing is granted to PUBLIC or the API roles.

create table dba_admin.muted_findings (
    cache_key text primary key constraint muted_findings_key_nonempty check (cache_key <> ''),
    check_name text,
    object text,
    muted_by text not null,
    muted_at timestamptz not null default now(),
    reason text
);
comment on table dba_admin.muted_findings is
    'Advisor findings muted by a DBA (by cache_key); still listed as muted. Mute/unmute are audited.';

create table dba_admin.snapshots (
    id bigint generated always as identity primary key,
    taken_at timestamptz not null default now(),
    database_name text not null,
    database_size_bytes bigint not null,
    server_version text,
    connections integer,
    xact_commit bigint,
    xact_rollback bigint,
    cache_hit_ratio double precision,
    statements_available boolean not null default false,
    taken_by text
);
comment on table dba_admin.snapshots is
    'One row per metrics snapshot (dba-admin snapshot / the dashboard): database size and counters at that time.';
create index snapshots_taken_at_idx on dba_admin.snapshots (taken_at desc);

create table dba_admin.snapshot_tables (
    snapshot_id bigint not null references dba_admin.snapshots (id) on delete cascade,
    schema_name text not null,
    table_name text not null,
    kind text not null,
    total_bytes bigint not null,
    table_bytes bigint not null,
    index_bytes bigint not null,
    estimated_rows bigint not null,
    seq_scan bigint,
    idx_scan bigint,
    n_live_tup bigint,
    n_dead_tup bigint,
    primary key (snapshot_id, schema_name, table_name)
);
comment on table dba_admin.snapshot_tables is 'Per snapshot: size, row estimate and scan counters of the biggest tables.';

create table dba_admin.snapshot_indexes (
    snapshot_id bigint not null references dba_admin.snapshots (id) on delete cascade,
    schema_name text not null,
    index_name text not null,
    table_name text not null,
    index_bytes bigint not null,
    idx_scan bigint,
    idx_tup_read bigint,
    primary key (snapshot_id, schema_name, index_name)
);
comment on table dba_admin.snapshot_indexes is 'Per snapshot: size and usage (scans) of the biggest indexes.';

create table dba_admin.snapshot_statements (
    snapshot_id bigint not null references dba_admin.snapshots (id) on delete cascade,
    queryid bigint not null,
    query text not null,
    calls bigint not null,
    total_exec_ms double precision not null,
    mean_exec_ms double precision not null,
    rows bigint not null,
    shared_blks_hit bigint,
    shared_blks_read bigint,
    primary key (snapshot_id, queryid)
);
comment on table dba_admin.snapshot_statements is
    'Per snapshot: cumulative pg_stat_statements figures of the top statements (summed over users).';

revoke all on dba_admin.muted_findings, dba_admin.snapshots, dba_admin.snapshot_tables,
    dba_admin.snapshot_indexes, dba_admin.snapshot_statements from public, anon, authenticated, service_role;
