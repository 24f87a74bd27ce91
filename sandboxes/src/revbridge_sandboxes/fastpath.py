"""Hot calls as bare ASGI handlers, served without FastAPI's router and dependency machinery.

Load tests and seeding scripts create records by the thousand; under FastAPI's middleware stack,
router and dependency resolution a simple create costs several times a health check. Each
sandbox's own middleware keeps its cross-cutting work (request log, authentication, idempotency,
headers) and, when no fault rule is active, asks ``FastRoutes.match`` whether the call is one of
its hot routes; if so it calls that handler where it would have called the app. A handler is a
plain ASGI callable that reuses the same create code as the FastAPI route, so both paths answer
the same; anything a handler does not recognise is never routed to it.

Routes are keyed by (method, exact path), or by a compiled pattern whose named groups land in
``scope["path_params"]`` (as Starlette's router puts them).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send


class FastRoutes:
    """A tiny route table: exact (method, path) first, then patterns in registration order."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], ASGIApp] = {}
        self._patterns: list[tuple[str, re.Pattern[str], ASGIApp]] = []

    def route(self, method: str, path: str) -> Callable[[ASGIApp], ASGIApp]:
        def register(handler: ASGIApp) -> ASGIApp:
            self._exact[(method, path)] = handler
            return handler

        return register

    def pattern(self, method: str, regex: str) -> Callable[[ASGIApp], ASGIApp]:
        def register(handler: ASGIApp) -> ASGIApp:
            self._patterns.append((method, re.compile(regex), handler))
            return handler

        return register

    def match(self, scope: Scope) -> ASGIApp | None:
        """The handler for this HTTP call, or None to leave it to the app."""
        method: str = scope["method"]
        path: str = scope["path"]
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler
        for wanted, regex, candidate in self._patterns:
            if wanted == method and (found := regex.match(path)) is not None:
                scope["path_params"] = found.groupdict()
                return candidate
        return None


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a (lower-case) request header, without building a Headers mapping."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
    """Send a complete answer; ``headers`` should already carry content-length/-type as needed."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
