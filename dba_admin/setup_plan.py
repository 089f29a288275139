"""`dba-admin connection setup`: the exact SQL that gives a connection its least-privilege logins, read first.

Nothing is created in a connection's database unless a person asks. :func:`inspect_target` only reads the target's
catalog (in a rolled-back, read-only transaction); :func:`build_plan` turns what it found into statements built with
``psycopg.sql`` only; :meth:`SetupPlan.render` shows them with every password as ``'********'``; :func:`apply_plan`
runs them in ONE transaction on the admin's connection, so a failure leaves the database as it was.

The logins (role names derived from the connection name unless given):

* **monitor**: ``pg_monitor``, CONNECT, USAGE and SELECT on the chosen schemas (and on tables created later), and
  ``default_transaction_read_only``: it reads catalogs and statistics, never writes.
* **read-only**: the same reads for analysts' SQL, read-only by default, with statement and idle-in-transaction
  timeouts; never a member of Supabase's ``authenticated``, ``anon`` or ``service_role``.
* **DBA** (``--with-dba``): NOSUPERUSER, ``pg_signal_backend`` and ``pg_read_all_stats``. Schema privileges and
  membership of the schema owner are NOT granted unless the admin asks (``--dba-schema-owner``); the plan says so.

Applying twice re-uses the roles (``ALTER ROLE ... PASSWORD``) instead of failing: the passwords are rotated.
System functions are never revoked; the plan's comments list what a DBA may want to tighten.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dba_admin.errors import DbaAdminError, one_line

__all__ = [
    "API_ROLES",
    "MASK",
    "LoginCheck",
    "PlanLogin",
    "SetupPlan",
    "TargetFacts",
    "apply_plan",
    "build_plan",
    "check_login",
    "inspect_target",
    "login_dsn",
    "role_names",
]

MASK = "********"
# Supabase's API roles: a login of ours is never one of their members (RLS policies would treat it as a user).
API_ROLES = ("authenticated", "anon", "service_role")
KINDS = ("monitor", "readonly", "dba")
PROBE_TIMEOUT_S = 5
IDLE_IN_TRANSACTION_MS = 60_000
_MAX_ROLE = 63


class SetupError(DbaAdminError):
    """The plan cannot be built or applied as asked; the message says what to change."""


def role_names(
    connection: str, *, monitor: str | None = None, readonly: str | None = None, dba: str | None = None
) -> dict[str, str]:
    """``dba_admin_<name>_monitor`` / ``_readonly`` / ``_dba`` unless given (``-`` becomes ``_``; 63 chars max)."""
    stem = "dba_admin_" + connection.replace("-", "_")
    if len(stem) + len("_readonly") > _MAX_ROLE:  # keep the longest suffix inside PostgreSQL's identifier limit
        digest = hashlib.sha256(connection.encode()).hexdigest()[:8]
        stem = stem[: _MAX_ROLE - len("_readonly") - 9] + "_" + digest
    given = {"monitor": monitor, "readonly": readonly, "dba": dba}
    names = {kind: given[kind] or f"{stem}_{kind}" for kind in KINDS}
    for kind, name in names.items():
        if not name or len(name) > _MAX_ROLE:
            raise SetupError(f"the {kind} role name {name!r} must be 1 to 63 characters")
    if len(set(names.values())) != len(names):
        raise SetupError("the monitor, read-only and DBA logins need three different role names")
    return names


def login_dsn(admin_dsn: str, role: str, password: str) -> str:
    """The admin's DSN (host, port, database, TLS options) with another login and password."""
    params = {k: str(v) for k, v in conninfo_to_dict(admin_dsn).items() if v is not None}
    params.pop("passfile", None)
    params.update(user=role, password=password)
    return make_conninfo(**params)


# ---------------------------------------------------------------------------------------------------
# What the target has (read only)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExistingRole:
    name: str
    superuser: bool
    replication: bool
    bypass_rls: bool
    member_of: tuple[str, ...]


@dataclass(frozen=True)
class TargetFacts:
    """The target database as the admin's login sees it: enough to write a plan that will apply."""

    database: str
    admin: str
    admin_is_superuser: bool
    server_version: str
    server_version_num: int
    database_owner: str
    roles: Mapping[str, ExistingRole]  # our role names that already exist
    schemas: Mapping[
        str, str
    ]  # chosen schema -> the role that creates its tables (owner; db owner for pg_database_owner)
    missing_schemas: tuple[str, ...]
    schema_owner_is_superuser: Mapping[str, bool]
    admin_acts_for: frozenset[str]  # roles whose default privileges the admin may set (member, or superuser)
    api_roles: tuple[str, ...]  # Supabase's API roles present in this cluster
    statements_schema: str | None = None  # where pg_stat_statements is installed (Supabase: extensions)


def inspect_target(conn: psycopg.Connection[Any], roles: Sequence[str], schemas: Sequence[str]) -> TargetFacts:
    """Read what the plan depends on: in a read-only transaction that is rolled back, or, when the caller has a
    transaction open (the one that applies the plan), inside it. Writes nothing."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return _inspect(conn, roles, schemas)
    with conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY /* dba_admin */")
        return _inspect(conn, roles, schemas)


def _inspect(conn: psycopg.Connection[Any], roles: Sequence[str], schemas: Sequence[str]) -> TargetFacts:
    row = conn.execute(
        "SELECT pg_catalog.current_database(), current_user, r.rolsuper,"
        " pg_catalog.current_setting('server_version'),"
        " pg_catalog.current_setting('server_version_num')::int, pg_catalog.pg_get_userbyid(d.datdba)"
        " FROM pg_catalog.pg_roles r, pg_catalog.pg_database d"
        " WHERE r.rolname = current_user AND d.datname = pg_catalog.current_database() /* dba_admin */"
    ).fetchone()
    assert row is not None
    database, admin, admin_super, version, version_num, db_owner = row
    existing: dict[str, ExistingRole] = {}
    for name, is_super, replication, bypass, member_of in conn.execute(
        "SELECT r.rolname, r.rolsuper, r.rolreplication, r.rolbypassrls,"
        " ARRAY(SELECT g.rolname FROM pg_catalog.pg_auth_members m"
        "       JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1)"
        " FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%s) /* dba_admin */",
        (list(roles),),
    ).fetchall():
        existing[name] = ExistingRole(name, is_super, replication, bypass, tuple(member_of))
    found: dict[str, str] = {}
    owner_super: dict[str, bool] = {}
    for nspname, owner, is_super in conn.execute(
        "SELECT n.nspname, CASE WHEN o.rolname = 'pg_database_owner' THEN d.rolname ELSE o.rolname END,"
        " CASE WHEN o.rolname = 'pg_database_owner' THEN d.rolsuper ELSE o.rolsuper END"
        " FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles o ON o.oid = n.nspowner"
        " JOIN pg_catalog.pg_database db ON db.datname = pg_catalog.current_database()"
        " JOIN pg_catalog.pg_roles d ON d.oid = db.datdba"
        " WHERE n.nspname = ANY(%s) /* dba_admin */",
        (list(schemas),),
    ).fetchall():
        found[nspname] = owner
        owner_super[nspname] = bool(is_super)
    creators = sorted({admin, *found.values()})
    acts_for = {
        name
        for (name, ok) in conn.execute(
            "SELECT u, pg_catalog.pg_has_role(current_user, u, 'MEMBER') FROM unnest(%s::text[]) u /* dba_admin */",
            (creators,),
        ).fetchall()
        if ok or admin_super
    }
    api = [
        str(r[0])
        for r in conn.execute(
            "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s) ORDER BY 1 /* dba_admin */",
            (list(API_ROLES),),
        ).fetchall()
    ]
    ext = conn.execute(
        "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_stat_statements' /* dba_admin */"
    ).fetchone()
    return TargetFacts(
        statements_schema=str(ext[0]) if ext else None,
        database=str(database),
        admin=str(admin),
        admin_is_superuser=bool(admin_super),
        server_version=str(version),
        server_version_num=int(version_num),
        database_owner=str(db_owner),
        roles=existing,
        schemas={s: found[s] for s in schemas if s in found},
        missing_schemas=tuple(s for s in schemas if s not in found),
        schema_owner_is_superuser=owner_super,
        admin_acts_for=frozenset(acts_for),
        api_roles=tuple(api),
    )


# ---------------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One statement: ``run`` is executed, ``shown`` (the same with passwords masked) is printed."""

    run: sql.Composed
    shown: sql.Composed
    comment: str | None = None


@dataclass(frozen=True)
class PlanLogin:
    kind: str  # monitor | readonly | dba
    role: str
    exists: bool
    password: str = field(repr=False)


@dataclass
class SetupPlan:
    connection: str
    database: str
    schemas: tuple[str, ...]
    logins: list[PlanLogin]
    steps: list[Step | str]  # a str is a comment line (or a blank line when empty)
    notes: list[str]

    @property
    def statements(self) -> list[Step]:
        return [s for s in self.steps if isinstance(s, Step)]

    @property
    def roles_created(self) -> list[str]:
        return [login.role for login in self.logins if not login.exists]

    @property
    def roles_updated(self) -> list[str]:
        return [login.role for login in self.logins if login.exists]

    def login(self, kind: str) -> PlanLogin | None:
        return next((login for login in self.logins if login.kind == kind), None)

    def render(self) -> str:
        """The plan as a SQL script a person reads (and could run in psql): passwords shown as '********'."""
        lines: list[str] = []
        for step in self.steps:
            if isinstance(step, str):
                lines.append(f"-- {step}" if step else "")
                continue
            if step.comment:
                lines.append(f"-- {step.comment}")
            lines.append(step.shown.as_string(None) + ";")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """For ``--json``: the statements as shown (masked), the logins without their passwords."""
        return {
            "connection": self.connection,
            "database": self.database,
            "schemas": list(self.schemas),
            "logins": [{"kind": login.kind, "role": login.role, "exists": login.exists} for login in self.logins],
            "statements": [s.shown.as_string(None) for s in self.statements],
            "notes": list(self.notes),
        }


def _attributes(facts: TargetFacts, *, create: bool) -> sql.Composable:
    """LOGIN and every privileged attribute off; ALTER ROLE by a non-superuser may not name SUPERUSER, REPLICATION
    or BYPASSRLS at all (PostgreSQL refuses), so those are checked in :func:`build_plan` instead."""
    words = ["LOGIN", "NOCREATEDB", "NOCREATEROLE", "INHERIT"]
    if create or facts.admin_is_superuser:
        words[1:1] = ["NOSUPERUSER"]
        words += ["NOREPLICATION", "NOBYPASSRLS"]
    return sql.SQL(" ").join(sql.SQL(w) for w in words)


def _role_step(facts: TargetFacts, login: PlanLogin, comment: str) -> Step:
    verb = sql.SQL("ALTER" if login.exists else "CREATE")
    template = sql.SQL("{} ROLE {} WITH {} PASSWORD {}")
    role = sql.Identifier(login.role)
    attrs = _attributes(facts, create=not login.exists)
    return Step(
        run=template.format(verb, role, attrs, sql.Literal(login.password)),
        shown=template.format(verb, role, attrs, sql.Literal(MASK)),
        comment=comment + (" (exists: re-used, password rotated)" if login.exists else ""),
    )


def _quoted(name: str) -> str:
    """An identifier as SQL text, for the plan's comments."""
    return sql.Identifier(name).as_string(None)


def _plain(statement: sql.Composed, comment: str | None = None) -> Step:
    return Step(run=statement, shown=statement, comment=comment)


def _reads(facts: TargetFacts, role: str, schemas: Sequence[str]) -> list[Step | str]:
    """CONNECT, USAGE and SELECT on the chosen schemas, and SELECT on tables their creators make later."""
    ident = sql.Identifier(role)
    steps: list[Step | str] = [
        _plain(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(facts.database), ident))
    ]
    for schema in schemas:
        nsp = sql.Identifier(schema)
        steps.append(_plain(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(nsp, ident)))
        steps.append(_plain(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(nsp, ident)))
        for creator in sorted({facts.schemas[schema], facts.admin}):
            if creator not in facts.admin_acts_for:
                continue
            steps.append(
                _plain(
                    sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                        sql.Identifier(creator), nsp, ident
                    )
                )
            )
    return steps


def _leave_api_roles(facts: TargetFacts, login: PlanLogin) -> list[Step | str]:
    existing = facts.roles.get(login.role)
    if existing is None:
        return []
    return [
        _plain(
            sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(api), sql.Identifier(login.role)),
            f"{login.role} must not act as an API role",
        )
        for api in API_ROLES
        if api in existing.member_of
    ]


def build_plan(
    facts: TargetFacts,
    connection: str,
    roles: Mapping[str, str],
    schemas: Sequence[str],
    *,
    with_dba: bool = False,
    dba_schema_owner: bool = False,
    statement_timeout_ms: int = 30_000,
    passwords: Mapping[str, str] | None = None,
) -> SetupPlan:
    """The statements that give ``connection`` its logins on the database ``facts`` describes.

    ``passwords`` (per kind) are generated with :mod:`secrets` when not given. Raises SetupError when the plan
    could not apply as asked (a schema that does not exist, a role that is a superuser and only a superuser could
    change), before anything runs.
    """
    if facts.missing_schemas:
        raise SetupError(
            f"schema(s) {', '.join(facts.missing_schemas)} do not exist in database {facts.database}:"
            " choose others with --schemas"
        )
    if not schemas:
        raise SetupError("give at least one schema with --schemas (e.g. --schemas public)")
    kinds = ["monitor", "readonly"] + (["dba"] if with_dba else [])
    logins = [
        PlanLogin(
            kind=kind,
            role=roles[kind],
            exists=roles[kind] in facts.roles,
            password=(passwords or {}).get(kind) or secrets.token_urlsafe(24),
        )
        for kind in kinds
    ]
    for login in logins:
        existing = facts.roles.get(login.role)
        if existing is None:
            continue
        if login.role == facts.admin:
            raise SetupError(f"{login.role} is the login running this setup: choose another role name")
        risky = [
            word
            for word, on in (
                ("SUPERUSER", existing.superuser),
                ("REPLICATION", existing.replication),
                ("BYPASSRLS", existing.bypass_rls),
            )
            if on
        ]
        if risky and not facts.admin_is_superuser:
            raise SetupError(
                f"role {login.role} exists with {', '.join(risky)}, which only a superuser can remove: ask one to run"
                f" ALTER ROLE {login.role} NO{' NO'.join(risky)}, or choose another name with --{login.kind}-role"
            )
    ident = {login.kind: sql.Identifier(login.role) for login in logins}
    steps: list[Step | str] = [
        f"dba-admin connection setup {connection}: logins for database {facts.database}"
        f" (PostgreSQL {facts.server_version}), run by {facts.admin}",
        "--apply runs every statement below in ONE transaction; passwords are shown as '********' and are",
        "stored only encrypted in the workspace registry. Nothing here has run yet.",
        "",
        "monitor login: catalogs and statistics (pg_monitor) and the chosen schemas; it never writes",
    ]
    monitor = logins[0]
    steps.append(_role_step(facts, monitor, f"monitor login {monitor.role}"))
    steps.append(_plain(sql.SQL("GRANT pg_monitor TO {}").format(ident["monitor"])))
    steps += _reads(facts, monitor.role, schemas)
    if facts.statements_schema and facts.statements_schema not in schemas:
        steps.append(
            _plain(
                sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(facts.statements_schema), ident["monitor"]
                ),
                f"pg_stat_statements lives in schema {facts.statements_schema}: the monitor reads it there",
            )
        )
    steps.append(_plain(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident["monitor"])))
    steps += _leave_api_roles(facts, monitor)

    readonly = logins[1]
    steps += ["", "read-only login: analysts' SQL; read-only by default, with timeouts; never an API role"]
    steps.append(_role_step(facts, readonly, f"read-only login {readonly.role}"))
    steps += _reads(facts, readonly.role, schemas)
    steps.append(_plain(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident["readonly"])))
    steps.append(
        _plain(
            sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                ident["readonly"], sql.Literal(f"{int(statement_timeout_ms)}ms")
            )
        )
    )
    steps.append(
        _plain(
            sql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = {}").format(
                ident["readonly"], sql.Literal(f"{IDLE_IN_TRANSACTION_MS}ms")
            )
        )
    )
    steps += _leave_api_roles(facts, readonly)

    notes: list[str] = []
    if with_dba:
        dba = logins[2]
        steps += ["", "DBA login: write-mode SQL; never a superuser"]
        steps.append(_role_step(facts, dba, f"DBA login {dba.role}"))
        steps.append(
            _plain(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(facts.database), ident["dba"]))
        )
        steps.append(
            _plain(sql.SQL("GRANT pg_signal_backend TO {}").format(ident["dba"]), "cancel and end others' backends")
        )
        steps.append(
            _plain(sql.SQL("GRANT pg_read_all_stats TO {}").format(ident["dba"]), "every session's statistics")
        )
        steps += _leave_api_roles(facts, dba)
        owners = sorted({facts.schemas[s] for s in schemas})
        if dba_schema_owner:
            for schema in schemas:
                if facts.schema_owner_is_superuser.get(schema):
                    raise SetupError(
                        f"schema {schema} is owned by the superuser {facts.schemas[schema]}: membership would let the"
                        f" DBA login SET ROLE to a superuser. Give the schema a non-superuser owner first"
                        f" (ALTER SCHEMA {schema} OWNER TO ...), or grant privileges yourself"
                    )
            for owner in owners:
                steps.append(
                    _plain(
                        sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner), ident["dba"]),
                        f"--dba-schema-owner: DDL, VACUUM and ANALYZE on what {owner} owns",
                    )
                )
        else:
            steps += [
                "NOT granted (by design): USAGE/CREATE on the schemas and membership of their owner. Grant what",
                "your DBAs need yourself, for example:",
            ]
            who = _quoted(dba.role)
            for schema in schemas:
                steps.append(f"  GRANT USAGE, CREATE ON SCHEMA {_quoted(schema)} TO {who};")
            for schema in schemas:
                owner = facts.schemas[schema]
                if facts.schema_owner_is_superuser.get(schema):
                    steps.append(
                        f"  (schema {schema} is owned by the superuser {owner}: do NOT grant {owner} to {who}, SET ROLE"
                        " would make it a superuser; give the schema a non-superuser owner and grant that role)"
                    )
                else:
                    steps.append(
                        f"  GRANT {_quoted(owner)} TO {who};  -- owner rights on {schema}: DDL, VACUUM, ANALYZE"
                    )
            notes.append(
                f"the DBA login {dba.role} gets no schema privileges: grant ownership or privileges yourself"
                " (the plan lists examples), or rerun with --dba-schema-owner"
            )
    skipped = sorted(({facts.schemas[s] for s in schemas} | {facts.admin}) - facts.admin_acts_for)
    if skipped:
        steps += [
            "",
            f"tables created later by {', '.join(skipped)} are not covered by default privileges ({facts.admin}",
            "is not a member of that role); grant SELECT on them when they are made, or run the ALTER DEFAULT",
            "PRIVILEGES above as that role.",
        ]
        notes.append(f"default privileges not set for tables created later by {', '.join(skipped)}")
    steps += [
        "",
        "What a DBA may want to tighten (not done here; system functions are never revoked):",
        "  * REVOKE CONNECT ON DATABASE ... FROM PUBLIC, so only named logins connect;",
        "  * REVOKE CREATE ON SCHEMA public FROM PUBLIC (PostgreSQL 14 and older grant it);",
        "  * pg_signal_backend lets the DBA login cancel or end any non-superuser backend, other apps' included;",
        "  * pg_read_all_stats and pg_monitor show every session's query text (it may carry literals);",
        "  * ALTER ROLE ... CONNECTION LIMIT n on each login; pg_hba.conf rules per login and address.",
    ]
    if facts.api_roles:
        notes.append(
            f"this looks like Supabase ({', '.join(facts.api_roles)} exist):"
            " none of the logins is made a member of them"
        )
    return SetupPlan(
        connection=connection,
        database=facts.database,
        schemas=tuple(schemas),
        logins=logins,
        steps=steps,
        notes=notes,
    )


def apply_plan(conn: psycopg.Connection[Any], plan: SetupPlan) -> None:
    """Run every statement in one transaction: all of them commit, or none (a failure is re-raised as SetupError
    naming the statement, with its password masked)."""
    with conn.transaction():
        for step in plan.statements:
            try:
                conn.execute(step.run)
            except psycopg.Error as exc:
                raise SetupError(
                    f"the plan was rolled back, nothing changed: {step.shown.as_string(None)} failed: {one_line(exc)}"
                ) from None


# ---------------------------------------------------------------------------------------------------
# Checking a login (connection add)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginCheck:
    """What a login is: its user, and why it is more than it should be (superuser, can write)."""

    user: str
    superuser: bool
    can_write: tuple[str, ...]  # what lets it write; empty: it only reads
    server_version: str


def check_login(dsn: str, *, timeout_s: int = PROBE_TIMEOUT_S) -> LoginCheck:
    """Connect (within ``timeout_s``) and read the login's attributes and write privileges; writes nothing.

    Raises ``psycopg.OperationalError`` when it cannot connect.
    """
    with (
        psycopg.connect(dsn, connect_timeout=max(2, int(timeout_s)), autocommit=True) as conn,
        conn.transaction(force_rollback=True),
    ):
        conn.execute("SET TRANSACTION READ ONLY /* dba_admin */")
        conn.execute(
            "SELECT pg_catalog.set_config('statement_timeout', %s, true) /* dba_admin */",
            (str(int(timeout_s) * 1000),),
        )
        row = conn.execute(
            "SELECT current_user, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication,"
            " pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),"
            " (SELECT pg_catalog.array_agg(n.nspname ORDER BY n.nspname) FROM pg_catalog.pg_namespace n"
            "   WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
            "   AND pg_catalog.has_schema_privilege(n.oid, 'CREATE')),"
            " (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c"
            "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            "   WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
            "   AND pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')),"
            " pg_catalog.current_setting('server_version')"
            " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user /* dba_admin */"
        ).fetchone()
    assert row is not None
    user, is_super, createrole, createdb, bypass, replication, db_create, schemas, tables, version = row
    reasons: list[str] = []
    if is_super:
        reasons.append("SUPERUSER")
    for word, on in (
        ("CREATEROLE", createrole),
        ("CREATEDB", createdb),
        ("BYPASSRLS", bypass),
        ("REPLICATION", replication),
    ):
        if on:
            reasons.append(word)
    if db_create and not is_super:
        reasons.append("CREATE on the database")
    if schemas and not is_super:
        reasons.append(f"CREATE on schema(s) {', '.join(schemas)}")
    if tables and not is_super:
        reasons.append(f"INSERT/UPDATE/DELETE/TRUNCATE on {tables} table(s)")
    return LoginCheck(user=str(user), superuser=bool(is_super), can_write=tuple(reasons), server_version=str(version))
