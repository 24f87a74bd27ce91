"""The system API's own errors beyond the shared hierarchy: 422 naming a field, 429 with Retry-After.

Each adapter's ``errors.py`` translates vendor failures into these (or the shared ones in
``revbridge_contracts.problems``); one handler renders them all as problem+json.
"""

from __future__ import annotations

from typing import Any

from revbridge_contracts.problems import (
    PROBLEM_JSON,
    BadRequest,
    Conflict,
    InvalidParam,
    NotFound,
    ServiceError,
    UpstreamUnavailable,
)

__all__ = [
    "BadRequest",
    "Conflict",
    "NotFound",
    "RateLimited",
    "ServiceError",
    "Unprocessable",
    "UpstreamUnavailable",
    "field_error",
    "install_error_handlers",
    "unavailable",
]


class Unprocessable(ServiceError):
    status = 422
    title = "Unprocessable request"


class RateLimited(ServiceError):
    """The platform throttled us; its Retry-After is passed through to the caller."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str | None = None, retry_after: str | None = None, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


def field_error(cls: type[ServiceError], name: str, reason: str, **extra: object) -> ServiceError:
    """A 400/422 problem that names the offending field."""
    return cls(f"{name}: {reason}", invalid_params=[InvalidParam(name=name, reason=reason)], **extra)


def unavailable(platform: str, reason: str) -> UpstreamUnavailable:
    """A 503 for a platform that failed or did not answer (retryable by the caller)."""
    return UpstreamUnavailable(f"{platform}: {reason}", error_class="upstream_unavailable", platform=platform)


def install_error_handlers(app: Any) -> None:
    """Render ``RateLimited`` with its Retry-After header (the shared handler renders the rest)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    async def on_rate_limited(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimited)
        body = exc.to_problem(request.url.path).model_dump(mode="json", exclude_none=True)
        headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
        return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=headers)

    app.add_exception_handler(RateLimited, on_rate_limited)
