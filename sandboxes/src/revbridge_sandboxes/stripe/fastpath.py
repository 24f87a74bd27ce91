"""Stripe's hot calls on the shared fast route table (``..fastpath``): ``POST /v1/customers``.

``StripeWire`` serves a matching call with the handler here instead of the FastAPI app when no
fault rule is active, still inside its own Request-Id, idempotency and request-log handling. The
handler builds the same ``Ctx`` as the ``ApiCtx`` dependency (authentication, form decoding,
parameter checks), runs the route's own function and renders a ``StripeError`` as the app's
exception handler does.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..fastpath import FastRoutes
from .deps import request_context
from .errors import StripeError
from .resources import customers

FAST = FastRoutes()


@FAST.route("POST", "/v1/customers")
async def create_customer(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    try:
        response = await customers.create_customer(await request_context(request, "/v1/customers"))
    except StripeError as exc:
        response = exc.response(getattr(request.state, "request_id", None))
    await response(scope, receive, send)
