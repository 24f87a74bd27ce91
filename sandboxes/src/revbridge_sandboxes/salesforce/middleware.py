"""Cross-cutting behaviour of every non-admin call: injected faults, API usage, the request log.

Pure ASGI rather than ``BaseHTTPMiddleware``: the common path (no fault rules) adds one header and
one log entry without wrapping the request in task groups, which keeps simple creates fast.
``Sforce-Limit-Info`` counts each ``/services/data`` call, as Salesforce's daily API budget does;
the log keeps only the headers tests need (``traceparent``, ``sforce-query-options``), never
``authorization``. Faults go through the common engine (``revbridge_sandboxes.faults``) and are
rendered as Salesforce's error array.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import faults
from . import fastpath
from .state import SalesforceState

ADMIN_PREFIX = "/__sandbox"
SUBREQUEST = "revbridge.subrequest"  # set on composite subrequests: counted, logged and faulted once
LOGGED_HEADERS = (b"traceparent", b"sforce-query-options")
_FAULT_CODES = {
    429: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry."),
}


def render_fault(status: int, rule: faults.FaultRule) -> Response:
    """Salesforce's error array for an injected status; 429 (and 503 when asked) carry Retry-After."""
    code, message = _FAULT_CODES.get(status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
    headers = faults.retry_after_headers(rule)
    if status == 429 and not headers:
        headers = {"Retry-After": "1"}
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status, headers=headers)


class SandboxMiddleware:
    def __init__(self, app: ASGIApp, state: SalesforceState) -> None:
        self.app = app
        self.state = state
        self.fast = fastpath.routes(state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX) or SUBREQUEST in scope:
            await self.app(scope, receive, send)
            return
        state = self.state
        path: str = scope["path"]
        is_api = path.startswith("/services/data")
        if is_api:
            state.api_usage += 1
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if is_api:
                    limit = (b"sforce-limit-info", state.limit_info().encode())
                    message = {**message, "headers": [*message.get("headers", []), limit]}
            await send(message)

        try:
            if state.faults.rules:
                await self._through_faults(scope, receive, send_with_headers)
            else:
                await (self.fast.match(scope) or self.app)(scope, receive, send_with_headers)
        finally:
            headers = dict(scope["headers"])
            state.requests.append(
                {
                    "method": scope["method"],
                    "path": path,
                    "query": scope["query_string"].decode("latin-1"),
                    "status": status,
                    "headers": {h.decode(): headers[h].decode() for h in LOGGED_HEADERS if h in headers},
                }
            )

    async def _through_faults(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request through the fault plan; the app's answer is buffered so it can be dropped."""

        async def call_next(_: Request) -> Response:
            start: dict[str, Any] = {}
            body = bytearray()

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    body.extend(message.get("body", b""))

            await self.app(scope, receive, capture)
            response = Response(content=bytes(body), status_code=start.get("status", 500))
            response.raw_headers = list(start.get("headers", []))
            return response

        response = await faults.apply(self.state.faults, Request(scope, receive), call_next, render_fault)
        await response(scope, receive, send)
