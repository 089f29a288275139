"""The signed re-login cookie: what it carries and the one strict way it is read.

A token is an HS256 JWT with the username, the user's ``session_version`` at issue, and ``iat``/``exp``. It is
read only by :func:`read_token`, which accepts HS256 alone (an ``alg: none`` token, another algorithm, another
key, an expired or malformed token all read as ``None``) and never raises: a bad cookie means "not logged in",
never an error page. Whether the version is still current is the caller's check against dba_admin.users.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
MAX_TOKEN_LENGTH = 4096  # a browser keeps at most about 4 KB per cookie; anything longer is not ours


@dataclass(frozen=True)
class SessionToken:
    """The claims of a token that passed the signature and expiry checks."""

    username: str
    session_version: int
    expires_at: dt.datetime


def issue_token(key: str, username: str, session_version: int, lifetime: dt.timedelta) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "username": username,
        "sv": session_version,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: object, key: str) -> SessionToken | None:
    """The token's claims when it is ours, signed with ``key``, unexpired and well-formed; else None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "username", "sv"]})
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):  # PyJWTError covers alg, signature, expiry, format
        return None
    username, version, expires = claims.get("username"), claims.get("sv"), claims.get("exp")
    if not isinstance(username, str) or not username:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return None
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        return None
    return SessionToken(username, version, dt.datetime.fromtimestamp(expires, dt.UTC))
