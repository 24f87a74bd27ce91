"""The proxied paths as pure ASGI middleware: one trace span, the pipeline, errors rendered here.

Every call except the token service, its metadata and ``/healthz`` is answered by this middleware
without entering FastAPI's router, dependency resolution or exception middleware — that machinery
cost more per request than the policies themselves (see ``bench/gateway.py``). Tracing is one
SERVER span started from the caller's ``traceparent``/``tracestate``/``baggage`` (the generic ASGI
instrumentation made three spans per call); the proxy injects it into the upstream request.
"""

from __future__ import annotations

from fastapi import Request
from opentelemetry import context, trace
from opentelemetry.propagate import extract
from starlette.types import ASGIApp, Receive, Scope, Send

from revbridge_gateway.errors import GatewayError, render_problem
from revbridge_gateway.pipeline import handle

OWN_PATHS = frozenset(
    {"/healthz", "/oauth/token", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"}
)

tracer = trace.get_tracer("revbridge.gateway")


class GatewayFront:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OWN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = extract(carrier, context=context.get_current())
        with tracer.start_as_current_span(
            f"gateway {scope['method']}", context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            try:
                response = await handle(request, scope["app"].state.gateway)
            except GatewayError as exc:
                response = render_problem(request, exc)
            span.set_attribute("http.response.status_code", response.status_code)
            await response(scope, receive, send)
