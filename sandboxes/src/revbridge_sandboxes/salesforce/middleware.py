"""Cross-cutting behaviour of every non-admin call: injected faults, API usage, the request log.

``Sforce-Limit-Info`` counts each ``/services/data`` call, as Salesforce's daily API budget does;
the log keeps only the headers tests need (``traceparent``, ``sforce-query-options``), never
``authorization``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from .faults import fault_body
from .state import get_state

ADMIN_PREFIX = "/__sandbox"
LOGGED_HEADERS = ("traceparent", "sforce-query-options")


async def sandbox_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    path = request.url.path
    if path.startswith(ADMIN_PREFIX):
        return await call_next(request)
    state = get_state(request)
    is_api = path.startswith("/services/data")
    if is_api:
        state.api_usage += 1
    fault = state.faults.take(request.method, path)
    if fault is not None:
        response: Response = JSONResponse(fault_body(fault.status), status_code=fault.status)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
    else:
        response = await call_next(request)
    if is_api:
        response.headers["Sforce-Limit-Info"] = state.limit_info()
    state.requests.append(
        {
            "method": request.method,
            "path": path,
            "query": request.url.query,
            "status": response.status_code,
            "headers": {h: request.headers[h] for h in LOGGED_HEADERS if h in request.headers},
        }
    )
    return response
