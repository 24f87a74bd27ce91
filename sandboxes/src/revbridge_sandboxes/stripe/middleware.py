"""Cross-cutting wire behaviour of every ``/v1`` call: Request-Id, idempotent replays, injected faults,
and the request log the admin API exposes (wire reference §1.1, §1.5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from .admin import Fault
from .deps import presented_key
from .errors import StripeError
from .forms import fingerprint
from .state import IdempotentEntry, SandboxState, new_id

logger = logging.getLogger("revbridge.sandboxes.stripe")

Next = Callable[[Request], Awaitable[Response]]
LOGGED_HEADERS = ("traceparent", "idempotency-key", "stripe-version")
NOT_SAVED = frozenset({401, 409, 429})


def _fault_error(fault: Fault) -> StripeError:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.status == 429:
        return StripeError(
            429,
            "Too many requests hit the API too quickly. "
            "We recommend an exponential backoff of your requests.",
            code="rate_limit",
            headers=headers,
        )
    return StripeError(
        fault.status,
        "An unknown error occurred (injected by the sandbox).",
        type="api_error",
        headers=headers,
    )


async def _buffered(response: Response) -> Response:
    body = b""
    async for chunk in response.body_iterator:  # type: ignore[attr-defined]
        body += chunk if isinstance(chunk, bytes) else chunk.encode()
    return Response(body, status_code=response.status_code, headers=dict(response.headers))


async def _idempotent(request: Request, call_next: Next, state: SandboxState, request_id: str) -> Response:
    """Replay the saved response of a POST whose Idempotency-Key was seen with the same params."""
    key = request.headers.get("idempotency-key")
    account = state.accounts.get(presented_key(request) or "")
    if request.method != "POST" or not key or account is None:
        return await call_next(request)
    body = await request.body()
    print_ = fingerprint(request.method, request.url.path, request.url.query.encode() + b"&" + body)
    entry = account.idempotent(key)
    if entry is not None:
        if entry.fingerprint != print_:
            return StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with. "
                f"Try using a key other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            ).response(request_id)
        if entry.status is None:
            return StripeError(
                409,
                "There is currently another in-progress request using this Stripe API key "
                "and idempotency key. "
                "Please try again later.",
                code="idempotency_key_in_use",
            ).response(request_id)
        replay = Response(entry.body, status_code=entry.status, media_type="application/json")
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    entry = account.idempotency[key] = IdempotentEntry(fingerprint=print_, created=time.time())
    try:
        response = await _buffered(await call_next(request))
    except BaseException:
        account.idempotency.pop(key, None)
        raise
    if response.status_code in NOT_SAVED:
        account.idempotency.pop(key, None)
    else:
        entry.status, entry.body = response.status_code, bytes(response.body)
    return response


async def stripe_wire(request: Request, call_next: Next) -> Response:
    """The HTTP middleware: faults, idempotency, headers, request log."""
    state: SandboxState = request.app.state.sandbox
    request_id = new_id("req", 14)
    request.state.request_id = request_id
    path = request.url.path
    if not path.startswith("/v1/"):
        response = await call_next(request)
        response.headers["Request-Id"] = request_id
        return response
    fault = state.take_fault(request.method, path)
    try:
        if fault is not None and fault.mode == "error":
            response = _fault_error(fault).response(request_id)
        else:
            response = await _idempotent(request, call_next, state, request_id)
            if fault is not None:
                response = _fault_error(fault).response(request_id)
    except Exception:
        logger.exception("stripe.sandbox.unhandled", extra={"path": path, "request_id": request_id})
        response = StripeError(500, "An unknown error occurred.", type="api_error").response(request_id)
    response.headers["Request-Id"] = request_id
    if key := request.headers.get("idempotency-key"):
        response.headers["Idempotency-Key"] = key
    response.headers["Stripe-Version"] = request.headers.get("stripe-version") or state.settings.api_version
    state.requests.append(
        {
            "method": request.method,
            "path": path,
            "query": request.url.query,
            "status": response.status_code,
            "request_id": request_id,
            "headers": {h: request.headers[h] for h in LOGGED_HEADERS if h in request.headers},
        }
    )
    return response
