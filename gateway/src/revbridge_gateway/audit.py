"""The audit trail and request tracing, as pure ASGI middleware (no per-request Request objects).

One ``gateway.request`` event per call, JSON log lines for every event. Fields are an allow-list
(client, operation, method, path, status, latency, correlation id); the request's headers and body
are never logged, so a token or secret can't end up in the logs. The correlation id (from
``X-Correlation-Id``, the W3C baggage, or new) is put in the OpenTelemetry baggage for the call and
echoed on the answer; it is what ``revbridge_contracts.telemetry.instrument_app`` does, without
``BaseHTTPMiddleware``'s cost on every request.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI
from opentelemetry import baggage, context
from revbridge_contracts.telemetry import CORRELATION_KEY, correlation_id, setup_tracing
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("revbridge.gateway.audit")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
CORRELATION = b"x-correlation-id"
UNAUDITED = frozenset({"/healthz"})


class EventFormatter(logging.Formatter):
    """``{"event": ..., "level": ..., **fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        line = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **fields,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(EventFormatter())
    root = logging.getLogger("revbridge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNAUDITED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        logged = False
        state: dict[str, Any] = scope.setdefault("state", {})

        def write() -> None:
            nonlocal logged
            logged = True
            log.info(
                "gateway.request",
                extra={
                    "client_id": state.get("client_id"),
                    "operation_id": state.get("operation_id"),
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    "correlation_id": correlation_id(),
                },
            )

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                write()  # before the last byte leaves, so the line exists once the caller has the answer
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if not logged:
                write()


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == CORRELATION), None)
        cid = (sent.decode("latin-1") if sent else None) or baggage.get_baggage(CORRELATION_KEY)
        cid = str(cid or uuid.uuid4().hex)
        token = context.attach(baggage.set_baggage(CORRELATION_KEY, cid))

        async def echo(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != CORRELATION]
                message["headers"] = [*headers, (CORRELATION, cid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, echo)
        finally:
            context.detach(token)


def install_tracing(app: FastAPI) -> None:
    """The tracer provider and the correlation id; the span itself is started in ``front``."""
    setup_tracing("gateway")
    app.add_middleware(CorrelationMiddleware)


def install_audit(app: FastAPI) -> None:
    app.add_middleware(AuditMiddleware)
