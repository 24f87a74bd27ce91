"""Record what a sandbox answers, for the schema conformance suite (off unless asked for).

With ``REVBRIDGE_SANDBOX_RECORD_DIR`` set, every JSON answer a sandbox gives (and every webhook
body the Stripe sandbox sends) is appended as one line to ``<dir>/<platform>-<pid>.jsonl``:
``{"kind": "response"|"webhook", "method", "path", "status", "body"}``. ``tests/conformance``
validates the lines against the platforms' published schemas after each test run. Unset (the
default, and always under ``make run``), nothing is wrapped and nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENV = "REVBRIDGE_SANDBOX_RECORD_DIR"
_OWN_PATHS = ("/__sandbox",)  # the sandboxes' own admin routes are not the platform's API


class Recorder:
    """Appends one JSON line per recorded body; each line is flushed so a killed process keeps it."""

    def __init__(self, directory: Path, platform: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = open(directory / f"{platform}-{os.getpid()}.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    def record(self, kind: str, method: str, path: str, status: int, body: bytes | str) -> None:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
            kind = f"{kind}-not-json"
        line = {"kind": kind, "method": method, "path": path, "status": status, "body": parsed}
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()


_recorder: Recorder | None = None


def recorder_for(platform: str) -> Recorder | None:
    """The process's recorder when ``REVBRIDGE_SANDBOX_RECORD_DIR`` is set, else None."""
    global _recorder
    directory = os.environ.get(ENV)
    if directory and _recorder is None:
        _recorder = Recorder(Path(directory), platform)
    return _recorder


def active() -> Recorder | None:
    return _recorder


class RecordingMiddleware:
    """Pure ASGI: tees JSON answers to the recorder without changing a byte of them."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(_OWN_PATHS):
            await self.app(scope, receive, send)
            return
        status = 0
        is_json = False
        chunks: list[bytes] = []

        async def tee(message: Message) -> None:
            nonlocal status, is_json
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: Any = message.get("headers", ())
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                is_json = b"json" in content_type
            elif message["type"] == "http.response.body" and is_json:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    query = scope.get("query_string", b"").decode("latin-1")
                    full = f"{path}?{query}" if query else path
                    self.recorder.record("response", scope["method"], full, status, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, tee)
