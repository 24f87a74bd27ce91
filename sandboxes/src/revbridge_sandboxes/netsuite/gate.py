"""What every ``/services/rest/`` call passes through before its handler runs.

In order: record the call for ``/__sandbox/requests``; verify the TBA signature (401); take an
account concurrency slot (429 past the limit, held until the handler returns); apply an injected
fault (latency while holding the slot, an error status, or ``commit_then_drop``: run the handler
and then answer 500 as if the response had been lost).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response

from .auth import base_string_uri, verify_tba
from .errors import NetSuiteError, error_response
from .state import Fault, SandboxState

API_PREFIX = "/services/rest/"
LOGGED_HEADERS = ("traceparent", "prefer", "x-netsuite-idempotency-key")
FAULT_CODES = {429: "CONCURRENCY_LIMIT_EXCEEDED", 500: "UNEXPECTED_ERROR", 503: "SERVICE_UNAVAILABLE"}

CallNext = Callable[[Request], Awaitable[Response]]


async def api_gate(request: Request, call_next: CallNext) -> Response:
    if not request.url.path.startswith(API_PREFIX):
        return await call_next(request)
    state: SandboxState = request.app.state.netsuite
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "status": None,
        "headers": {name: request.headers[name] for name in LOGGED_HEADERS if name in request.headers},
    }
    state.request_log.append(entry)
    try:
        response = await _guarded(request, call_next, state)
    except NetSuiteError as exc:
        response = error_response(exc)
    entry["status"] = response.status_code
    return response


async def _guarded(request: Request, call_next: CallNext, state: SandboxState) -> Response:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    verify_tba(
        state,
        method=request.method,
        uri=base_string_uri(
            request.url.scheme, request.headers.get("host", request.url.netloc), raw_path.decode()
        ),
        query=request.url.query,
        authorization=request.headers.get("authorization"),
        body=await request.body(),
    )
    if state.in_flight >= state.settings.concurrency:
        raise NetSuiteError(
            429,
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Request blocked: the account concurrency limit has been exceeded. Retry later.",
        )
    state.in_flight += 1
    try:
        fault = _take_fault(state, request.method, request.url.path)
        if fault is not None and fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault is not None and fault.status and fault.mode == "error":
            raise _fault_error(fault, fault.status)
        response = await call_next(request)
        if fault is not None and fault.mode == "commit_then_drop":
            await _drain(response)
            raise _fault_error(fault, fault.status or 500)
        return response
    finally:
        state.in_flight -= 1


def _take_fault(state: SandboxState, method: str, path: str) -> Fault | None:
    for fault in state.faults:
        if fault.matches(method, path):
            if fault.count is not None:
                fault.count -= 1
            return fault
    return None


def _fault_error(fault: Fault, status: int) -> NetSuiteError:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    detail = f"Injected fault: HTTP {status} (sandbox fault injection)."
    return NetSuiteError(status, FAULT_CODES.get(status, "UNEXPECTED_ERROR"), detail, headers=headers)


async def _drain(response: Response) -> None:
    body_iterator = getattr(response, "body_iterator", None)
    if body_iterator is not None:
        async for _ in body_iterator:
            pass
