"""OpenTelemetry set-up shared by every revbridge process, and the correlation id.

The trace context (W3C ``traceparent``) and the business correlation id are part of the
interface between services, so their handling lives with the contracts: every HTTP hop
propagates both (``traceparent`` and ``baggage`` headers, on clients wrapped by ``traced``) and
every stream message carries them in its envelope (see ``events.EventEnvelope``).

Spans are exported only when ``OTEL_TRACES_EXPORTER=console`` is set; ids and propagation work
regardless, which is what the lineage and the trace tests rely on.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, TypeVar

import httpx
from opentelemetry import baggage, context, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "X-Correlation-Id"
CORRELATION_KEY = "correlation_id"


ClientT = TypeVar("ClientT", httpx.Client, httpx.AsyncClient)


def setup_tracing(service_name: str) -> trace.Tracer:
    """Install a tracer provider for this process (once)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if os.environ.get("OTEL_TRACES_EXPORTER", "none") == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
    return trace.get_tracer(service_name)


def traced(client: ClientT) -> ClientT:
    """Instrument one httpx client so its calls carry the trace context (``traceparent``, baggage).

    Per client rather than a global patch of httpx: nothing else in the process (a test's own
    client, an SDK's client) changes behaviour because a service was created.
    """
    HTTPXClientInstrumentor.instrument_client(client)
    return client


def instrument_app(app: Any, service_name: str) -> None:
    """Trace every request of a FastAPI app and carry the correlation id through it."""
    setup_tracing(service_name)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,metrics")
    app.add_middleware(CorrelationMiddleware)


class CorrelationMiddleware:
    """The correlation id of a request (its header, the caller's baggage, or a new one) in the
    baggage while it runs, and echoed on the response.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs each
    request through a task group and memory streams, which cost more CPU than the handler itself
    on the system API's short calls (profiled under bench/pipeline.py).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get(CORRELATION_HEADER)
        cid = str(header or baggage.get_baggage(CORRELATION_KEY) or uuid.uuid4().hex)
        echoed = cid.encode("latin-1", "replace")

        async def send_with_cid(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-correlation-id"]
                message = {**message, "headers": [*headers, (b"x-correlation-id", echoed)]}
            await send(message)

        token = context.attach(baggage.set_baggage(CORRELATION_KEY, cid))
        try:
            await self.app(scope, receive, send_with_cid)
        finally:
            context.detach(token)


def correlation_id() -> str | None:
    value = baggage.get_baggage(CORRELATION_KEY)
    return str(value) if value else None


def with_correlation(cid: str | None, ctx: context.Context | None = None) -> context.Context:
    """A context (the given one, or the current) carrying ``cid`` as the correlation id."""
    return baggage.set_baggage(CORRELATION_KEY, cid or uuid.uuid4().hex, context=ctx)
