"""The chaos harness's own calls to the platforms, made to survive the faults it injects.

The harness plays the platforms' users (sales activating contracts, billing paying invoices), so
its writes meet the same 500s, 429s, timeouts and lost answers as revbridge's. ``call`` retries
what is safe to retry: reads, Stripe POSTs carrying an ``Idempotency-Key`` (the sandbox replays
the first answer), and writes whose outcome the caller checks itself (``accept``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx

RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
"""409 is Stripe's "idempotency key in use" while the first request is still running."""


class CallFailed(RuntimeError):
    pass


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    attempts: int = 40,
    accept: Callable[[httpx.Response], bool] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """The first answer that is a success (or that ``accept`` takes); retries faults with backoff.

    A non-retryable error status is returned as is when ``accept`` is given (the caller decides),
    and raised otherwise.
    """
    last: str = ""
    for attempt in range(attempts):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # timeouts and dropped connections
            last = type(exc).__name__
        else:
            if response.is_success or (accept is not None and accept(response)):
                return response
            if response.status_code not in RETRY_STATUSES:
                raise CallFailed(f"{method} {url}: {response.status_code} {response.text[:300]}")
            last = str(response.status_code)
            retry_after = response.headers.get("Retry-After")
            if retry_after and retry_after.isdigit():
                await asyncio.sleep(min(float(retry_after), 5.0))
                continue
        await asyncio.sleep(min(0.05 * 2**attempt, 2.0) * (0.5 + random.random()))
    raise CallFailed(f"{method} {url}: still failing after {attempts} attempts (last: {last})")


def stripe_form(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Stripe's bracketed form encoding of nested dicts and lists."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            out.update(stripe_form(value, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.update(stripe_form(item, f"{name}[{i}]"))
                else:
                    out[f"{name}[{i}]"] = str(item)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is not None:
            out[name] = str(value)
    return out
