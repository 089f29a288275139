"""More real PostgreSQL servers beside the suite's own, standing for the databases a team administers.

* ``supabase_pg``: a second PostgreSQL 15 cluster (the system's binaries, as the suite's server), with a plain
  schema of its own made here (tables, a view, a function, ``pg_stat_statements`` in schema ``extensions`` as on
  Supabase, and Supabase's API roles) and NO app schema: the "your Supabase project" of issue 11.
* ``neon_pg``: pgserver's PostgreSQL 16, with an admin login that is NOT a superuser (CREATEROLE, owner of its
  database, as Neon's ``neon_superuser``): the "Neon branch".
* ``unreachable_dsn``: a loopback port nobody listens on.

Both servers are started once per session (once per pytest-xdist worker: each worker has its own ``test_root``)
through :class:`~dba_admin.local_pg.EmbeddedPostgres`, which runs them as an unprivileged OS user when the suite runs
as root (pgserver's binaries are used from the readable copy local_pg keeps, not through pgserver's own launcher,
which opens /root up and leaves its server running if its process is killed), and destroyed at session end, so no
process outlives the suite. Registered in conftest's ``pytest_plugins``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dba_admin.local_pg import EmbeddedPostgres, PgBinaries, _pgserver_bin_dir, _reachable_copy, find_binaries

TARGET_DATABASE = "shop"
NEON_ADMIN = "neon_admin"
NEON_ADMIN_PASSWORD = "neon-admin-pw"  # a throwaway cluster reached only through its Unix socket


@dataclass
class ExtraServer:
    """One more cluster and the database on it that the tests administer."""

    label: str
    server: EmbeddedPostgres
    database: str
    admin_user: str = "postgres"
    admin_password: str | None = None

    @property
    def superuser_dsn(self) -> str:
        """The cluster's superuser on the target database (for the tests' own checks, never given to the app)."""
        return self.server.dsn(dbname=self.database)

    @property
    def admin_dsn(self) -> str:
        """The login a person would pass to `connection setup --admin-dsn` (not a superuser on "Neon")."""
        if self.admin_user == "postgres":
            return self.superuser_dsn
        return self.server.dsn(user=self.admin_user, password=self.admin_password, dbname=self.database)

    def dsn_for(self, user: str, password: str) -> str:
        return self.server.dsn(user=user, password=password, dbname=self.database)

    @property
    def version(self) -> int:
        with psycopg.connect(self.superuser_dsn) as conn:
            row = conn.execute("show server_version_num").fetchone()
        assert row is not None
        return int(row[0]) // 10000


PLAIN_SCHEMA = """
create table public.customers (id bigint generated always as identity primary key, email text not null unique,
                               name text, created_at timestamptz not null default now());
create table public.orders (id bigint generated always as identity primary key,
                            customer_id bigint not null references public.customers (id), total numeric(10, 2),
                            placed_at timestamptz not null default now());
create index orders_customer_id_idx on public.orders (customer_id);
create view public.order_totals as
    select c.id, c.email, count(o.id) as orders, coalesce(sum(o.total), 0) as spent
    from public.customers c left join public.orders o on o.customer_id = c.id group by c.id, c.email;
create function public.customer_spent(p_id bigint) returns numeric language sql stable set search_path = ''
    as $$ select coalesce(sum(total), 0) from public.orders where customer_id = p_id $$;
insert into public.customers (email, name) select 'c' || g || '@example.com', 'Customer ' || g
    from generate_series(1, 50) g;
insert into public.orders (customer_id, total) select 1 + g % 50, g from generate_series(1, 200) g;
analyze;
"""


def _start(label: str, data_dir: Path, binaries: PgBinaries | None) -> EmbeddedPostgres:
    server = EmbeddedPostgres(data_dir, fast=True, binaries=binaries)
    server.ensure_running()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(TARGET_DATABASE)))
    return server


@pytest.fixture(scope="session")
def supabase_pg(test_root: Path) -> Iterator[ExtraServer]:
    """PostgreSQL 15 standing for a Supabase project: its own plain schema, no app schema."""
    binaries = find_binaries()
    if binaries.source != "system":
        pytest.skip("no system PostgreSQL for the second server")
    server = _start("supabase", test_root / "supabase", binaries)
    extra = ExtraServer("supabase", server, TARGET_DATABASE)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for role in ("anon", "authenticated", "service_role"):  # Supabase's API roles: cluster-wide, NOLOGIN
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        with psycopg.connect(extra.superuser_dsn, autocommit=True) as conn:
            conn.execute(PLAIN_SCHEMA)
            if binaries.has_pg_stat_statements:
                conn.execute("create schema extensions")
                conn.execute("create extension pg_stat_statements with schema extensions")
        yield extra
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def neon_pg(test_root: Path) -> Iterator[ExtraServer]:
    """pgserver's PostgreSQL 16 standing for a Neon branch; its admin is not a superuser."""
    bundled = _pgserver_bin_dir()
    if bundled is None:
        pytest.skip("pgserver is not installed")
    import os

    if os.geteuid() == 0:
        bundled = _reachable_copy(bundled)
    binaries = PgBinaries(bundled, "pgserver", has_pg_stat_statements=False)
    server = _start("neon", test_root / "neon", binaries)
    extra = ExtraServer("neon", server, TARGET_DATABASE, admin_user=NEON_ADMIN, admin_password=NEON_ADMIN_PASSWORD)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("create role {} login createrole createdb password {}").format(
                    sql.Identifier(NEON_ADMIN), sql.Literal(NEON_ADMIN_PASSWORD)
                )
            )
            conn.execute(
                sql.SQL("grant pg_monitor, pg_signal_backend, pg_read_all_stats to {} with admin option").format(
                    sql.Identifier(NEON_ADMIN)
                )
            )
            conn.execute(
                sql.SQL("alter database {} owner to {}").format(
                    sql.Identifier(TARGET_DATABASE), sql.Identifier(NEON_ADMIN)
                )
            )
        with psycopg.connect(extra.admin_dsn, autocommit=True) as conn:
            conn.execute(PLAIN_SCHEMA)  # owned by the (non-superuser) admin, as on Neon
        yield extra
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def unreachable_dsn() -> str:
    """A DSN to a loopback port that nothing listens on (bound, then released): connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"host=127.0.0.1 port={port} dbname=gone user=nobody password=nothing connect_timeout=2"


def catalog_state(dsn: str) -> list[tuple[Any, ...]]:
    """Everything a command could have created, granted or changed in a database, without OIDs: roles (and their
    memberships and settings), schemas, relations, functions, their ACLs, default ACLs, extensions, databases.

    Two equal lists mean nothing was written to the catalog in between (temporary objects excluded: they live and
    die with one session)."""
    query = """
    select 'role', r.rolname, concat_ws(',', r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
           r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil),
           coalesce((select array_to_string(array_agg(s.setconfig::text order by s.setdatabase), ';')
                     from pg_db_role_setting s where s.setrole = r.oid), '')
      from pg_roles r
    union all
    select 'member', m.roleid::regrole::text, m.member::regrole::text, m.admin_option::text from pg_auth_members m
    union all
    select 'schema', n.nspname, pg_get_userbyid(n.nspowner), coalesce(n.nspacl::text, '') from pg_namespace n
     where n.nspname !~ '^pg_(toast|temp)'
    union all
    select 'relation', n.nspname || '.' || c.relname, c.relkind::text || ' ' || pg_get_userbyid(c.relowner)
           || ' rls=' || c.relrowsecurity, coalesce(c.relacl::text, '')
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname !~ '^pg_(toast|temp)'
    union all
    select 'function', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           pg_get_userbyid(p.proowner) || ' secdef=' || p.prosecdef, coalesce(p.proacl::text, '')
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    union all
    select 'default_acl', pg_get_userbyid(d.defaclrole), coalesce(d.defaclnamespace::regnamespace::text, '')
           || ' ' || d.defaclobjtype::text, d.defaclacl::text from pg_default_acl d
    union all
    select 'extension', e.extname, e.extversion, e.extnamespace::regnamespace::text from pg_extension e
    union all
    select 'policy', pol.polrelid::regclass::text, pol.polname, pg_get_expr(pol.polqual, pol.polrelid)
      from pg_policy pol
    union all
    select 'database', d.datname, pg_get_userbyid(d.datdba), coalesce(d.datacl::text, '') from pg_database d
    order by 1, 2, 3, 4
    """
    with psycopg.connect(dsn) as conn:
        return [tuple(r) for r in conn.execute(query).fetchall()]
