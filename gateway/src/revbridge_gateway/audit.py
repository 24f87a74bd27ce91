"""The audit trail: one ``gateway.request`` event per call, and JSON log lines for every event.

Fields are an allow-list (client, operation, method, path, status, latency, correlation id); the
request's headers and body are never logged, so a token or secret can't end up in the logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from revbridge_contracts.telemetry import correlation_id

log = logging.getLogger("revbridge.gateway.audit")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


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


def install_audit(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            if request.url.path != "/healthz":
                log.info(
                    "gateway.request",
                    extra={
                        "client_id": getattr(request.state, "client_id", None),
                        "operation_id": getattr(request.state, "operation_id", None),
                        "method": request.method,
                        "path": request.url.path,
                        "status": status,
                        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                        "correlation_id": correlation_id(),
                    },
                )
