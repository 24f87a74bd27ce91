"""Stripe's error bodies and status codes (wire reference §1.7), raised by handlers, rendered once."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """An API error with the HTTP status and the fields of Stripe's ``error`` object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if request_id:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        error.update(self.extra)
        return {"error": error}

    def response(self, request_id: str | None = None) -> JSONResponse:
        return JSONResponse(self.body(request_id), status_code=self.status, headers=self.headers)


def missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def invalid(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    return StripeError(400, message, code=code, param=param)


def not_found(label: str, object_id: str, param: str = "id") -> StripeError:
    """The object named in the URL does not exist: 404."""
    return StripeError(404, f"No such {label}: '{object_id}'", code="resource_missing", param=param)


def missing_reference(label: str, object_id: str, param: str) -> StripeError:
    """An id given as a parameter names nothing: Stripe answers 400 (not 404), naming the param."""
    return StripeError(400, f"No such {label}: '{object_id}'", code="resource_missing", param=param)


def unknown_parameter(name: str) -> StripeError:
    return StripeError(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def unsupported_parameter(name: str) -> StripeError:
    """A real Stripe parameter the sandbox does not model (see ``params.NOT_MODELLED``)."""
    return StripeError(
        400,
        f"The sandbox does not model `{name}`: it would change the amounts billed, so it is refused "
        "rather than ignored (see sandboxes/README.md).",
        code="parameter_unsupported",
        param=name,
    )


def failed_validation(status: int, body: bytes) -> bool:
    """Whether an answer is a rejection of the parameters before anything ran: Stripe saves no
    idempotent result for these, so the corrected retry under the same key is executed."""
    if status != 400 or b'"code"' not in body:
        return False
    try:
        code = json.loads(body)["error"].get("code") or ""
    except (ValueError, KeyError, AttributeError):
        return False
    return code.startswith("parameter_") or code == "resource_missing"


def bad_state(message: str) -> StripeError:
    """A request that conflicts with the object's state (e.g. paying a void invoice): 400."""
    return StripeError(400, message)


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )
