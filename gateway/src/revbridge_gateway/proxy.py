"""Forwarding to the experience and process APIs over one shared ``aiohttp.ClientSession``.

aiohttp rather than httpx because a forwarder's cost is mostly its HTTP client: measured with
``bench/gateway.py``, a minimal forwarder over aiohttp kept ~1.0x of direct throughput where the same
over an httpx AsyncClient kept ~0.3-0.4x (figures in the README). The W3C trace context
(``traceparent``, ``tracestate``, ``baggage``) is injected here with ``opentelemetry.propagate.inject``,
as the httpx instrumentation would. Only an allow-list of request headers crosses (never
``Authorization``: upstreams trust the gateway's ``X-Revbridge-Client-Id`` and ``X-Revbridge-User``,
which the gateway alone sets: a caller's own header of either name is never forwarded). Only
GET/HEAD are retried, once, and only on connect errors, where the request provably never reached
the upstream. Each upstream has its own timeout and circuit breaker; the upstream's answer passes
through with status and body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from opentelemetry.propagate import inject
from revbridge_contracts.telemetry import CORRELATION_HEADER, correlation_id
from yarl import URL

from revbridge_gateway.breaker import CircuitBreaker
from revbridge_gateway.errors import UpstreamUnavailable

FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "idempotency-key")
PASSED_RESPONSE_HEADERS = (
    "content-type",
    "location",
    "retry-after",
    "cache-control",
    "etag",
    "deprecation",
    "sunset",
    "link",
)
CLIENT_ID_HEADER = "X-Revbridge-Client-Id"
USER_HEADER = "X-Revbridge-User"
"""The token's ``sub``: the signed-in user of the dashboard's sign-in, else the client itself; the
process API records it as who acted on an exception."""
RETRYABLE_METHODS = frozenset({"GET", "HEAD"})

log = logging.getLogger("revbridge.gateway.proxy")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Upstream:
    base: str
    timeout: aiohttp.ClientTimeout
    breaker: CircuitBreaker


class Upstreams:
    def __init__(self, session: aiohttp.ClientSession, upstreams: dict[str, Upstream]) -> None:
        self._session = session
        self._upstreams = upstreams

    def breaker(self, api: str) -> CircuitBreaker:
        return self._upstreams[api].breaker

    async def forward(
        self,
        method: str,
        api: str,
        path: str,
        query: str,
        incoming: Mapping[str, str],
        body: bytes,
        client_id: str,
        user: str | None = None,
    ) -> Answer:
        upstream = self._upstreams[api]
        url = URL(upstream.base + path + (f"?{query}" if query else ""), encoded=True)
        headers = {h: v for h in FORWARDED_REQUEST_HEADERS if (v := incoming.get(h)) is not None}
        headers[CORRELATION_HEADER] = correlation_id() or incoming.get(CORRELATION_HEADER.lower(), "")
        headers[CLIENT_ID_HEADER] = client_id
        if user:
            headers[USER_HEADER] = user
        inject(headers)
        upstream.breaker.before()
        attempts = 2 if method in RETRYABLE_METHODS else 1
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.request(
                    method,
                    url,
                    data=body or None,
                    headers=headers,
                    timeout=upstream.timeout,
                    allow_redirects=False,
                ) as response:
                    content = await response.read()
                    passed = {
                        h: v for h in PASSED_RESPONSE_HEADERS if (v := response.headers.get(h)) is not None
                    }
                    upstream.breaker.success()
                    return Answer(response.status, passed, content)
            except aiohttp.ClientConnectorError as exc:
                if attempt < attempts:
                    log.info("gateway.upstream.retry", extra={"api": api, "error": type(exc).__name__})
                    continue
                upstream.breaker.failure()
                raise UpstreamUnavailable(f"{api} API unreachable") from exc
            except (TimeoutError, aiohttp.ClientError) as exc:
                upstream.breaker.failure()
                raise UpstreamUnavailable(f"{api} API failed: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")  # pragma: no cover
