"""Forwarding to the experience and process APIs over one shared ``httpx.AsyncClient``.

Only an allow-list of request headers crosses (never ``Authorization``: upstreams trust the
gateway's ``X-Revbridge-Client-Id``); the W3C ``traceparent`` is added by the OpenTelemetry httpx
instrumentation. Only GET/HEAD are retried, once, and only on connect errors, where the request
provably never reached the upstream. Upstream answers pass through with their status and body.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import Request, Response
from revbridge_contracts.telemetry import CORRELATION_HEADER, correlation_id

from revbridge_gateway.errors import PayloadTooLarge, UpstreamUnavailable

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
RETRYABLE_METHODS = frozenset({"GET", "HEAD"})

log = logging.getLogger("revbridge.gateway.proxy")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
    return bytes(body)


class Upstreams:
    def __init__(self, http: httpx.AsyncClient, bases: dict[str, str]) -> None:
        self._http = http
        self._bases = bases

    async def forward(self, request: Request, api: str, path: str, body: bytes, client_id: str) -> Response:
        url = self._bases[api] + path
        if request.url.query:
            url += "?" + request.url.query
        headers = {h: v for h in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(h)) is not None}
        headers[CORRELATION_HEADER] = correlation_id() or request.headers.get(CORRELATION_HEADER, "")
        headers[CLIENT_ID_HEADER] = client_id
        attempts = 2 if request.method in RETRYABLE_METHODS else 1
        for attempt in range(1, attempts + 1):
            try:
                upstream = await self._http.request(
                    request.method, url, content=body or None, headers=headers
                )
                break
            except httpx.ConnectError as exc:
                if attempt < attempts:
                    log.info("gateway.upstream.retry", extra={"api": api, "error": type(exc).__name__})
                    continue
                raise UpstreamUnavailable(f"{api} API unreachable") from exc
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"{api} API failed: {type(exc).__name__}") from exc
        passed = {h: v for h in PASSED_RESPONSE_HEADERS if (v := upstream.headers.get(h)) is not None}
        return Response(content=upstream.content, status_code=upstream.status_code, headers=passed)
