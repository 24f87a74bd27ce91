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
        query_param: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.path = path
        self.query_param = query_param
        self.title = title or TITLES.get(status, "Error")
        self.headers = headers or {}


def error_body(
    status: int,
    code: str,
    detail: str,
    *,
    path: str | None = None,
    query_param: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """One ``o:errorDetails`` entry: ``o:errorPath`` points into the body, ``o:errorQueryParam``
    names a query parameter (SuiteQL's ``q`` is reported there although it travels in the body)."""
    entry: dict[str, Any] = {"detail": detail}
    if path:
        entry["o:errorPath"] = path
    if query_param:
        entry["o:errorQueryParam"] = query_param
    entry["o:errorCode"] = code
    return {
        "type": TYPE_URIS.get(status, TYPE_URIS[400]),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [entry],
    }


def error_response(exc: NetSuiteError) -> JSONResponse:
    return JSONResponse(
        error_body(
            exc.status, exc.code, exc.detail, path=exc.path, query_param=exc.query_param, title=exc.title
        ),
        status_code=exc.status,
        headers=exc.headers,
        media_type="application/vnd.oracle.resource+json; type=error",
    )


async def netsuite_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NetSuiteError)
    return error_response(exc)


def invalid_login() -> NetSuiteError:
    return NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN_DETAIL)


# Record-service failures carry this prefix in NetSuite's REST answers ("Error while accessing a
# resource. Please enter value(s) for: ..."; "... This entity already exists.").
RESOURCE_PREFIX = "Error while accessing a resource. "


def user_error(detail: str, *, path: str | None = None) -> NetSuiteError:
    return NetSuiteError(400, "USER_ERROR", RESOURCE_PREFIX + detail, path=path)


def field_required(field: str, label: str | None = None, *, path: str | None = None) -> NetSuiteError:
    """A missing mandatory field, named by its UI label as NetSuite does ("Company Name").

    guess: ``o:errorPath`` (NetSuite's examples of this error show the detail, not always a path).
    """
    return user_error(f"Please enter value(s) for: {label or field}.", path=path or field)


def lines_required(sublist: str) -> NetSuiteError:
    """A transaction with no lines: NetSuite's own wording for an empty item sublist."""
    return user_error("You must enter at least one line item for this transaction.", path=sublist)


def invalid_ref(field: str, value: object, *, path: str | None = None) -> NetSuiteError:
    """A select/list field naming an id that does not exist (the documented "Invalid Field Value").

    The wording and ``INVALID_CONTENT`` are the example of "Error Handling in REST Web Services"
    (a sublist line's ``item`` of 9999 -> ``o:errorPath`` ``item.items[0].item``).
    """
    return NetSuiteError(
        400,
        "INVALID_CONTENT",
        f"Error while accessing resource: You have entered an Invalid Field Value {value} for the "
        f"following field: {field}",
        path=path or field,
    )


def nonexistent(record_type: str, record_id: str) -> NetSuiteError:
    """The URL's own record is missing: NetSuite's 404 names neither the type nor the id."""
    return NetSuiteError(
        404,
        "NONEXISTENT_ID",
        "The record instance does not exist. Provide a valid record instance ID.",
    )


def invalid_content(detail: str, *, path: str | None = None) -> NetSuiteError:
    return NetSuiteError(400, "INVALID_CONTENT", detail, path=path)


def invalid_type(path: str, expected: str) -> NetSuiteError:
    """A JSON value of the wrong type for the field at ``path`` (a string for a number, ...).

    guess: the wording; NetSuite reports these as ``INVALID_CONTENT`` with the JSON path.
    """
    return invalid_content(
        f"Invalid content in the request body. The value of '{path}' must be {expected}.", path=path
    )
