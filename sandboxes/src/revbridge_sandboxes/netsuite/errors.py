"""NetSuite's REST error shape (RFC 9457-like with ``o:errorDetails``) and the one error type.

Every failure the sandbox reports (auth, validation, governance, injected faults) is a
``NetSuiteError`` carrying its status and ``o:errorCode``; one handler renders them all.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
TYPE_URIS = {
    400: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
    401: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
    403: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4",
    404: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5",
    405: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6",
    409: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.10",
    429: "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
    500: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1",
    502: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.3",
    503: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4",
    504: "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.5",
}
INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)


class NetSuiteError(Exception):
    """A failure answered in NetSuite's shape; ``path`` names the offending field when known."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        path: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.title = title or TITLES.get(status, "Error")
        self.headers = headers or {}


def error_body(
    status: int, code: str, detail: str, *, path: str | None = None, title: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    return {
        "type": TYPE_URIS.get(status, TYPE_URIS[400]),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [entry],
    }


def error_response(exc: NetSuiteError) -> JSONResponse:
    return JSONResponse(
        error_body(exc.status, exc.code, exc.detail, path=exc.path, title=exc.title),
        status_code=exc.status,
        headers=exc.headers,
        media_type="application/vnd.oracle.resource+json; type=error",
    )


async def netsuite_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NetSuiteError)
    return error_response(exc)


def invalid_login() -> NetSuiteError:
    return NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN_DETAIL)


def user_error(detail: str, *, path: str | None = None) -> NetSuiteError:
    return NetSuiteError(400, "USER_ERROR", detail, path=path)


def field_required(field: str) -> NetSuiteError:
    return NetSuiteError(400, "FIELD_REQUIRED", f"Please enter value(s) for: {field}", path=field)


def invalid_ref(field: str, value: object) -> NetSuiteError:
    return NetSuiteError(
        400,
        "INVALID_KEY_OR_REF",
        f"Invalid {field} reference key {value}.",
        path=field,
    )


def nonexistent(record_type: str, record_id: str) -> NetSuiteError:
    return NetSuiteError(
        404,
        "NONEXISTENT_ID",
        f"The record instance does not exist. Provide a valid record instance ID. "
        f"(type {record_type}, id {record_id})",
    )


def invalid_content(detail: str, *, path: str | None = None) -> NetSuiteError:
    return NetSuiteError(400, "INVALID_CONTENT", detail, path=path)
