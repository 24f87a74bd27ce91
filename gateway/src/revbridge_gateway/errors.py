"""The gateway's errors: each carries its status, problem type and the headers the RFCs require.

Resource errors render as RFC 9457 problem+json (with ``WWW-Authenticate``, ``Retry-After``,
``Allow`` where due); token-endpoint errors render as RFC 6749 §5.2 JSON, which OAuth clients
expect instead of a problem document.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from revbridge_contracts.problems import PROBLEM_JSON, ServiceError

PROBLEM_BASE = "urn:revbridge:gateway:"
REALM = 'realm="revbridge"'


class ContractPolicyError(Exception):
    """An operation's policy in a contract is missing or malformed (stops start-up)."""


class GatewayError(ServiceError):
    """A ``ServiceError`` that may add response headers."""

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None, **extra: object):
        super().__init__(detail, **extra)
        self.headers = headers or {}


class BadPath(GatewayError):
    status, title, type = 400, "Malformed path", PROBLEM_BASE + "bad_path"


class MissingToken(GatewayError):
    """No credentials at all: RFC 6750 §3.1 says the challenge carries no error code."""

    status, title, type = 401, "Bearer token required", PROBLEM_BASE + "invalid_token"

    def __init__(self, detail: str = "no bearer token in the Authorization header") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": f"Bearer {REALM}"})


class InvalidToken(GatewayError):
    status, title, type = 401, "Invalid access token", PROBLEM_BASE + "invalid_token"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": f'Bearer {REALM}, error="invalid_token"'})


class InsufficientScope(GatewayError):
    status, title, type = 403, "Insufficient scope", PROBLEM_BASE + "insufficient_scope"

    def __init__(self, required: list[str]) -> None:
        scope = " ".join(required)
        super().__init__(
            f"this operation needs scope(s): {scope}",
            headers={"WWW-Authenticate": f'Bearer {REALM}, error="insufficient_scope", scope="{scope}"'},
        )


class AudienceForbidden(GatewayError):
    status, title, type = 403, "Operation not available to this client", PROBLEM_BASE + "audience"


class RouteNotFound(GatewayError):
    status, title, type = 404, "Not found", PROBLEM_BASE + "not_found"


class MethodNotAllowed(GatewayError):
    status, title, type = 405, "Method not allowed", PROBLEM_BASE + "method_not_allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(f"{method} is not defined here", headers={"Allow": ", ".join(allowed)})


class PayloadTooLarge(GatewayError):
    status, title, type = 413, "Request body too large", PROBLEM_BASE + "payload_too_large"


class InvalidRequest(GatewayError):
    """The request breaks the operation's schemas; ``invalid_params`` names each field.

    422, as the services behind the gateway answer (and their contracts document) the same failure.
    """

    status, title, type = 422, "Invalid request", PROBLEM_BASE + "invalid_request"

    def __init__(self, params: list[tuple[str, str]]) -> None:
        detail = "; ".join(f"{name}: {reason}" for name, reason in params)
        super().__init__(detail, invalid_params=[{"name": n, "reason": r} for n, r in params])


class UnsupportedMediaType(GatewayError):
    status, title, type = 415, "Unsupported media type", PROBLEM_BASE + "unsupported_media_type"


class Gone(GatewayError):
    status, title, type = 410, "Operation retired", PROBLEM_BASE + "sunset"


class IdempotencyKeyMissing(GatewayError):
    status, title, type = 400, "Idempotency-Key required", PROBLEM_BASE + "idempotency_key_missing"


class IdempotencyInFlight(GatewayError):
    status, title, type = (
        409,
        "Request with this Idempotency-Key in progress",
        PROBLEM_BASE + "idempotency_in_flight",
    )


class IdempotencyMismatch(GatewayError):
    status, title, type = (
        422,
        "Idempotency-Key reused with another request",
        PROBLEM_BASE + "idempotency_mismatch",
    )


class RateLimited(GatewayError):
    status, title, type = 429, "Too many requests", PROBLEM_BASE + "rate_limited"


class RateLimiterUnavailable(GatewayError):
    status, title, type = 503, "Rate limiter unavailable", PROBLEM_BASE + "rate_limiter_unavailable"


class UpstreamUnavailable(GatewayError):
    status, title, type = 503, "Upstream unavailable", PROBLEM_BASE + "upstream_unavailable"


class CircuitOpen(GatewayError):
    status, title, type = 503, "Upstream circuit open", PROBLEM_BASE + "circuit_open"


class OAuthError(Exception):
    """An RFC 6749 §5.2 error of the token endpoint."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def headers(self) -> dict[str, str]:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if self.status == 401:
            headers["WWW-Authenticate"] = f"Basic {REALM}"
        return headers


def invalid_client() -> OAuthError:
    """One answer for unknown client and wrong secret, so the two can't be told apart."""
    return OAuthError("invalid_client", "client authentication failed", status=401)


def problem_body(exc: ServiceError, instance: str) -> bytes:
    """The problem+json document of ``exc``, encoded as Starlette's ``JSONResponse`` would."""
    body = exc.to_problem(instance).model_dump(mode="json", exclude_none=True)
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def render_problem(request: Request, exc: GatewayError) -> JSONResponse:
    """problem+json with the error's headers and the rate-limit/deprecation headers learnt so far."""
    body = exc.to_problem(request.url.path).model_dump(mode="json", exclude_none=True)
    headers = {**exc.headers, **getattr(request.state, "extra_headers", {})}
    return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=headers)


def install_gateway_handlers(app: FastAPI) -> None:
    """Render gateway errors with their headers (more specific than the contracts' ServiceError)."""

    async def on_gateway_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        return render_problem(request, exc)

    async def on_oauth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OAuthError)
        body = {"error": exc.error, "error_description": exc.description}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers())

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(OAuthError, on_oauth_error)
