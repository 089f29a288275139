"""ProjectManager: SQL projects shared with named members, versioned scripts, recorded runs.

Every read and write runs as the user, inside ``rls.user_transaction`` (``SET LOCAL ROLE authenticated`` plus
the user's JWT claims), so the policies of sql/migrations/*_rls_policies.sql decide who sees and changes what;
nothing here filters rows by owner or member in Python. When the database says "0 rows", a second look as
the same user tells "not visible" (NotFound) from "visible but not yours to change" (PermissionDenied).

The audit row of a change is written in the SAME transaction, as the user, through the SECURITY DEFINER function
``dba_admin_api.audit`` (the actor comes from the verified claims): the change and its audit row commit or roll back
together. The transaction runs on the unprivileged authenticator login (``DatabaseManager.user_connection``), never on
the owner login, so nothing reached by the user's work can ``RESET ROLE`` its way to the owner's rights.

Versions are written only through ``dba_admin_api.create_script`` / ``dba_admin_api.save_version`` (SECURITY
DEFINER; the database refuses any other way to change a script's text or add a version).

Runs are different: the user's SQL goes through DatabaseManager.execute_query (its own connection, read-only
role for analysts and viewers). The run is recorded BEFORE it starts, as ``running`` with the backend that will run
it, and finished afterwards, each in a transaction of its own on the app's owner connection (no API role may write
the history), so neither a failed statement nor a killed server can take its history row down with it; a row left
``running`` by a dead backend becomes ``interrupted`` (``mark_interrupted_runs``, at start and before history reads).
"""

from __future__ import annotations

import difflib
import io
import json
import logging
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import zip_longest
from pathlib import PurePosixPath
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from dba_admin import audit
from dba_admin.database import DatabaseManager, StatementResult
from dba_admin.errors import (
    ConcurrentChange,
    ConfigError,
    ConflictError,
    DbaAdminError,
    ImportClash,
    InvalidArchive,
    NotFound,
    PermissionDenied,
    QueryError,
    QueryRefused,
    SaveConflict,
    SqlErrorInfo,
    one_line,
    query_error_from,
)
from dba_admin.redaction import redact_sql
from dba_admin.rls import UserClaims, user_cursor
from dba_admin.sql_text import Kind, split_statements

__all__ = [
    "ClashPolicy",
    "Diff",
    "DiffRow",
    "Execution",
    "ImportReport",
    "Project",
    "ProjectManager",
    "PurgedItem",
    "RunOutcome",
    "SaveResult",
    "Script",
    "SearchHit",
    "TrashItem",
    "Version",
    "diff_texts",
    "purge_expired_trash",
    "purge_trash",
    "safe_file_name",
    "trash_contents",
]

# App roles whose SQL may write (after confirming destructive statements); everyone else runs read-only.
WRITE_ROLES = frozenset({"admin", "dba"})
NAME_MAX = 200
MESSAGE_MAX = 500
DESCRIPTION_MAX = 5_000
_log = logging.getLogger(__name__)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
_WORD_RE = re.compile(r"\w+", re.UNICODE)

# Export / import limits: an archive is read whole into memory, so bound every dimension of it.
MANIFEST_NAME = "manifest.json"
ARCHIVE_FORMAT = "dba-admin-project"
ARCHIVE_FORMAT_VERSION = 1
MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 2_000
MAX_MANIFEST_BYTES = 1024 * 1024


class ClashPolicy(StrEnum):
    """What an import does with a script whose name the target project already uses."""

    SKIP = "skip"  # keep the existing script, ignore the imported one
    RENAME = "rename"  # import under a new name: "name (imported)", "name (imported 2)", ...
    NEW_VERSION = "new_version"  # save the imported SQL as a new version of the existing script


# --- result objects -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """A project as the user sees it, with the counts the list page shows."""

    id: uuid.UUID
    name: str
    description: str | None
    owner: str
    members: tuple[str, ...]
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    script_count: int = 0
    run_count: int = 0
    last_run_at: datetime | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def is_owner(self, claims: UserClaims) -> bool:
        """For the UI only (which buttons to show); the policies enforce it in the database."""
        return self.owner == claims.normalized_email


@dataclass(frozen=True)
class Script:
    """The current text of a script and the number of its latest version."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    sql: str
    version: int
    created_by: str
    updated_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Version:
    """One immutable saved version of a script."""

    id: int
    script_id: uuid.UUID
    number: int
    sql: str
    message: str | None
    author: str
    created_at: datetime


@dataclass(frozen=True)
class SaveResult:
    """The script after a save; ``version`` is None when the text was unchanged and nothing was written."""

    script: Script
    version: Version | None

    @property
    def changed(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: line numbers are 1-based, None where that side has no line."""

    left_no: int | None
    left: str | None
    right_no: int | None
    right: str | None
    tag: str  # equal | replace | delete | insert


@dataclass(frozen=True)
class Diff:
    """A line diff as unified text (copy, download) and as side-by-side rows (the UI's two columns)."""

    left_label: str
    right_label: str
    unified: str
    rows: tuple[DiffRow, ...]

    @property
    def changed(self) -> bool:
        return any(row.tag != "equal" for row in self.rows)

    @property
    def added(self) -> int:
        return sum(1 for row in self.rows if row.right is not None and row.tag in ("insert", "replace"))

    @property
    def removed(self) -> int:
        return sum(1 for row in self.rows if row.left is not None and row.tag in ("delete", "replace"))


@dataclass(frozen=True)
class Execution:
    """One recorded run (script or ad-hoc), as visible to the user under RLS."""

    id: int
    script_id: uuid.UUID | None
    project_id: uuid.UUID | None
    version: int | None
    sql: str
    executed_by: str
    status: str  # running | success | error | timeout | cancelled | interrupted
    rows: int | None
    duration_ms: float | None
    error: str | None
    sqlstate: str | None
    started_at: datetime
    finished_at: datetime | None
    script_name: str | None = None
    project_name: str | None = None
    connection: str | None = None  # the registered connection it ran on (None: from before connections existed)
    origin: str = "interactive"  # or "scheduled": a worker ran it for the owner of a schedule


@dataclass(frozen=True)
class RunOutcome:
    """What a run did. With ``needs_confirmation`` nothing ran and nothing was recorded."""

    status: str  # success | error | timeout | cancelled | interrupted | needs_confirmation
    read_only: bool
    results: tuple[StatementResult, ...] = ()
    execution: Execution | None = None
    error: SqlErrorInfo | None = None
    destructive_reasons: tuple[str, ...] = ()

    @property
    def needs_confirmation(self) -> bool:
        return self.status == "needs_confirmation"

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass(frozen=True)
class SearchHit:
    """A script matching a search, with its project's name and a relevance score (higher first)."""

    script: Script
    project_name: str
    rank: float


@dataclass(frozen=True)
class TrashItem:
    """A trashed project or script the user may restore (or, as an admin, purge); counts as the user sees them."""

    kind: str  # project | script
    id: uuid.UUID
    name: str
    project_id: uuid.UUID  # the project itself for kind == "project"
    project_name: str
    owner: str  # the project's owner
    author: str  # the script's author; the owner for a project
    deleted_at: datetime
    deleted_by: str | None
    scripts: int
    versions: int
    runs: int
    can_restore: bool  # for the UI only: the policies decide
    can_purge: bool

    def purge_due(self, retention_days: int) -> datetime | None:
        """When the age limit purges it (None when TRASH_RETENTION_DAYS is 0: never by age)."""
        return self.deleted_at + timedelta(days=retention_days) if retention_days > 0 else None


@dataclass(frozen=True)
class PurgedItem:
    """What a purge removed for good: the audit row of the purge holds the same."""

    kind: str  # project | script
    id: uuid.UUID
    name: str
    project_id: uuid.UUID
    project_name: str
    deleted_at: datetime
    deleted_by: str | None
    versions: int  # versions removed with it
    runs: int  # runs kept in the history, detached from it
    scripts: tuple[dict[str, Any], ...] = ()  # for a project: each script's id, name, versions and runs

    def audit_details(self, reason: str, older_than_days: float | None) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": str(self.id),
            "project_id": str(self.project_id),
            "project_name": self.project_name,
            "trashed_at": self.deleted_at.isoformat(),
            "trashed_by": self.deleted_by,
            "versions_removed": self.versions,
            "runs_detached": self.runs,
            "scripts": [dict(s) for s in self.scripts],
            "reason": reason,
            "older_than_days": older_than_days,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did, script by script name."""

    project: Project
    created: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]  # (name in the archive, name given)
    skipped: tuple[str, ...]
    new_versions: tuple[str, ...]
    unchanged: tuple[str, ...]  # NEW_VERSION with the same SQL: nothing to save


@dataclass(frozen=True)
class _ArchivedScript:
    name: str
    file: str
    sql: str


@dataclass(frozen=True)
class _Archive:
    name: str
    description: str | None
    scripts: tuple[_ArchivedScript, ...]


# --- pure helpers ---------------------------------------------------------------------------------------------


def diff_texts(
    left: str, right: str, *, left_label: str = "left", right_label: str = "right", context: int = 3
) -> Diff:
    """Line diff of two texts: unified text plus aligned side-by-side rows (difflib's opcodes)."""
    a = left.splitlines()
    b = right.splitlines()
    unified = "\n".join(difflib.unified_diff(a, b, fromfile=left_label, tofile=right_label, n=context, lineterm=""))
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow(i + 1, a[i], j + 1, b[j], "equal") for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
        elif tag == "delete":
            rows.extend(DiffRow(i + 1, a[i], None, None, "delete") for i in range(i1, i2))
        elif tag == "insert":
            rows.extend(DiffRow(None, None, j + 1, b[j], "insert") for j in range(j1, j2))
        else:
            for i, j in zip_longest(range(i1, i2), range(j1, j2)):
                rows.append(
                    DiffRow(
                        None if i is None else i + 1,
                        None if i is None else a[i],
                        None if j is None else j + 1,
                        None if j is None else b[j],
                        "replace",
                    )
                )
    return Diff(left_label=left_label, right_label=right_label, unified=unified, rows=tuple(rows))


_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str, taken: set[str] | None = None, *, suffix: str = ".sql") -> str:
    """A portable file name for a script name: ASCII letters, digits, . _ -, no leading dot, unique in ``taken``."""
    stem = _UNSAFE_FILE_CHARS.sub("_", name).strip("._-")[:80] or "script"
    candidate = stem + suffix
    n = 2
    while taken is not None and candidate.lower() in taken:
        candidate = f"{stem}-{n}{suffix}"
        n += 1
    if taken is not None:
        taken.add(candidate.lower())
    return candidate


def _clean_name(name: str, what: str = "name") -> str:
    clean = (name or "").strip()
    if not clean:
        raise ValueError(f"the {what} must not be empty")
    if len(clean) > NAME_MAX:
        raise ValueError(f"the {what} is {len(clean)} characters long; at most {NAME_MAX} are allowed")
    return clean


def _duplicate_project_name(name: str) -> str:
    """What a person reads when the per-owner unique index refuses a project name (create or rename)."""
    return f"You already have a project named {name!r}; choose another name."


def _clean_message(message: str | None) -> str | None:
    if message is None or not message.strip():
        return None
    clean = message.strip()
    if len(clean) > MESSAGE_MAX:
        raise ValueError(f"the message is {len(clean)} characters long; at most {MESSAGE_MAX} are allowed")
    return clean


def _clean_description(description: str | None) -> str | None:
    if description is None or not description.strip():
        return None
    clean = description.strip()
    if len(clean) > DESCRIPTION_MAX:
        raise ValueError(f"the description is {len(clean)} characters long; at most {DESCRIPTION_MAX} are allowed")
    return clean


def _clean_email(email: str) -> str:
    clean = (email or "").strip().lower()
    if not _EMAIL_RE.match(clean):
        raise ValueError(f"{email!r} is not an email address")
    return clean


def _like_pattern(text: str) -> str:
    """``%text%`` for ILIKE with the LIKE wildcards in ``text`` escaped (backslash is the default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _prefix_query(text: str) -> str | None:
    """A to_tsquery text matching every word of ``text`` as a prefix ('ord cust' → 'ord:* & cust:*').

    A word typed with a leading ``-`` stays excluded ('!word:*'), as in the websearch query. Quoted phrases
    and OR are left to websearch_to_tsquery alone (None here). Only \\w runs are kept, so no tsquery
    operator typed by the user reaches to_tsquery.
    """
    tokens = text.split()
    if '"' in text or any(token.lower() == "or" for token in tokens):
        return None
    terms: list[str] = []
    for token in tokens:
        negate = token.startswith("-")
        terms += [("!" if negate else "") + word.lower() + ":*" for word in _WORD_RE.findall(token)]
    if not any(not term.startswith("!") for term in terms):
        return None
    return " & ".join(terms[:16])


def _status_for(error: SqlErrorInfo | None) -> str:
    """success / error / timeout / cancelled, from the first error of a run (57014 is query_canceled)."""
    if error is None:
        return "success"
    if error.sqlstate == "57014":
        return "timeout" if "statement timeout" in error.message.lower() else "cancelled"
    return "error"


# SQLSTATEs of a connection that went away under a run: its outcome is unknown (57P01 admin_shutdown is
# pg_terminate_backend, 57P02 crash_shutdown another backend's crash, 57P03 cannot_connect_now; class 08 connection).
_LOST_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03"})


def _connection_lost(conn: psycopg.Connection[Any], error: SqlErrorInfo | None) -> bool:
    """True when the backend that ran the SQL died before it said how the run ended."""
    if conn.broken or conn.closed:
        return True
    state = error.sqlstate if error else None
    return bool(state) and (state in _LOST_CONNECTION_STATES or str(state).startswith("08"))


def _clean_sqlstate(error: SqlErrorInfo | None) -> str | None:
    state = error.sqlstate if error else None
    return state if state and re.fullmatch(r"[0-9A-Z]{5}", state) else None


class _StartNotRecorded(Exception):
    """The ``running`` row could not be written, so the run must not start (carries the reason)."""

    def __init__(self, error: DbaAdminError) -> None:
        super().__init__(str(error))
        self.error = error


def _rows_for(results: Sequence[StatementResult]) -> int:
    """Rows of a run: those of the last row-returning statement, else the total of rows affected."""
    done = [r for r in results if r.ok]
    returning = [r for r in done if r.returns_rows]
    if returning:
        return max(0, returning[-1].rowcount)
    return sum(max(0, r.rowcount) for r in done)


# --- row → object -----------------------------------------------------------------------------------------------


def _project(row: dict[str, Any]) -> Project:
    return Project(
        id=row["id"],
        name=row["nome"],
        description=row["descricao"],
        owner=row["created_by"],
        members=tuple(row["membros"] or ()),
        archived_at=row["arquivado_em"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        script_count=int(row.get("script_count") or 0),
        run_count=int(row.get("run_count") or 0),
        last_run_at=row.get("last_run_at"),
    )


def _script(row: dict[str, Any]) -> Script:
    return Script(
        id=row["id"],
        project_id=row["projeto_id"],
        name=row["nome"],
        sql=row["sql"],
        version=row["versao_atual"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _version(row: dict[str, Any]) -> Version:
    return Version(
        id=row["id"],
        script_id=row["script_id"],
        number=row["versao"],
        sql=row["sql"],
        message=row["mensagem"],
        author=row["autor"],
        created_at=row["created_at"],
    )


def _execution(row: dict[str, Any]) -> Execution:
    duration = row["duracao_ms"]
    return Execution(
        id=row["id"],
        script_id=row["script_id"],
        project_id=row["projeto_id"],
        version=row["versao"],
        sql=row["sql_executado"],
        executed_by=row["executado_por"],
        status=row["status"],
        rows=row["linhas"],
        duration_ms=None if duration is None else float(duration),
        error=row["erro"],
        sqlstate=row["sqlstate"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        script_name=row.get("script_name"),
        project_name=row.get("project_name"),
        connection=row.get("banco"),
        origin=row.get("origem") or "interactive",
    )


def _one(cur: psycopg.Cursor[Any]) -> dict[str, Any]:
    row = cur.fetchone()
    if row is None:  # pragma: no cover - only after a RETURNING that the caller proved will return
        raise DbaAdminError("the database returned no row where one was expected")
    return dict(row)


# --- the manager --------------------------------------------------------------------------------------------------


class ProjectManager:
    """Projects, members, scripts, versions, runs, search, export/import — every call as the given user."""

    def __init__(self, db: DatabaseManager) -> None:
        """``db``: the workspace's manager, or a connection's (its workspace keeps the records; runs default to it)."""
        self._db = db
        self._workspace = db.workspace
        self._settings = db.settings

    # -- transactions ------------------------------------------------------------------------------------------

    def _as_user(self, claims: UserClaims, *, unique_message: str | None = None) -> AbstractContextManager[Any]:
        """One transaction as the user (``rls.user_cursor``); a unique violation becomes a ConflictError, with
        ``unique_message`` when the caller knows which name clashed."""

        def clash(exc: psycopg.Error) -> DbaAdminError:
            return ConflictError(unique_message or f"that name is already taken: {exc.diag.message_detail or exc}")

        return user_cursor(self._workspace, claims, refusals={pg_errors.UniqueViolation: clash})

    @staticmethod
    def _audit_as_user(
        cur: psycopg.Cursor[Any],
        claims: UserClaims,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append the audit row of the user's change, in the same transaction, so both commit or neither does.

        Written as the user through ``dba_admin_api.audit`` (SECURITY DEFINER, actor taken from the verified claims):
        the authenticator login has no right of its own to fall back on, and no API role may insert into the audit log.
        """
        assert claims.normalized_email  # the database takes the actor from the claims, not from here
        cur.execute(
            "/* dba_admin */ select dba_admin_api.audit(%s, %s, %s, %s)",
            (action, target, Jsonb(audit.redact(details or {})), audit.APP_INSTANCE),
        )

    # -- look-ups that turn "0 rows" into the right error ----------------------------------------------------

    @staticmethod
    def _project_denied_or_missing(cur: psycopg.Cursor[Any], project_id: uuid.UUID, doing: str) -> DbaAdminError:
        cur.execute("/* dba_admin */ select created_by from public.projetos_analytics where id = %s", (project_id,))
        row = cur.fetchone()
        if row is None:
            return NotFound(f"project {project_id} does not exist or you are not one of its members")
        return PermissionDenied(f"only the project's owner ({row['created_by']}) can {doing}")

    @staticmethod
    def _script_denied_or_missing(cur: psycopg.Cursor[Any], script_id: uuid.UUID) -> DbaAdminError:
        cur.execute("/* dba_admin */ select id from public.scripts_projetos where id = %s", (script_id,))
        if cur.fetchone() is None:
            return NotFound(f"script {script_id} does not exist or is not in a project you are a member of")
        return PermissionDenied("you can read this script but only members of its project can change it")

    def _lock_project(self, cur: psycopg.Cursor[Any], project_id: uuid.UUID, doing: str) -> dict[str, Any]:
        """Lock a project row the user may change (FOR UPDATE applies the owner-only UPDATE policy)."""
        cur.execute(
            "/* dba_admin */ select id, nome, descricao, created_by, membros, arquivado_em, created_at, updated_at"
            " from public.projetos_analytics where id = %s for update",
            (project_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise self._project_denied_or_missing(cur, project_id, doing)
        return dict(row)

    @staticmethod
    def _writable_project(cur: psycopg.Cursor[Any], project_id: uuid.UUID) -> dict[str, Any]:
        """A project the user sees and that is not archived (archived projects are read-only)."""
        cur.execute(
            "/* dba_admin */ select id, nome, arquivado_em, deleted_at from public.projetos_analytics where id = %s",
            (project_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"project {project_id} does not exist or you are not one of its members")
        if row["deleted_at"] is not None:
            raise NotFound(f"project {row['nome']!r} is in the trash; its owner can restore it from Projects → Trash")
        if row["arquivado_em"] is not None:
            raise ConflictError(f"project {row['nome']!r} is archived; its owner must unarchive it before changes")
        return dict(row)

    def _lock_script(self, cur: psycopg.Cursor[Any], script_id: uuid.UUID) -> dict[str, Any]:
        """Lock a script row the user may change; refuses scripts of archived projects."""
        cur.execute(
            "/* dba_admin */ select s.id, s.projeto_id, s.nome, s.sql, s.versao_atual, s.created_by, s.updated_by,"
            " s.created_at, s.updated_at, p.nome as project_name, p.arquivado_em"
            " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
            " where s.id = %s for update of s",
            (script_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise self._script_denied_or_missing(cur, script_id)
        if row["arquivado_em"] is not None:
            raise ConflictError(
                f"project {row['project_name']!r} is archived; its owner must unarchive it before changes"
            )
        return dict(row)

    # -- projects ------------------------------------------------------------------------------------------------

    def create_project(
        self, claims: UserClaims, name: str, description: str | None = None, members: Sequence[str] = ()
    ) -> Project:
        """A new project owned by the user (created_by comes from the claims, as the policy demands)."""
        clean_name = _clean_name(name, "project name")
        clean_members = sorted({_clean_email(m) for m in members})
        with self._as_user(claims, unique_message=_duplicate_project_name(clean_name)) as cur:
            cur.execute(
                "/* dba_admin */ insert into public.projetos_analytics (nome, descricao, membros)"
                " values (%s, %s, %s)"
                " returning id, nome, descricao, created_by, membros, arquivado_em, created_at, updated_at",
                (clean_name, _clean_description(description), clean_members),
            )
            project = _project(_one(cur))
            self._audit_as_user(
                cur,
                claims,
                "project.create",
                f"project:{project.id}",
                {"name": project.name, "members": list(project.members)},
            )
        return project

    def get_project(self, claims: UserClaims, project_id: uuid.UUID) -> Project:
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select p.id, p.nome, p.descricao, p.created_by, p.membros, p.arquivado_em,"
                " p.created_at, p.updated_at,"
                " (select count(*) from public.scripts_projetos s where s.projeto_id = p.id"
                "   and s.deleted_at is null) as script_count,"
                " r.run_count, r.last_run_at, p.deleted_at"
                " from public.projetos_analytics p"
                " left join lateral (select count(*) as run_count, max(e.started_at) as last_run_at"
                "   from public.execucoes_scripts e where e.projeto_id = p.id) r on true"
                " where p.id = %s",
                (project_id,),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"project {project_id} does not exist or you are not one of its members")
        if row["deleted_at"] is not None:
            raise NotFound(f"project {row['nome']!r} is in the trash; its owner can restore it from Projects → Trash")
        return _project(dict(row))

    def list_projects(
        self, claims: UserClaims, *, include_archived: bool = True, search: str | None = None
    ) -> list[Project]:
        """Every project the user may see (RLS), active first, with script and run counts: one query."""
        text = (search or "").strip() or None
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select p.id, p.nome, p.descricao, p.created_by, p.membros, p.arquivado_em,"
                " p.created_at, p.updated_at, coalesce(sc.n, 0) as script_count,"
                " coalesce(r.n, 0) as run_count, r.last_run_at"
                " from public.projetos_analytics p"
                " left join lateral (select count(*) as n from public.scripts_projetos s"
                "   where s.projeto_id = p.id and s.deleted_at is null) sc on true"
                " left join lateral (select count(*) as n, max(e.started_at) as last_run_at"
                "   from public.execucoes_scripts e where e.projeto_id = p.id) r on true"
                " where p.deleted_at is null and (%(all)s or p.arquivado_em is null)"
                "   and (%(text)s::text is null or p.nome ilike %(pattern)s or p.descricao ilike %(pattern)s)"
                " order by p.arquivado_em is not null, lower(p.nome), p.id",
                {"all": include_archived, "text": text, "pattern": _like_pattern(text or "")},
            )
            rows = cur.fetchall()
        return [_project(dict(r)) for r in rows]

    def _update_project(
        self,
        claims: UserClaims,
        project_id: uuid.UUID,
        *,
        doing: str,
        action: str,
        change: Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]] | None],
        unique_message: str | None = None,
    ) -> Project:
        """Owner-only update, atomic: lock the row, let ``change`` compute the new values from it, write, audit.

        ``change`` gets the locked row and returns (column assignments, audit details), or None for "nothing
        to do" (no write, no audit row). Deciding on the locked row is what keeps two owners' tabs adding
        two members at once from losing one of them.
        """
        with self._as_user(claims, unique_message=unique_message) as cur:
            before = self._lock_project(cur, project_id, doing)
            decided = change(before)
            if decided is None:
                unchanged: Project | None = _project(before)
            else:
                unchanged = None
                assignments, details = decided
                if not set(assignments) <= {"nome", "descricao", "membros", "arquivado_em"}:
                    raise ValueError(f"not a column a project update may set: {sorted(assignments)}")
                cur.execute(
                    "/* dba_admin */ update public.projetos_analytics set"
                    " nome = case when %(set_nome)s then %(nome)s else nome end,"
                    " descricao = case when %(set_descricao)s then %(descricao)s else descricao end,"
                    " membros = case when %(set_membros)s then %(membros)s::text[] else membros end,"
                    " arquivado_em = case when %(set_arquivado)s then %(arquivado)s::timestamptz"
                    "   else arquivado_em end"
                    " where id = %(id)s"
                    " returning id, nome, descricao, created_by, membros, arquivado_em, created_at, updated_at",
                    {
                        "id": project_id,
                        "set_nome": "nome" in assignments,
                        "nome": assignments.get("nome"),
                        "set_descricao": "descricao" in assignments,
                        "descricao": assignments.get("descricao"),
                        "set_membros": "membros" in assignments,
                        "membros": assignments.get("membros"),
                        "set_arquivado": "arquivado_em" in assignments,
                        "arquivado": assignments.get("arquivado_em"),
                    },
                )
                row = cur.fetchone()
                if row is None:  # the policy's WITH CHECK, or a concurrent delete
                    raise self._project_denied_or_missing(cur, project_id, doing)
                project = _project(dict(row))
                self._audit_as_user(cur, claims, action, f"project:{project_id}", {"name": before["nome"], **details})
        if unchanged is not None:
            return self.get_project(claims, project_id)
        return project

    def rename_project(self, claims: UserClaims, project_id: uuid.UUID, name: str) -> Project:
        clean = _clean_name(name, "project name")
        return self._update_project(
            claims,
            project_id,
            doing="rename the project",
            action="project.rename",
            change=lambda row: None if row["nome"] == clean else ({"nome": clean}, {"new_name": clean}),
            unique_message=_duplicate_project_name(clean),  # the database's per-owner unique index decides
        )

    def describe_project(self, claims: UserClaims, project_id: uuid.UUID, description: str | None) -> Project:
        clean = _clean_description(description)
        return self._update_project(
            claims,
            project_id,
            doing="change the description",
            action="project.describe",
            change=lambda row: None if row["descricao"] == clean else ({"descricao": clean}, {"description": clean}),
        )

    def archive_project(self, claims: UserClaims, project_id: uuid.UUID) -> Project:
        """Archived projects stay visible and exportable, but their scripts are read-only until unarchived."""
        return self._update_project(
            claims,
            project_id,
            doing="archive the project",
            action="project.archive",
            change=lambda row: None if row["arquivado_em"] else ({"arquivado_em": datetime.now(UTC)}, {}),
        )

    def unarchive_project(self, claims: UserClaims, project_id: uuid.UUID) -> Project:
        return self._update_project(
            claims,
            project_id,
            doing="unarchive the project",
            action="project.unarchive",
            change=lambda row: ({"arquivado_em": None}, {}) if row["arquivado_em"] else None,
        )

    def add_member(self, claims: UserClaims, project_id: uuid.UUID, email: str) -> Project:
        """Owner only. Adding someone already in the project changes nothing and is not audited."""
        member = _clean_email(email)

        def change(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
            if member == row["created_by"]:
                raise ValueError(f"{member} owns the project; the owner is always a member")
            if member in (row["membros"] or []):
                return None
            return {"membros": sorted({*(row["membros"] or []), member})}, {"member": member}

        return self._update_project(claims, project_id, doing="add members", action="project.member_add", change=change)

    def remove_member(self, claims: UserClaims, project_id: uuid.UUID, email: str) -> Project:
        """Owner only. The removed member loses sight of the project at once (RLS), its runs included."""
        member = _clean_email(email)

        def change(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
            if member not in (row["membros"] or []):
                raise NotFound(f"{member} is not a member of project {row['nome']!r}")
            return {"membros": [m for m in row["membros"] if m != member]}, {"member": member}

        return self._update_project(
            claims, project_id, doing="remove members", action="project.member_remove", change=change
        )

    def delete_project(self, claims: UserClaims, project_id: uuid.UUID) -> None:
        """Owner only: move the project to the trash. Its scripts, versions and runs stay; its owner can restore it.

        Purged for good only by an admin or after TRASH_RETENTION_DAYS. The owner-only rule is the database's
        (projetos_update_owner); the trigger stamps deleted_at/deleted_by.
        """
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select id, nome, deleted_at from public.projetos_analytics where id = %s for update",
                (project_id,),
            )
            before = cur.fetchone()
            if before is None:
                raise self._project_denied_or_missing(cur, project_id, "move the project to the trash")
            if before["deleted_at"] is not None:
                raise NotFound(f"project {before['nome']!r} is already in the trash")
            cur.execute(
                "/* dba_admin */ select (select count(*) from public.scripts_projetos s where s.projeto_id = %(id)s)"
                " as scripts, (select count(*) from public.execucoes_scripts e where e.projeto_id = %(id)s) as runs",
                {"id": project_id},
            )
            counts = _one(cur)
            cur.execute(
                "/* dba_admin */ update public.projetos_analytics set deleted_at = now() where id = %s"
                " returning deleted_at",
                (project_id,),
            )
            if cur.rowcount != 1:
                raise self._project_denied_or_missing(cur, project_id, "move the project to the trash")
            self._audit_as_user(
                cur,
                claims,
                "project.trash",
                f"project:{project_id}",
                {"name": before["nome"], "scripts": int(counts["scripts"]), "runs": int(counts["runs"])},
            )

    def restore_project(self, claims: UserClaims, project_id: uuid.UUID) -> Project:
        """Owner only: bring a project back from the trash, with every script it had (those trashed alone stay)."""
        with self._as_user(
            claims, unique_message="a project with this name was just created; rename it, then restore again"
        ) as cur:
            cur.execute(
                "/* dba_admin */ select id, nome, deleted_at from public.projetos_analytics where id = %s for update",
                (project_id,),
            )
            before = cur.fetchone()
            if before is None:
                raise self._project_denied_or_missing(cur, project_id, "restore the project")
            restored = before["deleted_at"] is not None
            if restored:
                # A trashed project does not hold its name; the restore cannot rename it (the trash trigger lets a
                # restore change nothing else), so a name taken meanwhile is refused here, before the index would.
                cur.execute(
                    "/* dba_admin */ select nome from public.projetos_analytics"
                    " where created_by = (select created_by from public.projetos_analytics where id = %(id)s)"
                    " and deleted_at is null and id <> %(id)s"
                    " and pg_catalog.lower(pg_catalog.btrim(nome)) = pg_catalog.lower(pg_catalog.btrim(%(name)s))",
                    {"id": project_id, "name": before["nome"]},
                )
                clash = cur.fetchone()
                if clash is not None:
                    raise ConflictError(
                        f"You already have a project named {clash['nome']!r}, so {before['nome']!r} cannot come back"
                        " from the trash under that name: rename the other project first, then restore this one."
                    )
                cur.execute(
                    "/* dba_admin */ update public.projetos_analytics set deleted_at = null where id = %s",
                    (project_id,),
                )
                if cur.rowcount != 1:
                    raise self._project_denied_or_missing(cur, project_id, "restore the project")
                self._audit_as_user(
                    cur,
                    claims,
                    "project.restore_from_trash",
                    f"project:{project_id}",
                    {"name": before["nome"], "trashed_at": before["deleted_at"].isoformat()},
                )
        return self.get_project(claims, project_id)

    # -- scripts -------------------------------------------------------------------------------------------------

    def list_scripts(self, claims: UserClaims, project_id: uuid.UUID) -> list[Script]:
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select 1 from public.projetos_analytics where id = %s and deleted_at is null",
                (project_id,),
            )
            if cur.fetchone() is None:
                raise NotFound(
                    f"project {project_id} does not exist, is in the trash or you are not one of its members"
                )
            cur.execute(
                "/* dba_admin */ select id, projeto_id, nome, sql, versao_atual, created_by, updated_by,"
                " created_at, updated_at from public.scripts_projetos where projeto_id = %s and deleted_at is null"
                " order by lower(nome), id",
                (project_id,),
            )
            rows = cur.fetchall()
        return [_script(dict(r)) for r in rows]

    def get_script(self, claims: UserClaims, script_id: uuid.UUID) -> Script:
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select s.id, s.projeto_id, s.nome, s.sql, s.versao_atual, s.created_by, s.updated_by,"
                " s.created_at, s.updated_at, coalesce(s.deleted_at, p.deleted_at) as trashed_at"
                " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
                " where s.id = %s",
                (script_id,),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"script {script_id} does not exist or is not in a project you are a member of")
        if row["trashed_at"] is not None:
            raise NotFound(
                f"script {row['nome']!r} is in the trash (or its project is); restore it from Projects → Trash"
            )
        return _script(dict(row))

    @staticmethod
    def _insert_script(
        cur: psycopg.Cursor[Any], project_id: uuid.UUID, name: str, sql_text: str, message: str | None
    ) -> tuple[Script, Version]:
        """The script and its version 1, through ``dba_admin_api.create_script`` (the only way to add a script)."""
        cur.execute(
            "/* dba_admin */ select dba_admin_api.create_script(%s, %s, %s, %s) as id",
            (project_id, name, sql_text, message),
        )
        script_id = _one(cur)["id"]
        cur.execute(
            "/* dba_admin */ select id, projeto_id, nome, sql, versao_atual, created_by, updated_by, created_at,"
            " updated_at from public.scripts_projetos where id = %s",
            (script_id,),
        )
        script = _script(_one(cur))
        cur.execute(
            "/* dba_admin */ select id, script_id, versao, sql, mensagem, autor, created_at"
            " from public.scripts_projetos_versoes where script_id = %s and versao = 1",
            (script_id,),
        )
        return script, _version(_one(cur))

    def create_script(
        self, claims: UserClaims, project_id: uuid.UUID, name: str, sql: str = "", *, message: str | None = None
    ) -> Script:
        """A new script and its version 1, in a project the user is a member of."""
        clean = _clean_name(name, "script name")
        with self._as_user(claims, unique_message=f"a script named {clean!r} already exists in this project") as cur:
            self._writable_project(cur, project_id)
            script, _ = self._insert_script(cur, project_id, clean, sql, _clean_message(message))
            self._audit_as_user(
                cur, claims, "script.create", f"script:{script.id}", {"name": clean, "project_id": str(project_id)}
            )
        return script

    def _save_locked(
        self,
        cur: psycopg.Cursor[Any],
        row: dict[str, Any],
        sql_text: str,
        *,
        base_version: int | None,
        message: str | None,
    ) -> SaveResult:
        """The save rule on a locked script row: conflict if someone saved since base, no version if unchanged."""
        current = int(row["versao_atual"])
        if base_version is not None and base_version != current:
            if row["sql"] == sql_text:  # they saved exactly this text: nothing of the caller's is lost
                return SaveResult(_script(row), None)
            cur.execute(
                "/* dba_admin */ select versao, autor, created_at, sql from public.scripts_projetos_versoes"
                " where script_id = %s and versao = %s",
                (row["id"], current),
            )
            theirs = cur.fetchone()
            their_sql = theirs["sql"] if theirs else row["sql"]
            raise SaveConflict(
                row["id"],
                base_version,
                ConcurrentChange(
                    version=current,
                    author=theirs["autor"] if theirs else (row["updated_by"] or row["created_by"]),
                    saved_at=theirs["created_at"] if theirs else row["updated_at"],
                    sql=their_sql,
                    diff=diff_texts(
                        their_sql, sql_text, left_label=f"v{current} (saved)", right_label="your text"
                    ).unified,
                ),
            )
        if row["sql"] == sql_text:
            return SaveResult(_script(row), None)
        # The text and version current+1 are written together by dba_admin_api.save_version (SECURITY DEFINER): the
        # database refuses any other way to change a script's text. It checks the version again on the locked row.
        cur.execute(
            "/* dba_admin */ select dba_admin_api.save_version(%s, %s, %s, %s) as version_id",
            (row["id"], current, sql_text, message),
        )
        version_id = _one(cur)["version_id"]
        if version_id is None:  # pragma: no cover - the text was compared above on the locked row
            return SaveResult(_script(row), None)
        cur.execute(
            "/* dba_admin */ select id, projeto_id, nome, sql, versao_atual, created_by, updated_by, created_at,"
            " updated_at from public.scripts_projetos where id = %s",
            (row["id"],),
        )
        updated = _script(_one(cur))
        cur.execute(
            "/* dba_admin */ select id, script_id, versao, sql, mensagem, autor, created_at"
            " from public.scripts_projetos_versoes where id = %s",
            (version_id,),
        )
        return SaveResult(updated, _version(_one(cur)))

    def save_script(
        self,
        claims: UserClaims,
        script_id: uuid.UUID,
        sql: str,
        *,
        base_version: int,
        message: str | None = None,
    ) -> SaveResult:
        """Save the editor's text, edited from ``base_version``; SaveConflict if someone saved since.

        The script row is locked FOR UPDATE before the version check, so concurrent saves from one base
        serialize: the first writes base+1, every other one then sees base+1 and gets the conflict.
        """
        clean_message = _clean_message(message)
        with self._as_user(claims) as cur:
            row = self._lock_script(cur, script_id)
            result = self._save_locked(cur, row, sql, base_version=base_version, message=clean_message)
            if result.version is None:
                return result
            self._audit_as_user(
                cur,
                claims,
                "script.save",
                f"script:{script_id}",
                {"version": result.version.number, "base_version": base_version, "message": clean_message},
            )
        return result

    def rename_script(self, claims: UserClaims, script_id: uuid.UUID, name: str) -> Script:
        clean = _clean_name(name, "script name")
        with self._as_user(claims, unique_message=f"a script named {clean!r} already exists in this project") as cur:
            before = self._lock_script(cur, script_id)
            cur.execute(
                "/* dba_admin */ update public.scripts_projetos set nome = %s where id = %s"
                " returning id, projeto_id, nome, sql, versao_atual, created_by, updated_by, created_at, updated_at",
                (clean, script_id),
            )
            script = _script(_one(cur))
            self._audit_as_user(
                cur, claims, "script.rename", f"script:{script_id}", {"name": before["nome"], "new_name": clean}
            )
        return script

    def move_script(self, claims: UserClaims, script_id: uuid.UUID, project_id: uuid.UUID) -> Script:
        """Move to another project; the policies require membership of both (USING and WITH CHECK)."""
        with self._as_user(claims) as cur:
            before = self._lock_script(cur, script_id)
            if before["projeto_id"] == project_id:
                return _script(before)
            target = self._writable_project(cur, project_id)
            try:
                cur.execute(
                    "/* dba_admin */ update public.scripts_projetos set projeto_id = %s where id = %s returning id,"
                    " projeto_id, nome, sql, versao_atual, created_by, updated_by, created_at, updated_at",
                    (project_id, script_id),
                )
            except pg_errors.UniqueViolation as exc:
                raise ConflictError(
                    f"project {target['nome']!r} already has a script named {before['nome']!r}; rename one first"
                ) from exc
            script = _script(_one(cur))
            self._audit_as_user(
                cur,
                claims,
                "script.move",
                f"script:{script_id}",
                {"name": before["nome"], "from_project": str(before["projeto_id"]), "to_project": str(project_id)},
            )
        return script

    def delete_script(self, claims: UserClaims, script_id: uuid.UUID) -> None:
        """Move a script to the trash: its versions and runs stay, and it can be restored until it is purged.

        Only the project's owner or the script's author may: the restrictive policy scripts_trash_owner_or_author
        refuses anyone else in the database (this code only words the refusal).
        """
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select s.id, s.projeto_id, s.nome, s.versao_atual, s.created_by, s.deleted_at,"
                " p.nome as project_name, p.created_by as owner, p.arquivado_em, p.deleted_at as project_deleted_at"
                " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
                " where s.id = %s for update of s",
                (script_id,),
            )
            before = cur.fetchone()
            if before is None:
                raise self._script_denied_or_missing(cur, script_id)
            if before["deleted_at"] is not None:
                raise NotFound(f"script {before['nome']!r} is already in the trash")
            if before["project_deleted_at"] is not None:
                raise NotFound(f"project {before['project_name']!r} is in the trash, and its scripts with it")
            if before["arquivado_em"] is not None:
                raise ConflictError(
                    f"project {before['project_name']!r} is archived; its owner must unarchive it before changes"
                )
            cur.execute(
                "/* dba_admin */ select (select count(*) from public.scripts_projetos_versoes v"
                " where v.script_id = %(id)s) as versions,"
                " (select count(*) from public.execucoes_scripts e where e.script_id = %(id)s) as runs",
                {"id": script_id},
            )
            counts = _one(cur)
            try:
                cur.execute(
                    "/* dba_admin */ update public.scripts_projetos set deleted_at = now() where id = %s", (script_id,)
                )
            except pg_errors.InsufficientPrivilege as exc:
                raise PermissionDenied(
                    f"only the project's owner ({before['owner']}) or the script's author ({before['created_by']})"
                    f" can move {before['nome']!r} to the trash; ask one of them"
                ) from exc
            if cur.rowcount != 1:
                raise self._script_denied_or_missing(cur, script_id)
            self._audit_as_user(
                cur,
                claims,
                "script.trash",
                f"script:{script_id}",
                {
                    "name": before["nome"],
                    "project_id": str(before["projeto_id"]),
                    "project_name": before["project_name"],
                    "version": before["versao_atual"],
                    "versions": int(counts["versions"]),
                    "runs": int(counts["runs"]),
                },
            )

    # -- trash ---------------------------------------------------------------------------------------------------

    def restore_script(self, claims: UserClaims, script_id: uuid.UUID) -> Script:
        """Bring a script back from the trash (project owner or author, as the policies say).

        Its name may have been taken by a live script meanwhile: it then comes back as "name (restored)",
        "name (restored 2)"..., which the returned Script and the audit row say.
        """
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select s.id, s.projeto_id, s.nome, s.deleted_at, p.nome as project_name,"
                " p.deleted_at as project_deleted_at"
                " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
                " where s.id = %s for update of s",
                (script_id,),
            )
            before = cur.fetchone()
            if before is None:
                cur.execute(
                    "/* dba_admin */ select s.nome, s.created_by, p.created_by as owner"
                    " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
                    " where s.id = %s",
                    (script_id,),
                )
                seen = cur.fetchone()
                if seen is None:
                    raise NotFound(f"script {script_id} does not exist or is not in a project you are a member of")
                raise PermissionDenied(
                    f"only the project's owner ({seen['owner']}) or the script's author ({seen['created_by']})"
                    f" can restore {seen['nome']!r}"
                )
            if before["project_deleted_at"] is not None:
                raise ConflictError(
                    f"project {before['project_name']!r} is in the trash too: restore the project first"
                )
            if before["deleted_at"] is not None:
                cur.execute(
                    "/* dba_admin */ select nome from public.scripts_projetos"
                    " where projeto_id = %s and deleted_at is null",
                    (before["projeto_id"],),
                )
                used = {r["nome"] for r in cur.fetchall()}
                name = before["nome"] if before["nome"] not in used else _restored_name(before["nome"], used)
                try:
                    cur.execute(
                        "/* dba_admin */ update public.scripts_projetos set deleted_at = null, nome = %s where id = %s",
                        (name, script_id),
                    )
                except pg_errors.UniqueViolation as exc:  # someone took the name in the meantime
                    raise ConflictError(
                        f"a script named {name!r} was just created in project {before['project_name']!r}; restore again"
                    ) from exc
                if cur.rowcount != 1:
                    raise self._script_denied_or_missing(cur, script_id)
                details: dict[str, Any] = {
                    "name": before["nome"],
                    "project_id": str(before["projeto_id"]),
                    "trashed_at": before["deleted_at"].isoformat(),
                }
                if name != before["nome"]:
                    details["restored_as"] = name
                self._audit_as_user(cur, claims, "script.restore_from_trash", f"script:{script_id}", details)
        return self.get_script(claims, script_id)

    def list_trash(self, claims: UserClaims) -> list[TrashItem]:
        """What the user may restore (trashed projects they own; trashed scripts of live projects they own or
        wrote), newest first; an admin sees the whole trash. RLS bounds the rows; the ownership filter is the view's.
        """
        admin = claims.app_role == "admin"
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select 'project' as kind, p.id, p.nome as name, p.id as project_id,"
                " p.nome as project_name, p.created_by as owner, p.created_by as author, p.deleted_at, p.deleted_by,"
                " (select count(*) from public.scripts_projetos s where s.projeto_id = p.id) as scripts,"
                " (select count(*) from public.scripts_projetos_versoes v join public.scripts_projetos s"
                "   on s.id = v.script_id where s.projeto_id = p.id) as versions,"
                " (select count(*) from public.execucoes_scripts e where e.projeto_id = p.id) as runs"
                " from public.projetos_analytics p"
                " where p.deleted_at is not null and (%(admin)s or p.created_by = (select auth.email()))"
                " union all"
                " select 'script', s.id, s.nome, s.projeto_id, p.nome, p.created_by, s.created_by, s.deleted_at,"
                " s.deleted_by, 1,"
                " (select count(*) from public.scripts_projetos_versoes v where v.script_id = s.id),"
                " (select count(*) from public.execucoes_scripts e where e.script_id = s.id)"
                " from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id"
                " where s.deleted_at is not null and p.deleted_at is null"
                "   and (%(admin)s or p.created_by = (select auth.email()) or s.created_by = (select auth.email()))"
                " order by deleted_at desc, id",
                {"admin": admin},
            )
            rows = cur.fetchall()
        me = claims.normalized_email
        return [
            TrashItem(
                kind=r["kind"],
                id=r["id"],
                name=r["name"],
                project_id=r["project_id"],
                project_name=r["project_name"],
                owner=r["owner"],
                author=r["author"],
                deleted_at=r["deleted_at"],
                deleted_by=r["deleted_by"],
                scripts=int(r["scripts"]),
                versions=int(r["versions"]),
                runs=int(r["runs"]),
                can_restore=me in (r["owner"], r["author"]),
                can_purge=admin,
            )
            for r in rows
        ]

    def purge_project(self, claims: UserClaims, project_id: uuid.UUID) -> PurgedItem:
        """Admin only, and only from the trash: remove a project for good, with its scripts and their versions."""
        return self._purge_one(claims, "project", project_id)

    def purge_script(self, claims: UserClaims, script_id: uuid.UUID) -> PurgedItem:
        """Admin only, and only from the trash: remove a script and its versions for good (its runs stay)."""
        return self._purge_one(claims, "script", script_id)

    def _purge_one(self, claims: UserClaims, kind: str, item_id: uuid.UUID) -> PurgedItem:
        """The purge as the admin, under RLS (projetos_purge_admin / scripts_purge_admin), audited in the same
        transaction with everything it removed."""
        with self._as_user(claims) as cur:
            purged = _purge(cur, kind=kind, item_id=item_id)
            if not purged:
                cur.execute(
                    "/* dba_admin */ select nome, deleted_at from public.projetos_analytics where id = %s"
                    if kind == "project"
                    else "/* dba_admin */ select nome, deleted_at from public.scripts_projetos where id = %s",
                    (item_id,),
                )
                seen = cur.fetchone()
                if seen is None:
                    raise NotFound(f"{kind} {item_id} does not exist or is not visible to you")
                if seen["deleted_at"] is None:
                    raise ConflictError(f"{kind} {seen['nome']!r} is not in the trash; only trashed items are purged")
                raise PermissionDenied(f"only an admin can purge {kind} {seen['nome']!r} from the trash")
            for item in purged:
                self._audit_as_user(
                    cur, claims, f"{item.kind}.purge", f"{item.kind}:{item.id}", item.audit_details("admin", None)
                )
        return purged[0]

    # -- versions --------------------------------------------------------------------------------------------------

    def list_versions(self, claims: UserClaims, script_id: uuid.UUID) -> list[Version]:
        """Newest first."""
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select id, script_id, versao, sql, mensagem, autor, created_at"
                " from public.scripts_projetos_versoes where script_id = %s order by versao desc",
                (script_id,),
            )
            rows = cur.fetchall()
        if not rows:
            raise NotFound(f"script {script_id} does not exist or is not in a project you are a member of")
        return [_version(dict(r)) for r in rows]

    def get_version(self, claims: UserClaims, script_id: uuid.UUID, number: int) -> Version:
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select id, script_id, versao, sql, mensagem, autor, created_at"
                " from public.scripts_projetos_versoes where script_id = %s and versao = %s",
                (script_id, number),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"version {number} of script {script_id} does not exist or is not visible to you")
        return _version(dict(row))

    def diff_versions(self, claims: UserClaims, script_id: uuid.UUID, left: int, right: int) -> Diff:
        """Line diff of any two versions (older on the left by convention, but any order works)."""
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select versao, sql from public.scripts_projetos_versoes"
                " where script_id = %s and versao = any(%s)",
                (script_id, [left, right]),
            )
            texts = {r["versao"]: r["sql"] for r in cur.fetchall()}
        missing = [n for n in (left, right) if n not in texts]
        if missing:
            raise NotFound(f"version {missing[0]} of script {script_id} does not exist or is not visible to you")
        return diff_texts(texts[left], texts[right], left_label=f"v{left}", right_label=f"v{right}")

    def restore_version(
        self, claims: UserClaims, script_id: uuid.UUID, number: int, *, base_version: int | None = None
    ) -> SaveResult:
        """Make version ``number``'s text current again, as a NEW version ("restored from vN"): history only grows.

        With ``base_version`` the restore is refused like a save if someone saved since the user looked.
        """
        message = f"restored from v{number}"
        with self._as_user(claims) as cur:
            row = self._lock_script(cur, script_id)
            cur.execute(
                "/* dba_admin */ select sql from public.scripts_projetos_versoes where script_id = %s and versao = %s",
                (script_id, number),
            )
            old = cur.fetchone()
            if old is None:
                raise NotFound(f"version {number} of script {script_id} does not exist")
            result = self._save_locked(cur, row, old["sql"], base_version=base_version, message=message)
            if result.version is None:
                return result
            self._audit_as_user(
                cur,
                claims,
                "script.restore",
                f"script:{script_id}",
                {"restored": number, "version": result.version.number},
            )
        return result

    # -- executions --------------------------------------------------------------------------------------------------

    def run_script(
        self,
        claims: UserClaims,
        script_id: uuid.UUID,
        *,
        confirm_destructive: bool = False,
        timeout_ms: int | None = None,
        max_rows: int | None = None,
        expected_version: int | None = None,
        single_transaction: bool = False,
        target: DatabaseManager | None = None,
        origin: str = "interactive",
    ) -> RunOutcome:
        """Run the script's current saved text on ``target`` (a connection) and record the run against its project,
        version and connection.

        ``expected_version`` is the version the person looked at (and, for a destructive script, confirmed): if
        someone saved since, nothing runs — a confirmation never carries over to text nobody reviewed.
        ``origin``: 'scheduled' when a worker runs it for a schedule (the history shows where a run came from).
        """
        script = self.get_script(claims, script_id)
        if expected_version is not None and script.version != expected_version:
            raise ConflictError(
                f"the script changed since you opened it: version {script.version} by {script.updated_by or 'someone'}"
                f" replaced version {expected_version}. Nothing ran; review the new text and run again."
            )
        return self._run(
            claims,
            script.sql,
            script=script,
            confirm_destructive=confirm_destructive,
            timeout_ms=timeout_ms,
            max_rows=max_rows,
            single_transaction=single_transaction,
            target=target,
            origin=origin,
        )

    def run_adhoc(
        self,
        claims: UserClaims,
        sql: str,
        *,
        confirm_destructive: bool = False,
        timeout_ms: int | None = None,
        max_rows: int | None = None,
        single_transaction: bool = False,
        target: DatabaseManager | None = None,
        read_only: bool = False,
    ) -> RunOutcome:
        """Run SQL typed in the editor on ``target`` (a connection); recorded in the history with no script.

        ``single_transaction``: a DBA's text runs all or nothing (see ``DatabaseManager.execute_query``).
        ``read_only``: the read-only login whatever the role (the assistant's Run button)."""
        return self._run(
            claims,
            sql,
            script=None,
            confirm_destructive=confirm_destructive,
            timeout_ms=timeout_ms,
            max_rows=max_rows,
            single_transaction=single_transaction,
            target=target,
            read_only=read_only,
        )

    def _target(self, target: DatabaseManager | None) -> DatabaseManager:
        """Where a run goes: the given connection, else the one this manager was made on (never the workspace)."""
        chosen = target if target is not None else self._db
        if chosen.is_workspace:
            raise ConfigError(
                "SQL runs on a registered connection, never on the app's own database: choose a connection "
                "(`dba-admin connection list`)"
            )
        return chosen

    def _run(
        self,
        claims: UserClaims,
        sql_text: str,
        *,
        script: Script | None,
        confirm_destructive: bool,
        timeout_ms: int | None,
        max_rows: int | None,
        single_transaction: bool = False,
        target: DatabaseManager | None = None,
        read_only: bool = False,
        origin: str = "interactive",
    ) -> RunOutcome:
        db = self._target(target)
        # Write mode needs the connection's DBA login; without one a DBA's SQL runs read-only, like an analyst's.
        read_only = read_only or claims.app_role not in WRITE_ROLES or not db.has_dba_login
        statements = split_statements(sql_text)
        if not statements:
            raise QueryRefused(SqlErrorInfo(sqlstate=None, message="nothing to run: the text has no SQL statement"))
        if not read_only:
            reasons = tuple(
                f"{s.command or s.kind.value}: {s.destructive_reason or 'destructive'}"
                for s in statements
                if s.kind == Kind.DESTRUCTIVE
            )
            if reasons and not confirm_destructive:
                return RunOutcome(status="needs_confirmation", read_only=read_only, destructive_reasons=reasons)
        clock = time.perf_counter()
        results: tuple[StatementResult, ...] = ()
        error: SqlErrorInfo | None
        started: list[tuple[int, psycopg.Connection[Any]]] = []  # (run id, the connection running it)

        def record_start(conn: psycopg.Connection[Any]) -> None:
            """Called by execute_query with the borrowed connection, before its first statement."""
            try:
                started.append(
                    (
                        self._start_run(
                            claims, sql_text=sql_text, script=script, conn=conn, label=db.name, origin=origin
                        ),
                        conn,
                    )
                )
            except DbaAdminError as exc:
                raise _StartNotRecorded(exc) from exc

        try:
            results = tuple(
                db.execute_query(
                    sql_text,
                    read_only=read_only,
                    timeout_ms=timeout_ms,
                    max_rows=max_rows,
                    claims=claims,
                    single_transaction=single_transaction,
                    on_start=record_start,
                )
            )
            error = next((r.error for r in results if r.error is not None), None)
        except _StartNotRecorded as failed:  # nothing ran: a run that cannot be recorded does not start
            raise failed.error from failed.error.__cause__
        except QueryError as exc:  # refused before it ran, or the connection failed: still a run to record
            error = exc.info
        except BaseException as exc:  # anything else: the row must not stay "running" while this process lives
            if started:
                self._finish_run(
                    started[0][0],
                    status="error",
                    rows=0,
                    duration_ms=(time.perf_counter() - clock) * 1000.0,
                    error=SqlErrorInfo(sqlstate=None, message=f"the run stopped in the app: {one_line(exc)}"),
                )
            raise
        duration_ms = (time.perf_counter() - clock) * 1000.0
        status = _status_for(error)
        if not started:  # refused or failed before a connection was had: recorded as what happened
            execution = self._record_unstarted_run(
                claims,
                sql_text=sql_text,
                script=script,
                status=status,
                duration_ms=duration_ms,
                error=error,
                label=db.name,
                origin=origin,
            )
        else:
            run_id, conn = started[0]
            if _connection_lost(conn, error):
                status = "interrupted"
            execution = self._finish_run(
                run_id, status=status, rows=_rows_for(results), duration_ms=duration_ms, error=error
            )
        return RunOutcome(status=status, read_only=read_only, results=results, execution=execution, error=error)

    # The run history is written on the app's owner connection only (the trusted server side): no API role has any
    # write privilege on execucoes_scripts, so a client holding a user's JWT cannot insert or change a run. The
    # actor is taken from the claims of the app's verified session, never from the SQL's own claims.

    @contextmanager
    def _trusted(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction on the owner connection, with the app's timeouts; driver errors named."""
        try:
            with self._workspace.timed_transaction() as cur:
                yield cur
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc

    def _start_run(
        self,
        claims: UserClaims,
        *,
        sql_text: str,
        script: Script | None,
        conn: psycopg.Connection[Any],
        label: str,
        origin: str = "interactive",
    ) -> int:
        """The ``running`` row and its audit row, committed before the user's SQL starts on ``conn``.

        Records who, what (redacted), which script and version, where (the database's label), when, and the
        backend (pid + backend_start) that will run it, so a run whose backend died can be told from a live one.
        """
        email = claims.normalized_email
        if not email:
            raise PermissionDenied("a run needs the email of a signed-in user")
        pid = conn.info.backend_pid
        # The backend's start, read on the run's own connection (it may be another server than the workspace's), then
        # that read's transaction ended so the run begins from a clean connection.
        try:
            row = conn.execute(
                "/* dba_admin */ select backend_start from pg_catalog.pg_stat_activity where pid = pg_backend_pid()"
            ).fetchone()
            conn.rollback()
        except psycopg.Error as exc:
            raise query_error_from(exc) from exc
        backend_start = row[0] if row else None
        with self._trusted() as cur:
            cur.execute(
                "/* dba_admin */ insert into public.execucoes_scripts (script_id, projeto_id, versao, sql_executado,"
                " executado_por, user_id, status, started_at, banco, backend_pid, backend_start, app_instance, origem)"
                " values (%(script)s, %(project)s, %(version)s, %(sql)s, %(email)s, %(uid)s, 'running', now(),"
                " %(label)s, %(pid)s, %(backend_start)s, %(app)s, %(origin)s)"
                " returning id",
                {
                    "script": script.id if script else None,
                    "project": script.project_id if script else None,
                    "version": script.version if script else None,
                    "sql": redact_sql(sql_text),
                    "email": email,
                    "uid": claims.sub,
                    "label": label,
                    "pid": pid,
                    "backend_start": backend_start,
                    "app": audit.APP_INSTANCE,
                    "origin": origin,
                },
            )
            run_id = int(_one(cur)["id"])
            audit.record(
                cur.connection,
                "script.run" if script else "sql.run",
                actor=email,
                target=f"script:{script.id}" if script else f"execution:{run_id}",
                details={
                    "execution_id": run_id,
                    "status": "running",
                    "version": script.version if script else None,
                    "project_id": str(script.project_id) if script else None,
                    "database": label,
                    "backend_pid": pid,
                },
            )
        return run_id

    def _finish_run(
        self, run_id: int, *, status: str, rows: int, duration_ms: float, error: SqlErrorInfo | None
    ) -> Execution:
        """The outcome of a started run, on its own row (the audit row of the start stays as written)."""
        with self._trusted() as cur:
            cur.execute(
                "/* dba_admin */ update public.execucoes_scripts set status = %s, linhas = %s, duracao_ms = %s,"
                " erro = %s, sqlstate = %s, finished_at = now()"
                " where id = %s and status in ('running', 'interrupted')"
                " returning id, script_id, projeto_id, versao, sql_executado, executado_por, status, linhas,"
                " duracao_ms, erro, sqlstate, started_at, finished_at, banco, origem",
                (
                    status,
                    rows,
                    round(duration_ms, 3),
                    redact_sql(error.message) if error else None,
                    _clean_sqlstate(error),
                    run_id,
                ),
            )
            row = cur.fetchone()
            if row is None:  # pragma: no cover - only if someone finished it already
                raise ConflictError(f"run {run_id} was already finished")
        return _execution(dict(row))

    def _record_unstarted_run(
        self,
        claims: UserClaims,
        *,
        sql_text: str,
        script: Script | None,
        status: str,
        duration_ms: float,
        error: SqlErrorInfo | None,
        label: str | None = None,
        origin: str = "interactive",
    ) -> Execution:
        """A run refused (or without a connection) before any statement reached the server: one finished row."""
        email = claims.normalized_email
        if not email:
            raise PermissionDenied("a run needs the email of a signed-in user")
        with self._trusted() as cur:
            cur.execute(
                "/* dba_admin */ insert into public.execucoes_scripts (script_id, projeto_id, versao, sql_executado,"
                " executado_por, user_id, status, linhas, duracao_ms, erro, sqlstate, started_at, finished_at,"
                " app_instance, banco, origem)"
                " values (%s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, now(), now(), %s, %s, %s)"
                " returning id, script_id, projeto_id, versao, sql_executado, executado_por, status, linhas,"
                " duracao_ms, erro, sqlstate, started_at, finished_at, banco, origem",
                (
                    script.id if script else None,
                    script.project_id if script else None,
                    script.version if script else None,
                    redact_sql(sql_text),
                    email,
                    claims.sub,
                    status,
                    round(duration_ms, 3),
                    redact_sql(error.message) if error else None,
                    _clean_sqlstate(error),
                    audit.APP_INSTANCE,
                    label,
                    origin,
                ),
            )
            execution = _execution(_one(cur))
            audit.record(
                cur.connection,
                "script.run" if script else "sql.run",
                actor=email,
                target=f"script:{script.id}" if script else f"execution:{execution.id}",
                details={
                    "execution_id": execution.id,
                    "status": status,
                    "sqlstate": execution.sqlstate,
                    "version": script.version if script else None,
                    "project_id": str(script.project_id) if script else None,
                },
            )
        return execution

    def mark_interrupted_runs(self) -> int:
        """Turn runs whose backend is gone (a dead server or app server) from ``running`` into ``interrupted``."""
        with self._trusted() as cur:
            cur.execute("/* dba_admin */ select dba_admin.mark_interrupted_runs() as n")
            return int(_one(cur)["n"])

    def history(
        self,
        claims: UserClaims,
        *,
        script_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
        status: str | None = None,
        mine_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        limit: int = 200,
    ) -> list[Execution]:
        """Runs the user may see (their own, and their projects' scripts'), newest first.

        ``mine_only``, the time window and ``text`` (in the SQL, script or project name) are view filters applied
        in the database, so a long history is searched whole; RLS alone decides whose runs can appear at all.
        """
        self.mark_interrupted_runs()  # a run whose server or app died shows as interrupted, not running forever
        needle = None
        if text and text.strip():
            needle = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select e.id, e.script_id, e.projeto_id, e.versao, e.sql_executado, e.executado_por,"
                " e.status, e.linhas, e.duracao_ms, e.erro, e.sqlstate, e.started_at, e.finished_at, e.banco, e.origem,"
                " s.nome as script_name, p.nome as project_name"
                " from public.execucoes_scripts e"
                " left join public.scripts_projetos s on s.id = e.script_id"
                " left join public.projetos_analytics p on p.id = e.projeto_id"
                " where (%(script)s::uuid is null or e.script_id = %(script)s)"
                "   and (%(project)s::uuid is null or e.projeto_id = %(project)s)"
                "   and (%(status)s::text is null or e.status = %(status)s)"
                "   and (not %(mine)s or e.executado_por = (select auth.email()))"
                "   and (%(since)s::timestamptz is null or e.started_at >= %(since)s)"
                "   and (%(until)s::timestamptz is null or e.started_at < %(until)s)"
                "   and (%(needle)s::text is null or e.sql_executado ilike %(needle)s"
                "        or s.nome ilike %(needle)s or p.nome ilike %(needle)s)"
                " order by e.started_at desc, e.id desc limit %(limit)s",
                {
                    "script": script_id,
                    "project": project_id,
                    "status": status,
                    "mine": mine_only,
                    "since": since,
                    "until": until,
                    "needle": needle,
                    "limit": max(1, min(int(limit), 10_000)),
                },
            )
            rows = cur.fetchall()
        return [_execution(dict(r)) for r in rows]

    # -- search -------------------------------------------------------------------------------------------------------

    def search_scripts(self, claims: UserClaims, text: str, *, limit: int = 50) -> list[SearchHit]:
        """Scripts of visible projects whose name or SQL matches, best first.

        Full-text (GIN index on ``busca``) with the user's words as typed (websearch syntax: quotes, OR, -)
        and as prefixes, so a fragment such as "cust" still finds "customers"; plus ILIKE on the name for
        fragments inside a word. Name matches rank above SQL-text matches.
        """
        query = (text or "").strip()
        if not query:
            return []
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ with q as (select websearch_to_tsquery('simple', %(text)s) as web,"
                "   coalesce(to_tsquery('simple', %(prefix)s), ''::tsquery) as pre)"
                " select s.id, s.projeto_id, s.nome, s.sql, s.versao_atual, s.created_by, s.updated_by,"
                " s.created_at, s.updated_at, p.nome as project_name,"
                " (2 * ts_rank(s.busca, q.web) + ts_rank(s.busca, q.pre)"
                "  + case when lower(s.nome) = lower(%(text)s) then 3"
                "         when s.nome ilike %(pattern)s then 1 else 0 end)::float8 as rank"
                " from public.scripts_projetos s"
                " join public.projetos_analytics p on p.id = s.projeto_id"
                " cross join q"
                " where (s.busca @@ q.web or s.busca @@ q.pre or s.nome ilike %(pattern)s)"
                "   and s.deleted_at is null and p.deleted_at is null"
                " order by rank desc, s.updated_at desc, s.id limit %(limit)s",
                {
                    "text": query,
                    "prefix": _prefix_query(query),
                    "pattern": _like_pattern(query),
                    "limit": max(1, min(int(limit), 500)),
                },
            )
            rows = cur.fetchall()
        return [SearchHit(script=_script(dict(r)), project_name=r["project_name"], rank=float(r["rank"])) for r in rows]

    # -- export / import ----------------------------------------------------------------------------------------------

    def export_project(self, claims: UserClaims, project_id: uuid.UUID) -> bytes:
        """A zip of one .sql file per script plus manifest.json; audited."""
        with self._as_user(claims) as cur:
            cur.execute(
                "/* dba_admin */ select id, nome, descricao from public.projetos_analytics"
                " where id = %s and deleted_at is null",
                (project_id,),
            )
            project = cur.fetchone()
            if project is None:
                raise NotFound(f"project {project_id} does not exist or you are not one of its members")
            cur.execute(
                "/* dba_admin */ select id, projeto_id, nome, sql, versao_atual, created_by, updated_by,"
                " created_at, updated_at from public.scripts_projetos where projeto_id = %s and deleted_at is null"
                " order by lower(nome), id",
                (project_id,),
            )
            scripts = [_script(dict(r)) for r in cur.fetchall()]
            exported_at = datetime.now(UTC)
            taken: set[str] = set()
            entries = []
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for script in scripts:
                    file_name = "scripts/" + safe_file_name(script.name, taken)
                    zf.writestr(file_name, script.sql.encode("utf-8"))
                    entries.append(
                        {
                            "name": script.name,
                            "file": file_name,
                            "version": script.version,
                            "updated_at": script.updated_at.isoformat(),
                            "updated_by": script.updated_by,
                        }
                    )
                manifest = {
                    "format": ARCHIVE_FORMAT,
                    "format_version": ARCHIVE_FORMAT_VERSION,
                    "project": {"name": project["nome"], "description": project["descricao"]},
                    "scripts": entries,
                    "exported_at": exported_at.isoformat(),
                    "exported_by": claims.normalized_email,
                }
                zf.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
            self._audit_as_user(
                cur,
                claims,
                "project.export",
                f"project:{project_id}",
                {"name": project["nome"], "scripts": len(scripts)},
            )
        return buffer.getvalue()

    def import_project(
        self,
        claims: UserClaims,
        data: bytes,
        *,
        project_id: uuid.UUID | None = None,
        project_name: str | None = None,
        policy: ClashPolicy | None = None,
    ) -> ImportReport:
        """Import an exported zip into an existing project (``project_id``) or a new one.

        Names that already exist in the target are never overwritten silently: with no ``policy`` the import
        raises ImportClash listing them and writes nothing; otherwise they are skipped, renamed or saved as
        new versions of the existing scripts. All of it is one transaction.
        """
        archive = _read_archive(data)
        created: list[str] = []
        renamed: list[tuple[str, str]] = []
        skipped: list[str] = []
        new_versions: list[str] = []
        unchanged: list[str] = []
        with self._as_user(claims) as cur:
            if project_id is None:
                new_name = _clean_name(project_name or archive.name, "project name")
                try:
                    cur.execute(
                        "/* dba_admin */ insert into public.projetos_analytics (nome, descricao) values (%s, %s)"
                        " returning id",
                        (new_name, archive.description),
                    )
                except pg_errors.UniqueViolation as exc:  # the per-owner unique index on live project names
                    raise ConflictError(_duplicate_project_name(new_name)) from exc
                target_id = _one(cur)["id"]
            else:
                target_id = self._writable_project(cur, project_id)["id"]
            cur.execute(
                "/* dba_admin */ select id, projeto_id, nome, sql, versao_atual, created_by, updated_by,"
                " created_at, updated_at from public.scripts_projetos where projeto_id = %s and deleted_at is null"
                " order by id for update",
                (target_id,),
            )
            existing = {r["nome"]: dict(r) for r in cur.fetchall()}
            clashes = [s.name for s in archive.scripts if s.name in existing]
            if clashes and policy is None:
                raise ImportClash(clashes)
            used = set(existing)
            for item in archive.scripts:
                message = f"imported from {item.file}"
                if item.name not in existing:
                    self._insert_script(cur, target_id, item.name, item.sql, message)
                    created.append(item.name)
                elif policy == ClashPolicy.SKIP:
                    skipped.append(item.name)
                elif policy == ClashPolicy.RENAME:
                    new_name = _free_name(item.name, used)
                    self._insert_script(cur, target_id, new_name, item.sql, message)
                    renamed.append((item.name, new_name))
                else:
                    result = self._save_locked(cur, existing[item.name], item.sql, base_version=None, message=message)
                    (new_versions if result.changed else unchanged).append(item.name)
                used.add(item.name)
            cur.execute(
                "/* dba_admin */ select id, nome, descricao, created_by, membros, arquivado_em, created_at, updated_at,"
                " (select count(*) from public.scripts_projetos s where s.projeto_id = p.id"
                "   and s.deleted_at is null) as script_count"
                " from public.projetos_analytics p where id = %s",
                (target_id,),
            )
            project = _project(_one(cur))
            self._audit_as_user(
                cur,
                claims,
                "project.import",
                f"project:{target_id}",
                {
                    "name": project.name,
                    "new_project": project_id is None,
                    "policy": policy.value if policy else None,
                    "created": len(created),
                    "renamed": len(renamed),
                    "skipped": len(skipped),
                    "new_versions": len(new_versions),
                },
            )
        return ImportReport(
            project=project,
            created=tuple(created),
            renamed=tuple(renamed),
            skipped=tuple(skipped),
            new_versions=tuple(new_versions),
            unchanged=tuple(unchanged),
        )


# --- purge (admin, CLI, age limit at start-up) ---------------------------------------------------------------------

# pg_advisory_xact_lock key of the purge by age: several app servers starting together purge once, one after another.
_PURGE_LOCK_KEY = 0x0DBA_7A54
_RESTORED = " (restored)"

_PURGE_PROJECTS_SQL = """/* dba_admin */ with doomed as (
  select p.id, p.nome, p.deleted_at, p.deleted_by,
    (select count(*) from public.scripts_projetos_versoes v join public.scripts_projetos s on s.id = v.script_id
      where s.projeto_id = p.id) as versions,
    (select count(*) from public.execucoes_scripts e where e.projeto_id = p.id) as runs,
    coalesce((select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id', s.id, 'name', s.nome, 'trashed_at', s.deleted_at,
        'versions', (select count(*) from public.scripts_projetos_versoes v where v.script_id = s.id),
        'runs', (select count(*) from public.execucoes_scripts e where e.script_id = s.id)) order by s.nome, s.id)
      from public.scripts_projetos s where s.projeto_id = p.id), '[]'::jsonb) as scripts
  from public.projetos_analytics p
  where p.deleted_at is not null
    and (%(id)s::uuid is null or p.id = %(id)s)
    and (%(before)s::timestamptz is null or p.deleted_at < %(before)s)
), gone as (
  delete from public.projetos_analytics p using doomed d where p.id = d.id and p.deleted_at is not null returning p.id
)
select d.* from doomed d join gone g on g.id = d.id order by d.deleted_at, d.id"""

_PURGE_SCRIPTS_SQL = """/* dba_admin */ with doomed as (
  select s.id, s.nome, s.projeto_id, p.nome as project_name, s.deleted_at, s.deleted_by,
    (select count(*) from public.scripts_projetos_versoes v where v.script_id = s.id) as versions,
    (select count(*) from public.execucoes_scripts e where e.script_id = s.id) as runs
  from public.scripts_projetos s join public.projetos_analytics p on p.id = s.projeto_id
  where s.deleted_at is not null
    and (%(id)s::uuid is null or s.id = %(id)s)
    and (%(before)s::timestamptz is null or s.deleted_at < %(before)s)
), gone as (
  delete from public.scripts_projetos s using doomed d where s.id = d.id and s.deleted_at is not null returning s.id
)
select d.* from doomed d join gone g on g.id = d.id order by d.deleted_at, d.id"""


def _restored_name(name: str, used: set[str]) -> str:
    """``name (restored)``, ``name (restored 2)``... the first one no live script of the project uses."""
    n = 1
    while True:
        suffix = _RESTORED if n == 1 else f" (restored {n})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if candidate not in used:
            return candidate
        n += 1


def _purge(
    cur: psycopg.Cursor[Any],
    *,
    kind: str | None = None,
    item_id: uuid.UUID | None = None,
    before: datetime | None = None,
) -> list[PurgedItem]:
    """Delete trashed projects and/or scripts for good and say what went: one statement each, counted first.

    Counting and deleting in one statement (a data-modifying CTE, one snapshot) keeps the counts those of the rows
    removed; rows another purge removed meanwhile are simply not reported. Versions go by ON DELETE CASCADE, runs
    stay in the history (ON DELETE SET NULL). Under a user's claims the delete policies admit an admin only; on the
    owner connection (CLI, start-up) there is no RLS. ``cur`` must return dict rows.
    """
    purged: list[PurgedItem] = []
    params = {"id": item_id, "before": before}
    if kind in (None, "project"):
        cur.execute(_PURGE_PROJECTS_SQL, params)
        for r in cur.fetchall():
            purged.append(
                PurgedItem(
                    kind="project",
                    id=r["id"],
                    name=r["nome"],
                    project_id=r["id"],
                    project_name=r["nome"],
                    deleted_at=r["deleted_at"],
                    deleted_by=r["deleted_by"],
                    versions=int(r["versions"]),
                    runs=int(r["runs"]),
                    scripts=tuple(r["scripts"] or ()),
                )
            )
    if kind in (None, "script"):
        cur.execute(_PURGE_SCRIPTS_SQL, params)
        purged += [
            PurgedItem(
                kind="script",
                id=r["id"],
                name=r["nome"],
                project_id=r["projeto_id"],
                project_name=r["project_name"],
                deleted_at=r["deleted_at"],
                deleted_by=r["deleted_by"],
                versions=int(r["versions"]),
                runs=int(r["runs"]),
            )
            for r in cur.fetchall()
        ]
    return purged


def purge_trash(
    conn: psycopg.Connection[Any], *, older_than_days: float, actor: str, reason: str = "age"
) -> list[PurgedItem]:
    """Purge everything trashed more than ``older_than_days`` ago (0: the whole trash), on the OWNER connection.

    For `dba-admin trash purge` and the age limit at start-up. One transaction under an advisory lock, so several
    app servers starting together purge one after the other (the later ones find nothing left); each removed item
    gets an audit row (``project.purge`` / ``script.purge``) with its name, id and counts, in the same transaction.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute("/* dba_admin */ select pg_advisory_xact_lock(%s)", (_PURGE_LOCK_KEY,))
        cur.execute("/* dba_admin */ select now() - make_interval(secs => %s) as before", (older_than_days * 86_400,))
        before = _one(cur)["before"]
        purged = _purge(cur, before=before)
        for item in purged:
            audit.record(
                conn,
                f"{item.kind}.purge",
                actor=actor,
                target=f"{item.kind}:{item.id}",
                details=item.audit_details(reason, older_than_days),
            )
    return purged


def trash_contents(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Everything in the trash, oldest first, on the OWNER connection (`dba-admin trash list`)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "/* dba_admin */ select 'project' as kind, id, nome as name, id as project_id, deleted_at, deleted_by"
            " from public.projetos_analytics where deleted_at is not null"
            " union all select 'script', id, nome, projeto_id, deleted_at, deleted_by"
            " from public.scripts_projetos where deleted_at is not null order by deleted_at, id"
        )
        return [dict(r) for r in cur.fetchall()]


def purge_expired_trash(db: DatabaseManager) -> list[PurgedItem]:
    """The age limit, run when an app server starts: purge what has been in the trash over TRASH_RETENTION_DAYS.

    Idempotent and safe with several servers (see ``purge_trash``). A retention of 0 turns it off. A failure is
    logged, never raised: a start must not fail because the trash could not be emptied.
    """
    days = db.settings.trash_retention_days
    if days <= 0:
        return []
    try:
        with db.connection() as conn:
            return purge_trash(conn, older_than_days=days, actor="system:trash-retention", reason="age")
    except (psycopg.Error, DbaAdminError) as exc:
        _log.warning("purging the trash (older than %s days) failed: %s", days, exc)
        return []


# --- archive reading ----------------------------------------------------------------------------------------------


def _free_name(name: str, used: set[str]) -> str:
    """``name (imported)``, ``name (imported 2)``... the first one not in ``used`` (which it joins)."""
    n = 1
    while True:
        suffix = " (imported)" if n == 1 else f" (imported {n})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if candidate not in used:
            used.add(candidate)
            return candidate
        n += 1


def _check_member_name(name: str) -> None:
    """Refuse names that could escape a folder if someone unpacked the archive: absolute, .., backslash, drive."""
    path = PurePosixPath(name)
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ".." in path.parts
        or (path.parts and ":" in path.parts[0])
    ):
        raise InvalidArchive(f"the archive holds an unsafe path: {name!r}")


class _ReadBudget:
    """Decompressed bytes left for the whole import: every read of every member draws on it.

    Counted as bytes arrive (in chunks), never from ZipInfo.file_size, which the archive writer chooses: a
    manifest naming one 5 MB member 200 times, or a member whose header understates its size, stops at the
    budget instead of filling memory.
    """

    def __init__(self, total: int) -> None:
        self.left = total

    def read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = MAX_FILE_BYTES) -> bytes:
        name = info.filename
        chunks: list[bytes] = []
        size = 0
        try:
            with zf.open(info) as handle:
                while True:
                    chunk = handle.read(min(_READ_CHUNK, limit + 1 - size, self.left + 1))
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise InvalidArchive(
                            f"{name!r} is larger than {limit} bytes unpacked (the limit for one file); "
                            "split it, or import the project without it"
                        )
                    if size > self.left:
                        raise InvalidArchive(
                            f"the archive unpacks to more than {MAX_UNCOMPRESSED_BYTES} bytes in all (the import "
                            "limit); split the project into smaller archives"
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
            raise InvalidArchive(f"cannot read {name!r} from the archive: {exc}") from exc
        self.left -= size
        return b"".join(chunks)


_READ_CHUNK = 64 * 1024


def _read_archive(data: bytes) -> _Archive:
    """Validate and read an exported project: sizes, paths, manifest, every referenced file present and UTF-8.

    Bounded whatever the archive says about itself: at most MAX_ARCHIVE_ENTRIES members and manifest entries,
    no member name twice (in the zip or in the manifest), each member read once, and MAX_UNCOMPRESSED_BYTES
    of decompressed text in all, counted as it is read.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise InvalidArchive(f"the archive is {len(data)} bytes; at most {MAX_ARCHIVE_BYTES} are accepted")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise InvalidArchive(f"not a zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ARCHIVE_ENTRIES:
            raise InvalidArchive(
                f"the archive has {len(infos)} entries; at most {MAX_ARCHIVE_ENTRIES} are accepted. "
                "Split the project into smaller archives"
            )
        for info in infos:
            _check_member_name(info.filename)
        if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED_BYTES:
            raise InvalidArchive(
                f"the archive unpacks to more than {MAX_UNCOMPRESSED_BYTES} bytes in all (the import limit); "
                "split the project into smaller archives"
            )
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.is_dir():
                continue
            if info.filename in by_name:
                raise InvalidArchive(
                    f"the archive holds {info.filename!r} twice; export the project from DBA Admin again"
                )
            by_name[info.filename] = info
        budget = _ReadBudget(MAX_UNCOMPRESSED_BYTES)
        already_read: set[str] = set()

        def read(name: str, limit: int = MAX_FILE_BYTES) -> bytes:
            if name in already_read:
                raise InvalidArchive(
                    f"the manifest refers to {name!r} more than once; each script needs a file of its own "
                    "(export the project from DBA Admin again)"
                )
            already_read.add(name)
            return budget.read(zf, by_name[name], limit)

        if MANIFEST_NAME not in by_name:
            raise InvalidArchive(f"the archive has no {MANIFEST_NAME}; export a project from DBA Admin to get one")
        manifest_bytes = read(MANIFEST_NAME, MAX_MANIFEST_BYTES)
        # Count containers before parsing: a small manifest of "[{},{},...]" would otherwise become
        # hundreds of thousands of objects (or a deep nest, a RecursionError) before the entry cap is checked.
        if manifest_bytes.count(b"{") + manifest_bytes.count(b"[") > 2 * MAX_ARCHIVE_ENTRIES + 50:
            raise InvalidArchive(
                f"{MANIFEST_NAME} holds more entries than the {MAX_ARCHIVE_ENTRIES} scripts an import accepts; "
                "split the project into smaller archives"
            )
        try:
            manifest = json.loads(manifest_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise InvalidArchive(f"{MANIFEST_NAME} is not valid UTF-8 JSON: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
            raise InvalidArchive(f"{MANIFEST_NAME} is not a DBA Admin project manifest (format {ARCHIVE_FORMAT!r})")
        if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > ARCHIVE_FORMAT_VERSION:
            raise InvalidArchive(f"unsupported manifest format_version {manifest.get('format_version')!r}")
        project = manifest.get("project")
        entries = manifest.get("scripts")
        if not isinstance(project, dict) or not isinstance(project.get("name"), str) or not isinstance(entries, list):
            raise InvalidArchive(f"{MANIFEST_NAME} must hold project.name and a scripts list")
        if len(entries) > MAX_ARCHIVE_ENTRIES:
            raise InvalidArchive(
                f"{MANIFEST_NAME} lists {len(entries)} scripts; at most {MAX_ARCHIVE_ENTRIES} are accepted. "
                "Split the project into smaller archives"
            )
        description = project.get("description")
        scripts: list[_ArchivedScript] = []
        seen: set[str] = set()
        for position, entry in enumerate(entries, start=1):
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("name"), str)
                or not isinstance(entry.get("file"), str)
            ):
                raise InvalidArchive(f"script entry {position} of {MANIFEST_NAME} needs a name and a file")
            try:
                name = _clean_name(entry["name"], "script name")
            except ValueError as exc:
                raise InvalidArchive(f"script entry {position}: {exc}") from exc
            if name in seen:
                raise InvalidArchive(f"the manifest lists the script name {name!r} twice")
            seen.add(name)
            file_name = entry["file"]
            _check_member_name(file_name)
            if file_name not in by_name:
                raise InvalidArchive(f"the manifest refers to {file_name!r}, which is not in the archive")
            try:
                text = read(file_name).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidArchive(f"{file_name!r} is not UTF-8 text") from exc
            scripts.append(_ArchivedScript(name=name, file=file_name, sql=text))
    try:
        clean_project_name = _clean_name(project["name"], "project name")
    except ValueError as exc:
        raise InvalidArchive(str(exc)) from exc
    return _Archive(
        name=clean_project_name,
        description=description if isinstance(description, str) and description.strip() else None,
        scripts=tuple(scripts),
    )
