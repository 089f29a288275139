"""The per-server services, the per-session user and the chosen connection, as Streamlit sees them."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, NoReturn

import streamlit as st

from dba_admin.access import PAGES, PageSpec, allowed, required_roles_text
from dba_admin.auth import AppUser
from dba_admin.bootstrap import DatabaseUnreachable
from dba_admin.config import Settings, load_settings
from dba_admin.errors import DbaAdminError, QueryError
from dba_admin.i18n import N_
from dba_admin.services import Services, mask_dsn, outage_where
from ui.i18n import _
from ui.markdown import escape_markdown

if TYPE_CHECKING:
    from dba_admin.database import DatabaseManager, Health

USER_KEY = "dba_user"
# The outage page's retry delay in this session: 2 s, doubling up to 30 s, reset once the database answers.
_RETRY_KEY = "outage_retry_s"
_TIMER_KEY = "outage_timer_seen"
FIRST_RETRY_S = 2
MAX_RETRY_S = 30

# The chosen connection: kept in the session, mirrored in the URL (``?connection=name``) so a link keeps it.
CONNECTION_KEY = "dba_connection"
CONNECTION_PARAM = "connection"
SWITCHER_KEY = "sidebar_connection"  # the sidebar's selectbox, with the connection shown (widget_key_for)
_VISIBLE_KEY = "dba_connections_visible"  # (user, asked at, names, labels): what RLS showed this session lately
_REFUSED_KEY = "dba_connection_refused"  # a connection asked for by URL that this user may not use (said once)
VISIBLE_TTL_S = 30  # how long a session trusts its list of connections before RLS is asked again
HEALTH_TTL_S = 15  # one health check per connection and app server in this long (the dashboard's figure)
# Marked, not translated here: a page shows it as _(NO_CONNECTION), in the reader's language.
NO_CONNECTION = N_("No connection yet: an admin adds one on the Connections page or with `dba-admin connection add`.")


def get_services() -> Services:
    """One pool and one set of managers per app server process (and per configuration), shared by all sessions."""
    return _services_for(load_settings())


@st.cache_resource(show_spinner="Starting the database…", hash_funcs={Settings: repr})
def _services_for(settings: Settings) -> Services:
    services = Services.build(settings)
    if services.first_admin:
        # Printed once in the server's terminal; never shown in a browser, stored only as a bcrypt hash.
        print(
            f"\n  First admin created: username {services.first_admin.username} "
            f"password {services.first_admin.password}\n",
            flush=True,
        )
    return services


def database_gate(services: Services) -> None:
    """Before any page: a database that does not answer gets a clear page that retries, not a blank wait.

    On the embedded default a server that died (crash, kill, reboot) is started again here, while the page says
    so; if it cannot be, the page gives the reason from the server log.
    """
    reason = services.check_database()
    if reason is None:
        st.session_state.pop(_RETRY_KEY, None)
        return
    where = services.database_where
    if services.embedded:
        with st.spinner(_("The embedded PostgreSQL ({where}) is not answering; restarting it…").format(where=where)):
            reason = services.restart_embedded()
        if reason is None:
            st.session_state.pop(_RETRY_KEY, None)
            return
        show_outage(
            _("The embedded PostgreSQL ({where}) is not answering and could not be restarted").format(where=where),
            reason,
            _("Fix the cause named above (the server log is in the data dir); this page retries by itself."),
        )
    show_outage(
        _("The database at {where} is not answering").format(where=where),
        reason,
        _("Check that the server runs and is reachable from this app server; this page retries by itself."),
    )


def show_not_ready(exc: DbaAdminError) -> NoReturn:
    """The services could not be built (database down or not ready at the app server's start): say so, retry."""
    settings = load_settings()
    if isinstance(exc, DatabaseUnreachable):
        show_outage(
            _("The database at {where} is not answering").format(where=outage_where(settings)),
            str(exc),
            _("Check DATABASE_URL and that the server runs; this page retries by itself."),
        )
    show_outage(
        _("The database is not ready"),
        str(exc),
        _(
            "Set DATABASE_URL to a reachable PostgreSQL, or unset it to use the embedded default; this page retries "
            "by itself."
        ),
    )


def show_outage(headline: str, reason: str, advice: str) -> NoReturn:
    """The outage page: what is down and why, in text; a rerun of the whole app after a delay that backs off."""
    delay = min(MAX_RETRY_S, st.session_state.get(_RETRY_KEY, 0) * 2 or FIRST_RETRY_S)
    st.session_state[_RETRY_KEY] = delay
    st.title("DBA Admin")
    st.error(_("{headline}; retrying in {seconds} s.").format(headline=escape_markdown(headline), seconds=delay))
    st.caption(escape_markdown(reason))
    st.info(escape_markdown(advice))
    st.button(_("Retry now"), key="outage_retry_now")  # a click reruns the app
    _rerun_after(delay)
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


def _rerun_after(delay: int) -> None:
    """A fragment that fires after ``delay`` seconds and reruns the whole app (no sleeping script thread).

    It also runs once as part of this full run; only its own later run triggers the app rerun.
    """
    token = uuid.uuid4().hex

    @st.fragment(run_every=delay)
    def _timer() -> None:
        if st.session_state.get(_TIMER_KEY) == token:
            st.rerun(scope="app")
        st.session_state[_TIMER_KEY] = token

    _timer()


def current_user() -> AppUser | None:
    user = st.session_state.get(USER_KEY)
    # By name as well: a dev server that reloads an edited module holds objects of the old class.
    return user if isinstance(user, AppUser) or type(user).__name__ == "AppUser" else None


def page_spec(key: str) -> PageSpec:
    return next(p for p in PAGES if p.key == key)


def require_page(key: str) -> AppUser:
    """Stop the page with a plain message when nobody is logged in or the role may not open it."""
    user = current_user()
    spec = page_spec(key)
    if user is None:
        st.warning(_("Please log in first."))
        st.stop()
    if not allowed(user.role, spec):
        st.error(
            _("**{page}** needs the role {roles}; you are logged in as {role}.").format(
                page=_(spec.title), roles=required_roles_text(spec), role=user.role
            )
        )
        st.stop()
    return user


def show_error(exc: Exception, *, action: str | None = None) -> None:
    """A failure as a message with what to do next, never a traceback.

    ``action`` names what failed, already in the reader's language (``_("Saving the script")``); the error's own
    text (from PostgreSQL or the core) stays as it came.
    """
    action = action or _("This action")
    if isinstance(exc, QueryError):
        info = exc.info
        if info.sqlstate:
            text = _("{action} failed: {error} (SQLSTATE {sqlstate})").format(
                action=action, error=escape_markdown(info.message), sqlstate=info.sqlstate
            )
        else:
            text = _("{action} failed: {error}").format(action=action, error=escape_markdown(info.message))
        st.error(text)
        if info.hint:
            st.caption(_("Hint: {hint}").format(hint=escape_markdown(info.hint)))
    elif isinstance(exc, DbaAdminError | ValueError):  # the core raises ValueError for bad input it names
        st.error(_("{action} failed: {error}").format(action=action, error=escape_markdown(exc)))
    else:
        st.error(
            _("{action} failed unexpectedly ({error}). Try again; if it persists, tell an admin.").format(
                action=action, error=type(exc).__name__
            )
        )


# --------------------------------------------------------------------------------------------------
# The chosen connection
# --------------------------------------------------------------------------------------------------


def visible_connections(services: Services, user: AppUser, *, fresh: bool = False) -> list[str]:
    """The connections this user may use, as RLS on public.conexoes decides; kept in the session for a short time.

    Asked again after ``VISIBLE_TTL_S`` (an admin's grant or revoke shows up within that), and at once when
    ``fresh`` (a link names a connection the kept list does not have).
    """
    kept = st.session_state.get(_VISIBLE_KEY)
    now = time.monotonic()
    if not fresh and kept and kept[0] == user.claims and now - kept[1] < VISIBLE_TTL_S:
        return list(kept[2])
    names = services.registry.visible_names(user.claims)
    st.session_state[_VISIBLE_KEY] = (user.claims, now, tuple(names), {})
    return names


def chosen_connection(services: Services, user: AppUser) -> str | None:
    """The connection this session works on (None when the user may use none), kept in sync with the URL.

    A link's ``?connection=`` wins when the user may use it; otherwise the page stays on the session's choice
    (a connection not open to this user is neither shown nor opened). The first choice is ``DBA_ADMIN_CONNECTION``
    when the user may use it, else the first connection by name.
    """
    names = visible_connections(services, user)
    current = st.session_state.get(CONNECTION_KEY)
    asked = st.query_params.get(CONNECTION_PARAM)
    if asked and asked != current:
        if asked not in names:
            names = visible_connections(services, user, fresh=True)
        if asked in names:
            current = asked
        else:
            st.session_state[_REFUSED_KEY] = asked
    if current not in names:
        preferred = services.settings.connection
        current = preferred if preferred in names else (names[0] if names else None)
    st.session_state[CONNECTION_KEY] = current
    if current is None:
        if CONNECTION_PARAM in st.query_params:
            del st.query_params[CONNECTION_PARAM]
    elif st.query_params.get(CONNECTION_PARAM) != current:
        st.query_params[CONNECTION_PARAM] = current
    return current


def connection_where(services: Services, name: str) -> str:
    """Host and database of a connection for display (masked, never a password), kept with the session's list."""
    kept = st.session_state.get(_VISIBLE_KEY)
    labels: dict[str, str] = kept[3] if kept else {}
    if name not in labels:
        try:
            secrets, _kind = services.registry.secrets(name)
            labels[name] = mask_dsn(secrets.monitor)
        except DbaAdminError:
            return _("address unavailable")
    return labels[name]


def widget_key_for(base: str, value: str) -> str:
    """The key of a picker that shows a value the server decides (the connection, the language): one per value.

    When the value changes, the picker is then a new widget, which the browser draws from the server's value. With
    one key the browser could keep the value it showed last while the server had moved on: after a reload the
    language picker said English under Portuguese labels (seen in CI), and a stale value sent back with the next
    click would have been taken as the person's pick."""
    return f"{base}:{value}"


def _switched(key: str) -> None:
    """The sidebar's choice: the page's own selection (a table, a conversation) belonged to the old connection."""
    name = st.session_state.get(key)
    if name is not None and name == st.session_state.get(CONNECTION_KEY):
        # Not a switch: the browser reporting the value the page already has (seen once after a login on a shared
        # link, during the rerun sequence) must not drop the link's own parameters (?schema=&table=).
        return
    st.session_state[CONNECTION_KEY] = name
    st.query_params.from_dict({CONNECTION_PARAM: name} if name else {})


def connection_switcher(services: Services, user: AppUser) -> None:
    """The sidebar's connection picker (app.py draws it inside ``st.sidebar``) and where the chosen one is."""
    try:
        current = chosen_connection(services, user)
        names = visible_connections(services, user)
    except DbaAdminError as exc:
        st.error(_("Your connections could not be listed: {error}").format(error=escape_markdown(exc)))
        return
    refused = st.session_state.pop(_REFUSED_KEY, None)
    if refused:
        if current:
            refusal = _(
                "The link asked for connection {name}, which does not exist or is not open to you; showing {current}."
            ).format(name=escape_markdown(refused), current=escape_markdown(current))
        else:
            refusal = _("The link asked for connection {name}, which does not exist or is not open to you.").format(
                name=escape_markdown(refused)
            )
        st.warning(refusal)
    if current is None:
        st.caption(_("Connection: none yet"))
        return
    key = widget_key_for(SWITCHER_KEY, current)
    st.selectbox(
        _("Connection"),
        names,
        index=names.index(current) if current in names else None,
        key=key,
        on_change=_switched,
        args=(key,),
        help=_("The database every page works on. Admins decide who may use which connection."),
    )
    st.caption(
        _("Connection: {name} · {where}").format(
            name=escape_markdown(current), where=escape_markdown(connection_where(services, current))
        )
    )


@st.cache_data(ttl=HEALTH_TTL_S, show_spinner=False)
def _connection_health(workspace_key: str, name: str) -> Health:
    """One check per connection per app server in HEALTH_TTL_S (several sessions on the same database share it)."""
    return get_services().connection(name).health()


def connection_health(services: Services, name: str) -> Health:
    """The connection's health (reachability, version, read-only login), cached for a few seconds."""
    return _connection_health(services.database_label, name)


def clear_connection_health() -> None:
    _connection_health.clear()


def current_connection(services: Services, user: AppUser, *, check: bool = True) -> DatabaseManager:
    """The manager of the chosen connection for this user, or the page stops with a message that says why.

    No connection open to the user: the empty state. ``check``: a connection that does not answer stops only this
    page, with its reason; the sidebar's switcher (drawn before the page) still works, and so does every other
    connection and the workspace.
    """
    try:
        name = chosen_connection(services, user)
    except DbaAdminError as exc:
        show_error(exc, action=_("Listing your connections"))
        st.stop()
        raise AssertionError("st.stop() returned") from exc  # pragma: no cover - st.stop raises
    if name is None:
        st.info(_(NO_CONNECTION))
        st.stop()
        raise AssertionError("st.stop() returned")  # pragma: no cover
    try:
        db = services.connection_for(user.claims, name)
    except DbaAdminError as exc:
        st.error(
            _("Connection {name} cannot be opened: {error}").format(
                name=escape_markdown(name), error=escape_markdown(exc)
            )
        )
        st.stop()
        raise AssertionError("st.stop() returned") from exc  # pragma: no cover
    if check:
        health = connection_health(services, name)
        if not health.reachable:
            connection_down(services, name, health.message)
    return db


def connection_down(services: Services, name: str, reason: str) -> NoReturn:
    """This connection does not answer: say so and stop this page only (the rest of the app keeps working)."""
    where = connection_where(services, name)
    st.error(
        _("Connection {name} ({where}) is not answering.").format(
            name=escape_markdown(name), where=escape_markdown(where)
        )
    )
    st.caption(escape_markdown(reason))
    st.info(
        _(
            "Pick another connection in the sidebar, or check that this database runs and is reachable from the app "
            "server; the check is repeated at most every {seconds} s."
        ).format(seconds=HEALTH_TTL_S)
    )
    st.button(_("Check again"), key="connection_check_again", on_click=clear_connection_health)
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


def show_connection(services: Services, db: DatabaseManager) -> None:
    """The line under a page's title that says which connection the page is on."""
    st.caption(
        _("Connection: {name} · {where}").format(
            name=escape_markdown(db.name), where=escape_markdown(connection_where(services, db.name))
        )
    )


def connection_param() -> dict[str, str]:
    """The URL's connection parameter, for a page that rewrites its query parameters (so a link keeps it)."""
    name = st.session_state.get(CONNECTION_KEY)
    return {CONNECTION_PARAM: name} if name else {}


def readonly_login_state(db: DatabaseManager, health: Health) -> tuple[str, str | None]:
    """The read-only login as a short label, and what is wrong with it (None when it works)."""
    if health.readonly_ok:
        return _("ok"), None
    if not db.has_readonly_login:
        problem = _("none is registered")
        label = _("missing")
    else:
        problem, label = health.readonly_message or _("it does not work"), _("not ok")
    return label, _(
        "The read-only login of {name} is not usable ({problem}): analysts' SQL and previews cannot run on this "
        "connection; everything else works. An admin adds it with `dba-admin connection add {name} "
        "--readonly-dsn ... --replace`, or creates it with `dba-admin connection setup {name} --admin-dsn ... "
        "--apply`."
    ).format(name=db.name, problem=problem)


def dba_login_notice(db: DatabaseManager, what: str | None = None, effect: str | None = None) -> str:
    """Why something that writes (write-mode SQL, a signal, a refresh) is unavailable on a connection without a DBA
    login, and how to add one. ``what`` and ``effect`` come in the reader's language (``_("Resetting the
    statistics")``); by default, write-mode SQL."""
    return _(
        "{what} is unavailable on connection {name}: it has no DBA login, so {effect}. "
        "An admin adds one with `dba-admin connection add {name} --dsn ... --dba-dsn ... --replace`, or creates "
        "it with `dba-admin connection setup {name} --admin-dsn ... --apply`."
    ).format(what=what or _("Write mode"), name=db.name, effect=effect or _("your SQL runs read-only here"))
