"""A local HTTP server that answers the GoTrue endpoint the supabase client calls for password login."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

ANON_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJl"


class GoTrue(BaseHTTPRequestHandler):
    accounts: dict[str, tuple[str, dict[str, Any]]] = {}
    fail_with: int | None = None

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        assert self.path.startswith("/auth/v1/token?grant_type=password"), self.path
        assert self.headers.get("apikey") == ANON_KEY
        if self.fail_with:
            return self._send(self.fail_with, {"code": self.fail_with, "msg": "boom"})
        account = self.accounts.get(body.get("email", ""))
        if account is None or account[0] != body.get("password"):
            return self._send(
                400, {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}
            )
        user = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, body["email"])),
            "aud": "authenticated",
            "role": "authenticated",
            "email": body["email"],
            "app_metadata": account[1],
            "user_metadata": {},
            "created_at": "2026-01-01T00:00:00Z",
        }
        self._send(
            200,
            {
                "access_token": "a.b.c",
                "token_type": "bearer",
                "expires_in": 3600,
                "expires_at": 4102444800,
                "refresh_token": "r",
                "user": user,
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def gotrue() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GoTrue)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    GoTrue.fail_with = None
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
