"""The process API's own errors: what the system API's answers mean to a flow.

Each error carries its ``error_class`` for the exception queue, and the three tuples at the end
say how the worker disposes of each kind, so retry decisions are data, not status checks
scattered through the flows.
"""

from __future__ import annotations

from revbridge_contracts.problems import Conflict, NotFound, ServiceError, UpstreamUnavailable
from revbridge_contracts.process import ErrorClass


class SystemNotFound(NotFound):
    """The system of record has no such record (a 404 from the system API)."""

    error_class = ErrorClass.validation


class SystemConflict(Conflict):
    """The target refused the write for now (e.g. the ERP customer does not exist yet); retry later."""

    error_class = ErrorClass.conflict


class SystemRejected(ServiceError):
    """The system API rejected our command (422 or another 4xx): a bug or bad data, not transient."""

    status = 502
    title = "Rejected by the system API"
    error_class = ErrorClass.validation


class SystemUnavailable(UpstreamUnavailable):
    """503, 5xx, timeouts and lost connections: worth retrying, after ``retry_after`` when given."""

    error_class = ErrorClass.upstream_unavailable

    def __init__(self, detail: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class SystemRateLimited(SystemUnavailable):
    """429: the platform's budget is spent; Retry-After says when to come back."""

    error_class = ErrorClass.rate_limited


class FlowFailure(ServiceError):
    """A business rule stopped the flow (mapping missing, wrong entity...): a person has to act."""

    status = 422
    title = "Flow stopped"

    def __init__(self, error_class: ErrorClass, reason: str) -> None:
        super().__init__(reason)
        self.error_class = error_class
        self.reason = reason


class InvalidField(ServiceError):
    """A request field that is well-formed but not acceptable (e.g. an owner team nobody configured)."""

    status = 422
    title = "Invalid request"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}", invalid_params=[{"name": name, "reason": reason}])


class InvalidTransition(Conflict):
    """The exception record's status does not allow the action asked for."""

    title = "Invalid transition"


TRANSIENT: tuple[type[Exception], ...] = (SystemUnavailable,)
"""Retried in-process with backoff, then left pending for redelivery."""

DEFERRED: tuple[type[Exception], ...] = (SystemConflict,)
"""Not retried in-process: the message stays pending and is reclaimed later, when the world moved on."""

BUSINESS: tuple[type[Exception], ...] = (FlowFailure, SystemNotFound, SystemRejected)
"""Recorded as an exception with an owner and acknowledged: retrying changes nothing until someone acts."""


def error_class_of(exc: BaseException) -> ErrorClass:
    """The exception-queue class of any error; ``unknown`` for errors that are not ours."""
    value = getattr(exc, "error_class", None)
    return value if isinstance(value, ErrorClass) else ErrorClass.unknown
