"""The sandbox's error hierarchy, rendered the way Salesforce renders errors.

REST errors are a JSON *array* of ``{message, errorCode[, fields]}`` (simple-salesforce reads
``[0]["errorCode"]`` on a 401 to decide to re-login); OAuth errors are an RFC 6749 object.
Each error carries its status so one handler renders all of them.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class SalesforceError(Exception):
    status = 400
    error_code = "UNKNOWN_EXCEPTION"
    # Offset in the SOQL text the error is about; the query route renders it as Salesforce's
    # ``ERROR at Row:r:Column:c`` block (see ``soql.locate``).
    pos: int | None = None

    def __init__(self, message: str, fields: list[str] | None = None, *, error_code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields
        if error_code:
            self.error_code = error_code

    def at(self, pos: int) -> SalesforceError:
        """The same error, pinned to a position in the query text (the first pin wins)."""
        if self.pos is None:
            self.pos = pos
        return self

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


class InvalidSession(SalesforceError):
    status = 401
    error_code = "INVALID_SESSION_ID"

    def __init__(self) -> None:
        super().__init__("Session expired or invalid")


class NotFound(SalesforceError):
    status = 404
    error_code = "NOT_FOUND"

    def __init__(self, message: str = "The requested resource does not exist") -> None:
        super().__init__(message)


class InvalidField(SalesforceError):
    error_code = "INVALID_FIELD"


def no_such_column(name: str, sobject: str) -> InvalidField:
    """A write or ``?fields=`` naming a field the object does not have (REST wording)."""
    return InvalidField(f"No such column '{name}' on sobject of type {sobject}")


class UnknownSObjectUrl(SalesforceError):
    """A REST URL naming an sObject the org does not have: Salesforce answers it as an unknown
    resource (404 NOT_FOUND), not INVALID_TYPE, which is SOQL's and the collections' answer."""

    status = 404
    error_code = "NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("The requested resource does not exist")


class InvalidType(SalesforceError):
    error_code = "INVALID_TYPE"


class MalformedQuery(SalesforceError):
    error_code = "MALFORMED_QUERY"


class RequiredFieldMissing(SalesforceError):
    """All the missing fields at once, as Salesforce lists them: ``[Name, StageName, CloseDate]``."""

    error_code = "REQUIRED_FIELD_MISSING"

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"Required fields are missing: [{', '.join(fields)}]", fields)


class InvalidCrossReference(SalesforceError):
    error_code = "INVALID_CROSS_REFERENCE_KEY"


class JsonParserError(SalesforceError):
    error_code = "JSON_PARSER_ERROR"


class MalformedId(SalesforceError):
    error_code = "MALFORMED_ID"


class EntityIsDeleted(SalesforceError):
    """A write to (or through) a record in the recycle bin: 404 on the record's own URL."""

    status = 404
    error_code = "ENTITY_IS_DELETED"

    def __init__(self, fields: list[str] | None = None) -> None:
        super().__init__("entity is deleted", fields if fields is not None else [])


class MultipleRecords(SalesforceError):
    """300 Multiple Choices: an external id matched more than one record."""

    status = 300

    def __init__(self, urls: list[str]) -> None:
        super().__init__("More than one record found for external id", error_code="MULTIPLE_CHOICES")
        self.urls = urls

    def body(self) -> list[Any]:  # type: ignore[override]
        return self.urls


class OAuthError(Exception):
    """Token endpoint failure, rendered as ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


async def render_salesforce_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SalesforceError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def render_oauth_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status)
