"""A local server speaking the Gemini REST API, for the assistant tests that use the REAL google-genai client.

`genai.Client` is pointed (HttpOptions.base_url) at a ThreadingHTTPServer on 127.0.0.1 that answers
`POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse` the way Gemini does
(candidates + usageMetadata, or an error object with code/status). Registered in conftest's pytest_plugins,
so the ``gemini`` fixture is available to every test module.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

MODEL = "gemini-test"


@dataclass
class Scripted:
    """One scripted reply of the fake Gemini: an HTTP status, a text, token counts, an optional delay."""

    text: str = "All good."
    status: int = 200
    prompt_tokens: int = 120
    output_tokens: int = 30
    delay_s: float = 0.0


@dataclass
class FakeGemini:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)
    default: Scripted = field(default_factory=Scripted)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self) -> Scripted:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def request_text(self, i: int = -1) -> str:
        """Every text the SDK sent in request ``i`` (system instruction, history, parts)."""
        body = self.requests[i]["body"]
        texts = [p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", [])]
        texts += [p.get("text", "") for p in body.get("systemInstruction", {}).get("parts", [])]
        return "\n".join(texts)


def _reply_json(reply: Scripted, text: str) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": reply.prompt_tokens,
            "candidatesTokenCount": reply.output_tokens,
            "totalTokenCount": reply.prompt_tokens + reply.output_tokens,
        },
        "modelVersion": MODEL,
    }


_STATUS_NAMES = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 400: "INVALID_ARGUMENT"}


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    fake: FakeGemini

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            reply = fake.next_reply()
            try:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    payload = json.dumps(
                        {
                            "error": {
                                "code": reply.status,
                                "message": "scripted failure",
                                "status": _STATUS_NAMES.get(reply.status, "UNKNOWN"),
                            }
                        }
                    ).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if ":streamGenerateContent" in self.path:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    text = reply.text
                    cuts = [0, len(text) // 3, 2 * len(text) // 3, len(text)]
                    for a, b in itertools.pairwise(cuts):
                        self.wfile.write(b"data: " + json.dumps(_reply_json(reply, text[a:b])).encode() + b"\r\n\r\n")
                        self.wfile.flush()
                    return
                payload = json.dumps(_reply_json(reply, reply.text)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away: what a timeout test wants

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake = FakeGemini(url=f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
