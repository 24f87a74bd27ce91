"""Salesforce failures translated into the system API's problems (``raise ... from exc``).

Salesforce error bodies are JSON arrays ``[{"message", "errorCode", "fields"}]``. The table
``RETRYABLE`` says which statuses a caller may retry; ``REQUEST_LIMIT_EXCEEDED`` (403) is
Salesforce's throttle and is surfaced as 429.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from revbridge_contracts.http import NoAnswer, Reply

from revbridge_system.errors import BadRequest, NotFound, RateLimited, Unprocessable, field_error, unavailable

RETRYABLE: dict[int, bool] = {
    400: False,
    401: False,
    403: False,
    404: False,
    409: True,
    429: True,
    500: True,
    502: True,
    503: True,
    504: True,
}
THROTTLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})


def is_retryable(status: int | None) -> bool:
    return True if status is None else RETRYABLE.get(status, status >= 500)


class SalesforceStatus(Exception):
    """Salesforce answered an error status (raised inside ``salesforce_errors``, which maps it)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"status {reply.status}")
        self.reply = reply

    @classmethod
    def check(cls, reply: Reply) -> Reply:
        """``reply`` when its status is not an error; else raises."""
        if reply.status >= 400:
            raise cls(reply)
        return reply


def first_error(reply: Reply) -> dict[str, Any]:
    """The first element of Salesforce's error array (or {} when the body is something else)."""
    try:
        body = reply.json()
    except ValueError:
        return {}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0]
    return body if isinstance(body, dict) else {}


@contextmanager
def salesforce_errors(what: str) -> Iterator[None]:
    """Map error statuses (``SalesforceStatus``) and lost answers (``NoAnswer``) raised inside the
    block; ``what`` names the call."""
    try:
        yield
    except SalesforceStatus as exc:
        reply = exc.reply
        status = reply.status
        error = first_error(reply)
        code = str(error.get("errorCode", ""))
        message = str(error.get("message", "")) or code or f"status {status}"
        if status == 429 or code in THROTTLE_CODES:
            raise RateLimited(
                f"salesforce throttled {what}", retry_after=reply.headers.get("Retry-After")
            ) from exc
        if status == 404:
            raise NotFound(f"salesforce {what}: {message}") from exc
        if status == 400:
            fields = error.get("fields") or []
            if fields:
                raise field_error(Unprocessable, str(fields[0]), message) from exc
            raise BadRequest(f"salesforce {what}: {message}") from exc
        if is_retryable(status) or status in (401, 403):
            raise unavailable("salesforce", f"{what}: status {status} {code}".strip()) from exc
        raise BadRequest(f"salesforce {what}: {message}") from exc
    except NoAnswer as exc:
        raise unavailable("salesforce", f"{what}: {exc}") from exc
