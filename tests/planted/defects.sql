-- tests/planted/defects.sql: the static part of the planted database (issue 13), run in ONE transaction by
-- tests/planted/__init__.py after dba_admin.migrations.apply_local_compat (roles anon/authenticated/service_role,
-- auth.uid()/role()/email()/jwt(), schema extensions). What needs live sessions, statistics, VACUUM or
-- CREATE INDEX CONCURRENTLY is done by the Python module; the manifest (which defect, which object, which check of
-- ours, which splinter lint, which PgHero method) is kept there, next to the code that makes the dynamic ones.
--
-- The database looks like a small Supabase project (a pet clinic): auth.users, storage buckets and objects with
-- RLS, a pgmq-like queue with its pgmq_public API schema, pg_graphql's schemas. Each defect is commented with its
-- manifest id (D..). Objects marked INNOCENT are realistic and correct: no check may report them.

-- ---------------------------------------------------------------------------------------------------------------
-- Supabase-like platform schemas
-- ---------------------------------------------------------------------------------------------------------------

create table auth.users (
    id uuid primary key default gen_random_uuid(),
    email text,
    phone text,
    raw_user_meta_data jsonb not null default '{}',
    raw_app_meta_data jsonb not null default '{}',
    created_at timestamptz not null default now(),
    constraint users_email_key unique (email),
    constraint users_phone_key unique (phone)
);

insert into auth.users (id, email, raw_user_meta_data)
select ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'user' || g || '@example.com',
       jsonb_build_object('team', 'team' || (g % 3))
from generate_series(1, 50) g;

-- storage: buckets and objects with RLS, as Supabase Storage creates them
create schema storage;
grant usage on schema storage to anon, authenticated, service_role;
create table storage.buckets (
    id text primary key,
    name text not null unique,
    owner uuid,
    public boolean not null default false,
    created_at timestamptz not null default now()
);
create table storage.objects (
    id uuid primary key default gen_random_uuid(),
    bucket_id text references storage.buckets (id),
    name text,
    owner uuid,
    metadata jsonb,
    created_at timestamptz not null default now()
);
create unique index bucketid_objname on storage.objects (bucket_id, name);
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;
grant select, insert, update, delete on storage.buckets, storage.objects to anon, authenticated, service_role;
insert into storage.buckets (id, name, public)
values ('avatars', 'avatars', true), ('logos', 'logos', true), ('invoices', 'invoices', false);
insert into storage.objects (bucket_id, name, owner)
select 'avatars', 'avatar-' || g || '.png', ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid
from generate_series(1, 20) g;
-- D_public_bucket_listing: a public bucket whose objects anyone may list (splinter 0025)
create policy "Avatar images are listable" on storage.objects for select to public using (bucket_id = 'avatars');
-- INNOCENT: a private bucket readable by its owners only; the public bucket `logos` has no listing policy
create policy "Owners read their invoices" on storage.objects for select to authenticated
    using (bucket_id = 'invoices' and owner = (select auth.uid()));
create policy "Buckets are visible" on storage.buckets for select to anon, authenticated using (true);

-- pgmq-like queues and the pgmq_public API schema (Supabase Queues)
create schema pgmq;
create schema pgmq_public;
grant usage on schema pgmq, pgmq_public to anon, authenticated, service_role;
create table pgmq.q_jobs (
    msg_id bigint generated always as identity primary key,
    read_ct integer not null default 0,
    enqueued_at timestamptz not null default now(),
    vt timestamptz not null default now(),
    message jsonb
);
-- D_queue_exposed: a queue table the API roles can read, without RLS (splinter 0019)
grant select, insert, update, delete on pgmq.q_jobs to anon, authenticated;
-- INNOCENT: a queue with RLS and a policy
create table pgmq.q_emails (
    msg_id bigint generated always as identity primary key,
    read_ct integer not null default 0,
    enqueued_at timestamptz not null default now(),
    vt timestamptz not null default now(),
    message jsonb
);
alter table pgmq.q_emails enable row level security;
create policy "Own email jobs" on pgmq.q_emails for select to authenticated
    using ((message ->> 'user_id')::uuid = (select auth.uid()));
grant select on pgmq.q_emails to authenticated;
create function pgmq_public.send(queue_name text, message jsonb) returns bigint
language plpgsql security invoker set search_path = ''
as $$
begin
    if queue_name <> 'jobs' then
        raise exception 'unknown queue %', queue_name;
    end if;
    insert into pgmq.q_jobs (message) values (message);
    return 1;
end;
$$;
revoke execute on function pgmq_public.send(text, jsonb) from public;
grant execute on function pgmq_public.send(text, jsonb) to service_role;

-- pg_graphql's schemas (the extension itself is registered by the Python module: it is not installable here)
create schema graphql;
create schema graphql_public;
grant usage on schema graphql, graphql_public to anon, authenticated, service_role;

-- Extensions, as a Supabase project has them (in `extensions`), and two that are not right
create extension file_fdw with schema extensions;
-- D_extension_outdated: hstore installed at an old version (default 1.8) (splinter 0022)
create extension hstore with schema extensions version '1.4';
-- D_extension_in_public: citext installed in the exposed schema public (splinter 0014)
create extension citext with schema public;

-- ---------------------------------------------------------------------------------------------------------------
-- The application: a pet clinic
-- ---------------------------------------------------------------------------------------------------------------

-- INNOCENT: correct RLS, primary key to auth.users (not a unique constraint), wrapped auth.uid()
create table public.profiles (
    id uuid primary key references auth.users (id) on delete cascade,
    username text not null,
    avatar_url text
);
alter table public.profiles enable row level security;
create policy "Profiles are readable by their owner" on public.profiles for select to authenticated
    using (id = (select auth.uid()));
create policy "Profiles are editable by their owner" on public.profiles for update to authenticated
    using (id = (select auth.uid())) with check (id = (select auth.uid()));
grant select, update on public.profiles to authenticated;
insert into public.profiles (id, username) select id, split_part(email, '@', 1) from auth.users;

-- INNOCENT: RLS per owner, an index on the foreign key (never scanned yet: it must not be proposed for DROP, as
-- the only index covering pets_owner_id_fkey)
create table public.pets (
    id bigint generated by default as identity primary key,
    owner_id uuid not null references auth.users (id),
    name text not null,
    species text not null default 'dog'
);
create index pets_owner_id_idx on public.pets (owner_id);
alter table public.pets enable row level security;
create policy "Owners manage their pets" on public.pets for all to authenticated
    using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
grant select, insert, update, delete on public.pets to authenticated;
insert into public.pets (owner_id, name, species)
select ('00000000-0000-0000-0000-' || lpad((1 + g % 50)::text, 12, '0'))::uuid, 'pet ' || g,
       (array['dog', 'cat', 'rabbit'])[1 + g % 3]
from generate_series(1, 300) g;

-- D_unindexed_fk: visits.pet_id references pets without an index (splinter 0001)
create table public.visits (
    id bigint generated by default as identity primary key,
    pet_id bigint not null references public.pets (id),
    visited_at timestamptz not null default now(),
    vet_note text
);
alter table public.visits enable row level security;
create policy "Owners read their pets' visits" on public.visits for select to authenticated
    using (exists (select 1 from public.pets p where p.id = pet_id and p.owner_id = (select auth.uid())));
grant select on public.visits to authenticated;
insert into public.visits (pet_id) select 1 + g % 300 from generate_series(1, 600) g;

-- D_rls_initplan: a policy calling auth.uid() per row (splinter 0003)
create table public.appointments (
    id bigint generated by default as identity primary key,
    owner_id uuid not null,
    starts_at timestamptz not null
);
alter table public.appointments enable row level security;
create policy "Owners see their appointments" on public.appointments for select to authenticated
    using (owner_id = auth.uid());
grant select on public.appointments to authenticated;

-- D_multiple_permissive: two permissive SELECT policies for authenticated (splinter 0006); the trigger function
-- below keeps updated_at (D_search_path_trigger)
create table public.posts (
    id bigint generated by default as identity primary key,
    author_id uuid not null,
    published boolean not null default false,
    body text,
    updated_at timestamptz
);
alter table public.posts enable row level security;
create policy "Published posts are readable" on public.posts for select to authenticated using (published);
create policy "Authors read their drafts" on public.posts for select to authenticated
    using (author_id = (select auth.uid()));
grant select on public.posts to authenticated;
insert into public.posts (author_id, published, body)
select ('00000000-0000-0000-0000-' || lpad((1 + g % 50)::text, 12, '0'))::uuid, g % 2 = 0, 'post ' || g
from generate_series(1, 40) g;

-- D_user_metadata_policy: a policy trusting user_metadata, which users edit themselves (splinter 0015)
create table public.team_docs (
    id bigint generated by default as identity primary key,
    team text not null,
    title text
);
alter table public.team_docs enable row level security;
create policy "Team members read team docs" on public.team_docs for select to authenticated
    using (team = ((select auth.jwt()) -> 'user_metadata' ->> 'team'));
grant select on public.team_docs to authenticated;

-- D_rls_disabled: a table of the API without RLS (splinter 0013)
create table public.feature_flags (
    id bigint generated by default as identity primary key,
    name text not null unique,
    enabled boolean not null default false
);
grant select on public.feature_flags to anon, authenticated;

-- D_sensitive_columns: credentials readable through the API, no RLS (splinter 0023; also 0013)
create table public.api_tokens (
    id bigint generated by default as identity primary key,
    label text,
    token text not null,
    password text
);
grant select on public.api_tokens to anon;

-- D_policy_rls_disabled: policies written, RLS never enabled (splinter 0007)
create table public.legacy_notes (
    id bigint generated by default as identity primary key,
    owner_id uuid not null,
    note text
);
create policy "Owners read their notes" on public.legacy_notes for select to authenticated
    using (owner_id = (select auth.uid()));
grant select on public.legacy_notes to authenticated;

-- D_rls_no_policy: RLS on, no policy (splinter 0008)
create table public.private_audit (
    id bigint generated by default as identity primary key,
    happened_at timestamptz not null default now(),
    what text
);
alter table public.private_audit enable row level security;

-- D_policy_always_true: anyone may insert anything (splinter 0024). The SELECT USING (true) is deliberate.
create table public.guestbook (
    id bigint generated by default as identity primary key,
    message text not null
);
alter table public.guestbook enable row level security;
create policy "Anyone can sign" on public.guestbook for insert to anon with check (true);
create policy "Anyone can read" on public.guestbook for select to anon using (true);
grant select, insert on public.guestbook to anon;

-- D_security_definer_view: a view reading pets as its owner, for anon (splinter 0010)
create view public.pet_directory as select id, name, species from public.pets;
grant select on public.pet_directory to anon;

-- D_auth_users_exposed: a view over auth.users readable by the API roles (splinter 0002)
create view public.user_directory as select id, email from auth.users;
grant select on public.user_directory to anon, authenticated;

-- INNOCENT: a security-invoker view over a table with RLS
create view public.my_pets with (security_invoker = on) as select id, name from public.pets;
grant select on public.my_pets to authenticated;

-- D_matview_in_api: a materialized view readable by authenticated (splinter 0016)
create materialized view public.pet_counts as select species, count(*) as pets from public.pets group by species;
grant select on public.pet_counts to authenticated;

-- D_foreign_table_in_api: a foreign table readable by anon (splinter 0017)
create server planted_files foreign data wrapper file_fdw;
create foreign table public.host_info (line text) server planted_files options (filename '/etc/hostname');
grant select on public.host_info to anon;

-- D_fkey_to_auth_unique: a foreign key to auth.users' unique email constraint (splinter 0021); its index keeps
-- unindexed_foreign_keys out of it
create table public.user_emails (
    id bigint generated by default as identity primary key,
    email text not null references auth.users (email),
    verified boolean not null default false
);
create index user_emails_email_idx on public.user_emails (email);
alter table public.user_emails enable row level security;
create policy "Own addresses" on public.user_emails for select to authenticated
    using (email = (select auth.email()));
grant select on public.user_emails to authenticated;

-- D_reg_types: a column of a reg* type, which pg_upgrade refuses (splinter 0018)
create table public.job_handlers (
    id bigint generated by default as identity primary key,
    handler regproc not null
);
alter table public.job_handlers enable row level security;
insert into public.job_handlers (handler) values ('pg_catalog.now'::regproc);

-- D_graphql_anon: a table anon can select, so pg_graphql shows it before sign-in (splinter 0026)
create table public.internal_api_keys (
    id bigint generated by default as identity primary key,
    service text not null,
    key_hash text
);
alter table public.internal_api_keys enable row level security;
create policy "Service reads keys" on public.internal_api_keys for select to service_role using (true);
grant select on public.internal_api_keys to anon;

-- D_graphql_authenticated: a table every signed-in user can see in the GraphQL schema (splinter 0027)
create table public.member_stats (
    id bigint generated by default as identity primary key,
    member uuid not null,
    visits integer not null default 0
);
alter table public.member_stats enable row level security;
create policy "Members read their stats" on public.member_stats for select to authenticated
    using (member = (select auth.uid()));
grant select on public.member_stats to authenticated;

-- Tables that live behind the API: no grants to anon or authenticated, RLS on with a service_role policy

-- D_no_primary_key (splinter 0004)
create table public.import_batches (
    source text not null,
    loaded_at timestamptz not null default now(),
    rows_loaded integer
);
alter table public.import_batches enable row level security;
create policy "Service manages batches" on public.import_batches for all to service_role using (true) with check (true);

-- D_unused_index: an index no query uses (splinter 0005, PgHero unused_indexes)
create table public.reports (
    id bigint generated by default as identity primary key,
    created_at timestamptz not null default now(),
    title text
);
create index reports_created_at_idx on public.reports (created_at);
alter table public.reports enable row level security;
create policy "Service manages reports" on public.reports for all to service_role using (true) with check (true);
insert into public.reports (title) select 'report ' || g from generate_series(1, 2000) g;

-- D_duplicate_index (exact copy, never used either: one action expected) and D_duplicate_prefix
create table public.customers (
    id bigint generated by default as identity primary key,
    email text not null,
    last_name text,
    first_name text
);
create index customers_email_idx on public.customers (email);
create index customers_email_copy_idx on public.customers (email);
create index customers_last_name_idx on public.customers (last_name);
create index customers_last_first_idx on public.customers (last_name, first_name);
alter table public.customers enable row level security;
create policy "Service manages customers" on public.customers for all to service_role using (true) with check (true);
insert into public.customers (email, last_name, first_name)
select 'c' || g || '@example.com', 'last' || (g % 200), 'first' || g from generate_series(1, 2000) g;

-- D_sequence_identity: an integer identity column at 93 % of its range (PgHero sequence_danger)
create table public.ticket_numbers (
    id integer generated by default as identity primary key,
    issued_at timestamptz not null default now()
);
alter table public.ticket_numbers enable row level security;
select pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.ticket_numbers', 'id'), 2000000000);

-- D_sequence_column_type: an integer column fed by a bigint sequence at 95 % of 2^31 (the sequence itself is at
-- 0.0000002 % of its own maximum)
create sequence public.legacy_orders_id_seq as bigint;
create table public.legacy_orders (
    id integer primary key default nextval('public.legacy_orders_id_seq'),
    placed_at timestamptz not null default now()
);
alter sequence public.legacy_orders_id_seq owned by public.legacy_orders.id;
alter table public.legacy_orders enable row level security;
select pg_catalog.setval('public.legacy_orders_id_seq', 2040109465);

-- D_not_valid_constraint: a CHECK added NOT VALID and never validated (PgHero invalid_constraints); the rows
-- satisfy it, so VALIDATE CONSTRAINT succeeds
create table public.payments (
    id bigint generated by default as identity primary key,
    amount numeric(12, 2) not null
);
alter table public.payments enable row level security;
insert into public.payments (amount) select g from generate_series(1, 100) g;
alter table public.payments add constraint payments_amount_positive check (amount > 0) not valid;

-- D_autovacuum_disabled: autovacuum turned off on a table
create table public.settings_kv (
    key text primary key,
    value text
) with (autovacuum_enabled = false);
alter table public.settings_kv enable row level security;

-- Tables the Python module fills (statistics, dead rows, bloat, scans): autovacuum is off on those whose
-- defect autovacuum would erase while the test runs.
create table public.bloated_sessions (  -- D_table_bloat
    id bigint primary key,
    pad text
) with (autovacuum_enabled = false);
create table public.churn_queue (  -- D_vacuum_overdue
    id bigint primary key,
    v text
) with (autovacuum_enabled = false);
create table public.fresh_imports (  -- D_analyze_overdue
    id bigint primary key,
    v text
) with (autovacuum_enabled = false);
create table public.event_log (  -- D_index_bloat
    id bigint primary key,
    kind integer not null,
    payload text
);
create index event_log_kind_idx on public.event_log (kind);
create table public.orders (  -- D_seq_scan_heavy
    id bigint primary key,
    customer_id bigint not null,
    note text
);
create index orders_customer_id_idx on public.orders (customer_id);
create table public.audit_events (  -- INNOCENT: loaded, indexed, updated once, then read by index
    id bigint primary key,
    actor text not null,
    action text not null,
    checked boolean not null default false
);
-- D_blocked_query: a row updated by a transaction left open, updated again by another session that waits.
-- (A row lock, not LOCK TABLE: an ACCESS EXCLUSIVE lock also stops whatever takes an ACCESS SHARE lock on the
-- table, as pg_relation_size() and pg_get_expr() on its policies do; the tools would be measured on that instead.)
create table public.job_locks (
    id bigint primary key,
    holder text
);
insert into public.job_locks values (1, 'nobody');
create table public.dupes (  -- D_invalid_index: a unique index built CONCURRENTLY over duplicates
    a integer
);
insert into public.dupes values (1), (1);
alter table public.bloated_sessions enable row level security;
alter table public.churn_queue enable row level security;
alter table public.fresh_imports enable row level security;
alter table public.event_log enable row level security;
alter table public.orders enable row level security;
alter table public.audit_events enable row level security;
alter table public.job_locks enable row level security;
alter table public.dupes enable row level security;
create policy "Service only" on public.bloated_sessions for all to service_role using (true) with check (true);
create policy "Service only" on public.churn_queue for all to service_role using (true) with check (true);
create policy "Service only" on public.fresh_imports for all to service_role using (true) with check (true);
create policy "Service only" on public.event_log for all to service_role using (true) with check (true);
create policy "Service only" on public.orders for all to service_role using (true) with check (true);
create policy "Service only" on public.audit_events for all to service_role using (true) with check (true);
create policy "Service only" on public.job_locks for all to service_role using (true) with check (true);
create policy "Service only" on public.dupes for all to service_role using (true) with check (true);
create policy "Service only" on public.settings_kv for all to service_role using (true) with check (true);
create policy "Service only" on public.ticket_numbers for all to service_role using (true) with check (true);
create policy "Service only" on public.legacy_orders for all to service_role using (true) with check (true);
create policy "Service only" on public.payments for all to service_role using (true) with check (true);
create policy "Service only" on public.job_handlers for all to service_role using (true) with check (true);
create policy "Service only" on public.appointments for insert to service_role with check (true);

-- ---------------------------------------------------------------------------------------------------------------
-- Functions
-- ---------------------------------------------------------------------------------------------------------------

-- D_security_definer_function: SECURITY DEFINER in public, callable by anon via PUBLIC (splinter 0028/0029).
-- Its search_path is fixed and its body qualified, so only this one defect is planted on it.
create function public.get_pet_count() returns bigint
language sql stable security definer set search_path = ''
as $$ select pg_catalog.count(*) from public.pets $$;

-- D_search_path_public: no search_path; the body names a table of public unqualified
create function public.pet_name_upper(p_id bigint) returns text
language sql stable
as $$ select upper(name) from pets where id = p_id $$;

-- D_search_path_extensions: no search_path; the body calls hstore() from schema extensions unqualified (it runs
-- because the database's search_path is Supabase's "$user", public, extensions)
create function public.tag_pair(k text, v text) returns text
language plpgsql immutable
as $$ begin return hstore(k, v)::text; end; $$;

-- D_search_path_citext: no search_path; the body uses the type citext of the extension installed in public
create function public.same_email(a text, b text) returns boolean
language sql immutable
as $$ select a::citext = b::citext $$;

-- D_search_path_trigger: no search_path; the body only uses pg_catalog (the fix may pin it to '')
create function public.touch_updated_at() returns trigger
language plpgsql
as $$ begin new.updated_at := now(); return new; end; $$;
create trigger posts_touch before update on public.posts for each row execute function public.touch_updated_at();

-- INNOCENT: pinned search_path, qualified body
create function public.pet_count_for(p_owner uuid) returns bigint
language sql stable set search_path = ''
as $$ select pg_catalog.count(*) from public.pets where owner_id = p_owner $$;

-- INNOCENT: SECURITY DEFINER outside the exposed schemas, pinned search_path
create schema private;
create function private.purge_old_visits(p_before timestamptz) returns bigint
language sql security definer set search_path = ''
as $$ with d as (delete from public.visits where visited_at < p_before returning 1) select pg_catalog.count(*) from d $$;
