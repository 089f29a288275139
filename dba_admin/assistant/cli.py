"""`dba-admin ask "question" [--offline] [--json]`: the assistant in a terminal.

The terminal user is identified to the database as a user of the app (``--as EMAIL``, default
``$USER@cli.local``) so the turn is stored in their private history exactly as the page would store it.

``--batch FILE`` answers one question per line (``-``: standard input) in one process, so an evaluation pays for
the schema index once; with ``--json`` each answer is one JSON object on one line, in the order of the questions.
"""

from __future__ import annotations

import argparse
import getpass
import math
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

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
    from dba_admin.cli import add_json_flags  # cli imports this module only inside its parser builder

    ask = subparsers.add_parser("ask", help="ask the schema assistant (Gemini when GEMINI_API_KEY is set)")
    ask.add_argument("question", nargs="?", help="the question, in English or Portuguese ('-' reads standard input)")
    ask.add_argument(
        "--batch",
        metavar="FILE",
        default=None,
        help="answer every line of FILE ('-': standard input) as a question, in one process",
    )
    ask.add_argument("--offline", action="store_true", help="answer from the catalog only, even with a key")
    add_json_flags(ask, "answer, SQL with check status and context tables (--batch: one per line)")
    ask.add_argument("--as", dest="as_email", default=None, help="e-mail the turn is stored under")
    ask.add_argument("--conversation", default=None, help="continue a conversation (its id)")
    ask.set_defaults(func=cmd_ask)
    return ask


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from dba_admin.assistant.assistant import GeminiAssistant
    from dba_admin.cli import _manager, _print_json
    from dba_admin.errors import ConfigError

    batch = getattr(args, "batch", None)
    if batch is not None and args.question is not None:
        raise ConfigError("give either a question or --batch FILE, not both")
    if batch is None and args.question is None:
        raise ConfigError("ask needs a question (or --batch FILE)")
    claims = cli_claims(args.as_email)
    if batch is not None:
        questions = list(_batch_questions(batch))
        with _manager(settings, quiet=True) as db:
            # One assistant for the whole batch: the schema index is built once and kept to the end.
            assistant = GeminiAssistant(db, settings, index_ttl_s=math.inf)
            return _run_batch(assistant, claims, questions, args, sys.stdout)
    question = sys.stdin.read() if args.question == "-" else args.question
    with _manager(settings, quiet=True) as db:
        assistant = GeminiAssistant(db, settings)
        answer = assistant.ask(claims, question, conversation_id=args.conversation, offline=args.offline)
    if args.json:
        _print_json(answer.to_dict(), pretty=args.pretty)
    else:
        _print_text(answer, sys.stdout)
    return 1 if _has_invalid(answer) else 0


def _batch_questions(source: str) -> Iterator[tuple[int, str]]:
    """(line number, question) for every non-blank line of the file (or standard input for ``-``)."""
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            from dba_admin.errors import ConfigError

            raise ConfigError(f"cannot read the questions file {source}: {exc.strerror or exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        question = line.strip()
        if question:
            yield number, question


def _run_batch(
    assistant: Any, claims: Any, questions: list[tuple[int, str]], args: argparse.Namespace, out: TextIO
) -> int:
    """Answer each question in turn; one failing question is reported in its own record and the batch goes on."""
    import psycopg

    from dba_admin.cli import to_json_bytes
    from dba_admin.errors import DbaAdminError

    failed = False
    for number, question in questions:
        try:
            answer = assistant.ask(claims, question, conversation_id=args.conversation, offline=args.offline)
        except (DbaAdminError, psycopg.Error) as exc:
            failed = True
            if args.json:
                record = {"line": number, "question": question, "error": str(exc)}
                out.write(to_json_bytes(record).decode() + "\n")
            else:
                out.write(f"=== {number}: {question}\nerror: {exc}\n\n")
            out.flush()
            continue
        failed = failed or _has_invalid(answer)
        if args.json:
            out.write(to_json_bytes({"line": number, "question": question, **answer.to_dict()}).decode())
            out.write("\n")
        else:
            out.write(f"=== {number}: {question}\n")
            _print_text(answer, out)
            out.write("\n")
        out.flush()
    return 1 if failed else 0


def _has_invalid(answer: Any) -> bool:
    return any(c.status == "invalid" for c in answer.sql_blocks)


def _print_text(answer: Any, out: TextIO) -> None:
    """The answer for people: mode, notes (a repair among them, as ``--json`` says), text, checked SQL, tables."""
    print(f"[{answer.mode}]", file=out)
    if answer.repaired:
        print(
            "repaired: the first SQL failed its EXPLAIN check and went back to Gemini once with PostgreSQL's "
            "error; the SQL below is the corrected one",
            file=out,
        )
    if answer.notice:
        print(f"note: {answer.notice}", file=out)
    print(answer.text, file=out)
    for check in answer.sql_blocks:
        state = "valid" if check.valid else f"{check.status}: {check.error}"
        print(f"\n-- SQL check ({state})\n{check.sql}", file=out)
    if answer.context_tables:
        print("\ncontext tables: " + ", ".join(answer.context_tables), file=out)
    print(f"conversation: {answer.conversation_id}", file=out)
