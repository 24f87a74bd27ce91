"""The gateway's outermost ASGI app: correlation id, one trace span, the pipeline, the audit line.

uvicorn serves this object, not the FastAPI app: a proxied call is answered here without entering
FastAPI or Starlette. Profiled under ``bench/gateway.py``, FastAPI's own layers (its native
OpenTelemetry middleware, a second SERVER span per call; body-limit, error and exception
middleware) and our correlation and audit middlewares, each a layer wrapping ``send``, cost more
CPU per call than all the policies together. Only the lifespan, the token service, its metadata and
``/healthz`` go to FastAPI.

Per call: the headers are read once into a dict (lower-case names, the first of repeated values);
the caller's ``traceparent``/``baggage`` are extracted once; the correlation id (``X-Correlation-Id``,
the caller's baggage, or new) is put in the OpenTelemetry baggage, which the proxy injects
upstream; one SERVER span covers the pipeline; the answer goes out as two ASGI messages with the
rate-limit, deprecation and correlation headers; the audit line is written just before (and, for a
write, the audit trail's row queued, written to PostgreSQL after the answer: see ``trail``), and the
call is counted in the gateway's Prometheus ``/metrics`` (``revbridge_requests_total`` and
``revbridge_request_duration_seconds``, the figures FastAPI's instrumentation would give had the call
entered it). Labels stay bounded: the contract's operation id, never the raw path (``unmatched`` when
no route was found), the method (``OTHER`` past the standard ones) and the status class.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping

from fastapi import FastAPI
from opentelemetry import baggage, context, trace
from opentelemetry.propagate import extract
from revbridge_contracts.metrics import Metrics
from revbridge_contracts.problems import PROBLEM_JSON, ServiceError
from revbridge_contracts.telemetry import CORRELATION_KEY
from starlette.datastructures import State
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from revbridge_gateway.audit import audit
from revbridge_gateway.errors import GatewayError, problem_body
from revbridge_gateway.idempotency import REPLAYED_HEADER
from revbridge_gateway.pipeline import Call, handle
from revbridge_gateway.trail import WRITES, entry

OWN_PATHS = frozenset({"/oauth/token", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"})
OWN_PREFIXES = ("/oauth/authorize", "/dashboard")  # browser sign-in and the dashboard page (authorize.py)
UNAUDITED = frozenset({"/healthz", "/metrics"})  # straight to FastAPI; /metrics is never forwarded
CORRELATION = "x-correlation-id"
CLIENT_CLOSED = 499  # nginx's convention: the caller went away before the answer
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
UNMATCHED = "unmatched"  # the metrics label of a call no contract route matched (400/404/405)

log = logging.getLogger("revbridge.gateway.front")


def read_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names as sent by the server (lower case in ASGI); the first of repeated values wins."""
    headers: dict[str, str] = {}
    for name, value in reversed(list(raw)):
        headers[name.decode("latin-1")] = value.decode("latin-1")
    return headers


def raw_headers(*sources: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """One header per name (later sources win), encoded for ASGI."""
    merged: dict[str, str] = {}
    for source in sources:
        for name, value in source.items():
            merged[name.lower()] = value
    return [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in merged.items()]


class GatewayFront:
    def __init__(self, api: FastAPI, tracer: trace.Tracer) -> None:
        self.api = api
        self._tracer = tracer
        self._metrics: Metrics = api.state.metrics  # install_metrics, on the FastAPI app

    @property
    def state(self) -> State:
        """The FastAPI app's state (``state.gateway`` is the composition root's ``Gateway``)."""
        return self.api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNAUDITED:
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        headers = read_headers(scope["headers"])
        parent = extract(headers)
        cid = str(
            headers.get(CORRELATION) or baggage.get_baggage(CORRELATION_KEY, parent) or uuid.uuid4().hex
        )
        token = context.attach(baggage.set_baggage(CORRELATION_KEY, cid, parent))
        try:
            if scope["path"] in OWN_PATHS or scope["path"].startswith(OWN_PREFIXES):
                await self._own(scope, receive, send, started, cid)
            else:
                await self._proxied(scope, receive, send, headers, started, cid)
        finally:
            context.detach(token)

    async def _proxied(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], started: float, cid: str
    ) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        call = Call(
            method=scope["method"],
            raw_path=raw_path.decode("latin-1").split("?", 1)[0],
            query_string=scope["query_string"].decode("latin-1"),
            headers=headers,
            receive=receive,
        )
        status = 500
        trace_id: str | None = None
        answer_headers: Mapping[str, str] = {}
        try:
            with self._tracer.start_as_current_span(
                f"gateway {call.method}", kind=trace.SpanKind.SERVER
            ) as span:
                trace_id = format(span.get_span_context().trace_id, "032x")
                try:
                    answer = await handle(call, self.api.state.gateway)
                    status, answer_headers, body = answer.status, answer.headers, answer.body
                except GatewayError as exc:
                    status, body = exc.status, problem_body(exc, scope["path"])
                    answer_headers = {"content-type": PROBLEM_JSON, **exc.headers}
                span.set_attribute("http.response.status_code", status)
        except ClientDisconnect:
            self._audit(call, scope, CLIENT_CLOSED, started, cid, trace_id, answer_headers)
            return
        except Exception:
            # a bug, never an expected outcome: logged with its traceback, answered as problem+json
            log.exception("gateway.error", extra={"operation_id": call.operation_id})
            status, body = 500, problem_body(ServiceError(), scope["path"])
            answer_headers = {"content-type": PROBLEM_JSON}
        except BaseException:
            self._audit(call, scope, status, started, cid, trace_id, answer_headers)
            raise
        self._audit(call, scope, status, started, cid, trace_id, answer_headers)
        raw = raw_headers(
            answer_headers, call.extra_headers, {CORRELATION: cid, "content-length": str(len(body))}
        )
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    def _audit(
        self,
        call: Call,
        scope: Scope,
        status: int,
        started: float,
        cid: str,
        trace_id: str | None,
        answer_headers: Mapping[str, str],
    ) -> None:
        """The audit line, the audit trail's row (writes only) and the Prometheus figures of one
        proxied call, whatever its outcome."""
        seconds = time.perf_counter() - started
        latency_ms = round(seconds * 1000, 2)
        audit(
            client_id=call.client_id,
            subject=call.subject,
            operation_id=call.operation_id,
            method=call.method,
            path=scope["path"],
            status=status,
            latency_ms=latency_ms,
            correlation_id=cid,
            trace_id=trace_id,
        )
        if call.method in WRITES:
            detail: dict[str, object] = {"correlation_id": cid, "latency_ms": latency_ms}
            if answer_headers.get(REPLAYED_HEADER):
                detail["replayed"] = True
            self.api.state.gateway.trail.add(
                entry(
                    method=call.method,
                    path=scope["path"],
                    status=status,
                    operation_id=call.operation_id,
                    actor=call.subject,
                    client=call.client_id,
                    business_key=call.business_key,
                    trace_id=trace_id,
                    detail=detail,
                )
            )
        self._metrics.observe_request(
            call.operation_id or UNMATCHED,
            call.method if call.method in METHODS else "OTHER",
            status,
            seconds,
        )

    async def _own(self, scope: Scope, receive: Receive, send: Send, started: float, cid: str) -> None:
        """The token service and its metadata, in FastAPI; the endpoint fills ``scope['state']``."""
        state = scope.setdefault("state", {})
        status = 500
        logged = False
        encoded_cid = cid.encode("latin-1", "replace")

        def write() -> None:
            nonlocal logged
            logged = True
            audit(
                client_id=state.get("client_id"),
                operation_id=state.get("operation_id"),
                method=scope["method"],
                path=scope["path"],
                status=status,
                latency_ms=(time.perf_counter() - started) * 1000,
                correlation_id=cid,
            )

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(k, v) for k, v in message.get("headers", []) if k != b"x-correlation-id"]
                message["headers"] = [*kept, (b"x-correlation-id", encoded_cid)]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                write()  # before the last byte leaves, so the line exists once the caller has the answer
            await send(message)

        try:
            await self.api(scope, receive, watch)
        finally:
            if not logged:
                write()
