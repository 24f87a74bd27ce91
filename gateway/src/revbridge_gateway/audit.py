"""The audit line: one ``gateway.request`` event per call, as JSON log lines like every other event.

Fields are an allow-list (client, the token's subject when it names a user other than the client,
operation, method, path, status, latency, correlation id, trace id); the request's headers and body
are never logged, so a token or secret can't end up in the logs. The line is written by ``front``
before the answer leaves, so it exists once the caller has the answer. (The durable record of every
write is the audit trail in PostgreSQL, see ``trail``; this line is what is left of a row the
gateway could not write there.)

Written in place, not through a ``QueueHandler``: one line costs about 20 µs of CPU (record, JSON,
one write), a few percent of a proxied call. Measured, a ``QueueHandler``/``QueueListener`` pair took
~5 µs of that off the event loop but none off the process (the listener thread needs the same GIL),
and the line would no longer exist by the time the caller has the answer.
"""

from __future__ import annotations

import json
import logging

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


def audit(
    *,
    client_id: str | None,
    operation_id: str | None,
    method: str,
    path: str,
    status: int,
    latency_ms: float,
    correlation_id: str,
    subject: str | None = None,
    trace_id: str | None = None,
) -> None:
    user = {"subject": subject} if subject and subject != client_id else {}
    log.info(
        "gateway.request",
        extra={
            "client_id": client_id,
            **user,
            "operation_id": operation_id,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": round(latency_ms, 2),
            "correlation_id": correlation_id,
            **({"trace_id": trace_id} if trace_id else {}),
        },
    )
