"""What every ``/services/rest/`` call passes through before its handler runs.

In order: record the call for ``/__sandbox/requests``; authenticate it (a TBA signature or an
OAuth 2.0 Bearer token; the token endpoint itself is open); take an account concurrency slot (429
past the limit, held until the answer is ready); and, inside the slot, serve it through the common
fault engine (``revbridge_sandboxes.faults``), which renders its errors in NetSuite's shape.

Plain ASGI rather than ``BaseHTTPMiddleware``: the latter adds a task and a memory stream to
every request, a large share of the sandbox's throughput. With no fault rules active the handler
streams straight to the client; only when rules exist is the answer buffered for the engine.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import faults
from .auth import base_string_uri, verify_tba
from .errors import NetSuiteError, error_response
from .fastpath import FAST
from .oauth2 import TOKEN_PATH, verify_bearer
from .state import SandboxState

API_PREFIX = "/services/rest/"
LOGGED_HEADERS = (b"traceparent", b"prefer", b"x-netsuite-idempotency-key")
FAULT_CODES = {
    429: "CONCURRENCY_LIMIT_EXCEEDED",
    500: "UNEXPECTED_ERROR",
    502: "UNEXPECTED_ERROR",
    503: "SERVICE_UNAVAILABLE",
    504: "REQUEST_TIMEOUT",
}


def render_fault(status: int, rule: faults.FaultRule) -> Response:
    """An injected failure as NetSuite answers it (``Retry-After`` when the rule sets one)."""
    detail = f"Injected fault: HTTP {status} ({rule.kind}, sandbox fault injection)."
    code = FAULT_CODES.get(status, "UNEXPECTED_ERROR")
    return error_response(NetSuiteError(status, code, detail, headers=faults.retry_after_headers(rule)))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _path_keeping_encoded_slashes(raw_path: bytes) -> str:
    """Decode each segment but keep ``%2F`` so ``eid:a%2Fb`` stays one path parameter."""
    segments = raw_path.decode("latin-1").split("/")
    return "/".join(unquote(segment).replace("/", "%2F") for segment in segments)


class ApiGate:
    """Pure ASGI middleware: request log, authentication, concurrency slot, faults."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        raw_path: bytes = scope.get("raw_path") or b""
        if b"%2f" in raw_path.lower():
            scope = {**scope, "path": _path_keeping_encoded_slashes(raw_path)}
        body = await _read_body(receive)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        headers: dict[bytes, bytes] = dict(scope["headers"])
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": None,
            "headers": {n.decode(): headers[n].decode("latin-1") for n in LOGGED_HEADERS if n in headers},
        }
        state.request_log.append(entry)

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            self._authenticate(scope, headers, body)
            if state.in_flight >= state.settings.concurrency:
                raise NetSuiteError(
                    429,
                    "CONCURRENCY_LIMIT_EXCEEDED",
                    "Request blocked: the account concurrency limit has been exceeded. Retry later.",
                )
        except NetSuiteError as exc:
            await error_response(exc)(scope, replay, logged_send)
            return
        state.in_flight += 1
        try:
            if not state.faults.rules:
                await (FAST.match(scope) or self.app)(scope, replay, logged_send)
                return
            response = await faults.apply(
                state.faults, Request(scope, replay), self._buffered(scope, replay), render_fault
            )
        finally:
            state.in_flight -= 1
        await response(scope, replay, logged_send)

    def _authenticate(self, scope: Scope, headers: dict[bytes, bytes], body: bytes) -> None:
        if scope["path"] == TOKEN_PATH:
            return
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization[:7].lower() == "bearer ":
            verify_bearer(self.state, authorization[7:].strip())
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        host = headers.get(b"host", b"").decode("latin-1")
        verify_tba(
            self.state,
            method=scope["method"],
            uri=base_string_uri(scope.get("scheme", "http"), host, raw_path.decode("latin-1")),
            query=scope.get("query_string", b"").decode("latin-1"),
            authorization=authorization or None,
            body=body,
        )

    def _buffered(self, scope: Scope, receive: Receive) -> faults.CallNext:
        """``call_next`` for the fault engine: run the app and keep its whole answer."""

        async def call_next(request: Request) -> Response:
            start: Message = {}
            chunks: list[bytes] = []

            async def collect(message: Message) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))

            await self.app(scope, receive, collect)
            response = Response(content=b"".join(chunks), status_code=start.get("status", 500))
            response.raw_headers = list(start.get("headers", []))
            return response

        return call_next
