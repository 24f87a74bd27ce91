"""Stripe failures translated into the system API's problems (``raise ... from exc``).

Which statuses are worth retrying is data (``RETRYABLE``), read by the caller's retry policy and
echoed in the problem; the SDK's own retries are off (``max_network_retries=0``) so one policy rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import stripe

from revbridge_system.errors import (
    BadRequest,
    Conflict,
    NotFound,
    RateLimited,
    Unprocessable,
    field_error,
    unavailable,
)

# HTTP status from Stripe -> should the caller retry? (Stripe-Should-Retry overrides when sent.)
RETRYABLE: dict[int, bool] = {
    400: False,
    401: False,
    402: False,
    403: False,
    404: False,
    409: True,
    424: True,
    429: True,
    500: True,
    502: True,
    503: True,
    504: True,
}


def is_retryable(status: int | None) -> bool:
    """Unknown statuses: retry 5xx, not 4xx; no status at all (connection error) retries."""
    if status is None:
        return True
    return RETRYABLE.get(status, status >= 500)


@contextmanager
def stripe_errors(what: str) -> Iterator[None]:
    """Map any ``stripe.StripeError`` raised inside the block; ``what`` names the operation."""
    try:
        yield
    except stripe.RateLimitError as exc:
        retry_after = (exc.headers or {}).get("Retry-After") if exc.headers else None
        raise RateLimited(f"stripe throttled {what}", retry_after=retry_after) from exc
    except stripe.IdempotencyError as exc:
        raise Conflict(f"stripe {what}: idempotency key reused with different parameters") from exc
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            raise NotFound(f"stripe {what}: {exc.user_message or 'no such object'}") from exc
        if exc.param:
            raise field_error(Unprocessable, exc.param, exc.user_message or "invalid") from exc
        raise BadRequest(f"stripe {what}: {exc.user_message or 'invalid request'}") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise unavailable("stripe", f"{what}: credentials rejected ({exc.http_status})") from exc
    except stripe.APIConnectionError as exc:
        raise unavailable("stripe", f"{what}: connection failed") from exc
    except stripe.StripeError as exc:
        if exc.http_status is not None and not is_retryable(exc.http_status):
            raise BadRequest(f"stripe {what}: {exc.user_message or 'rejected'}") from exc
        raise unavailable("stripe", f"{what}: status {exc.http_status}") from exc
