"""`dba-admin ask "question" [--offline] [--json]`: the assistant in a terminal.

The terminal user is identified to the database as a user of the app (``--as EMAIL``, default
``$USER@cli.local``) so the turn is stored in their private history exactly as the page would store it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import uuid
from typing import Any

from dba_admin.config import Settings

__all__ = ["cli_claims", "cmd_ask", "register"]

# Stable namespace: the same e-mail always maps to the same user id in the claims.
_CLI_NAMESPACE = uuid.UUID("7d9f1d0e-5c57-4c59-9a59-6b9a4d8f1a2e")


def cli_claims(email: str | None = None, role: str = "viewer") -> Any:
    from dba_admin.rls import UserClaims

    if not email:
        try:
            user = getpass.getuser()
        except Exception:
            user = "cli"
        email = f"{user}@cli.local"
    email = email.strip().lower()
    return UserClaims(sub=uuid.uuid5(_CLI_NAMESPACE, email), email=email, app_role=role)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``ask`` sub-command to dba-admin's sub-parsers (``func(settings, args) -> exit code``)."""
    ask = subparsers.add_parser("ask", help="ask the schema assistant (Gemini when GEMINI_API_KEY is set)")
    ask.add_argument("question", help="the question, in English or Portuguese ('-' reads standard input)")
    ask.add_argument("--offline", action="store_true", help="answer from the catalog only, even with a key")
    ask.add_argument("--json", action="store_true", help="answer, SQL with check status and context tables")
    ask.add_argument("--as", dest="as_email", default=None, help="e-mail the turn is stored under")
    ask.add_argument("--conversation", default=None, help="continue a conversation (its id)")
    ask.set_defaults(func=cmd_ask)
    return ask


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.assistant.assistant import Assistant
    from dba_admin.cli import _manager

    question = sys.stdin.read() if args.question == "-" else args.question
    claims = cli_claims(args.as_email)
    with _manager(settings, quiet=True) as db:
        assistant = Assistant(db, settings)
        answer = assistant.ask(claims, question, conversation_id=args.conversation, offline=args.offline)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(f"[{answer.mode}]")
        if answer.notice:
            print(f"note: {answer.notice}")
        print(answer.text)
        for check in answer.sql_blocks:
            state = "valid" if check.valid else f"{check.status}: {check.error}"
            print(f"\n-- SQL check ({state})\n{check.sql}")
        if answer.context_tables:
            print("\ncontext tables: " + ", ".join(answer.context_tables))
        print(f"conversation: {answer.conversation_id}")
    invalid = any(c.status == "invalid" for c in answer.sql_blocks)
    return 1 if invalid else 0
