"""NetSuite failures translated into the system API's problems (``raise ... from exc``).

Error bodies are RFC 9457-like with ``o:errorDetails[{detail, o:errorCode, o:errorPath}]``.
``RETRYABLE`` is the table a caller's retry policy reads; ``AMBIGUOUS`` names the outcomes after
which a write may or may not have happened, so the adapter looks the record up by external id
before it would ever write again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from revbridge_system.errors import (
    BadRequest,
    Conflict,
    NotFound,
    RateLimited,
    Unprocessable,
    field_error,
    unavailable,
)

RETRYABLE: dict[int, bool] = {
    400: False,
    401: False,
    403: False,
    404: False,
    409: False,
    429: True,
    500: True,
    502: True,
    503: True,
    504: True,
}
AMBIGUOUS_STATUSES = frozenset({500, 502, 503, 504})


def is_retryable(status: int | None) -> bool:
    return True if status is None else RETRYABLE.get(status, status >= 500)


def is_ambiguous(exc: BaseException) -> bool:
    """Could the request have been applied even though we saw a failure?"""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in AMBIGUOUS_STATUSES
    return isinstance(exc, httpx.TransportError)


def error_detail(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    return details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}


@contextmanager
def netsuite_errors(what: str) -> Iterator[None]:
    """Map httpx status and transport errors raised inside the block; ``what`` names the call."""
    try:
        yield
    except httpx.HTTPStatusError as exc:
        response = exc.response
        status = response.status_code
        detail = error_detail(response)
        message = str(detail.get("detail") or f"status {status}")
        code = str(detail.get("o:errorCode") or "")
        if status == 429:
            raise RateLimited(
                f"netsuite throttled {what}", retry_after=response.headers.get("Retry-After")
            ) from exc
        if status == 404:
            raise NotFound(f"netsuite {what}: {message}") from exc
        if status == 409:
            raise Conflict(f"netsuite {what}: {message}") from exc
        if status == 400:
            path = detail.get("o:errorPath")
            if path:
                raise field_error(Unprocessable, str(path), message, error_code=code) from exc
            raise BadRequest(f"netsuite {what}: {message}", error_code=code) from exc
        if status in (401, 403) or is_retryable(status):
            raise unavailable("netsuite", f"{what}: status {status} {code}".strip()) from exc
        raise BadRequest(f"netsuite {what}: {message}") from exc
    except httpx.TransportError as exc:
        raise unavailable("netsuite", f"{what}: {type(exc).__name__}") from exc
