"""NetSuite's hot calls on the shared fast route table (``..fastpath``): record creates.

``ApiGate`` serves ``POST /services/rest/record/v1/{type}`` with the handler here instead of the
FastAPI app when no fault rule is active, after its own request log, authentication and
concurrency slot, exactly where it would have called the app. The handler runs the route's own
function (``records.routes.create_record``) and renders a ``NetSuiteError`` as the app's
exception handler does.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..fastpath import FastRoutes
from .errors import NetSuiteError, error_response
from .records import routes

FAST = FastRoutes()


@FAST.pattern("POST", "^" + routes.PREFIX + "/(?P<record_type>[^/]+)$")
async def create_record(scope: Scope, receive: Receive, send: Send) -> None:
    response: Response
    try:
        response = await routes.create_record(Request(scope, receive), scope["path_params"]["record_type"])
    except NetSuiteError as exc:
        response = error_response(exc)
    await response(scope, receive, send)
