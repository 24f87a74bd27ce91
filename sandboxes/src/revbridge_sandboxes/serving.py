"""The HTTP server protocol the sandboxes run on: uvicorn's httptools protocol, one send per answer.

uvicorn writes a response's status line and headers, then its body, as two ``transport.write``
calls, so every answer costs two ``send`` syscalls and, on loopback, wakes the client twice (once
for a head it cannot use yet). On a small machine shared with the load generator that is a large
part of a simple call's cost. ``CoalescingHttpToolsProtocol`` hands uvicorn a transport that
gathers the writes made during one event-loop step and sends them together just after it: the
same bytes, in the same order, in one syscall. Closing or aborting the connection flushes (or
drops) what is pending first, as a direct write would have been sent (or lost).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A write-gathering proxy for an ``asyncio.Transport``; everything else passes straight through."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
