"""The worker's HTTP transport to the system API, on real sockets: what it puts on the wire (the
quoted path as given, the query, the JSON body, the trace context and the correlation id), and that
no answer — a refused connection, a peer that never answers, a connection cut mid-answer — is
``SystemUnavailable``, which the flows retry, never another exception."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from opentelemetry import baggage, context
from revbridge_contracts.telemetry import CORRELATION_KEY, setup_tracing
from revbridge_process.errors import SystemUnavailable
from revbridge_process.system_client import http_transport

pytestmark = pytest.mark.anyio
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def peer(handle: Handler) -> AsyncIterator[str]:
    """A raw TCP peer on a free port running ``handle`` for each connection."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


async def _read_request(reader: asyncio.StreamReader) -> tuple[list[str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
    length = next((int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:")), 0)
    return head, await reader.readexactly(length)


async def test_the_request_carries_the_quoted_path_query_body_and_trace_context() -> None:
    seen: list[tuple[list[str], bytes]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        body = b'{"ok": true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    tracer = setup_tracing("test-system-transport")
    async with peer(answer) as base, http_transport(base, 5.0) as transport:
        token = context.attach(baggage.set_baggage(CORRELATION_KEY, "corr-42"))
        try:
            with tracer.start_as_current_span("flow") as span:
                trace_id = format(span.get_span_context().trace_id, "032x")
                reply = await transport.send("PUT", "/v1/erp/invoices/in%2F1", {"limit": "5"}, b'{"a":1}')
        finally:
            context.detach(token)
    assert (reply.status, json.loads(reply.body)) == (200, {"ok": True})
    ((head, body),) = seen
    assert head[0] == "PUT /v1/erp/invoices/in%2F1?limit=5 HTTP/1.1"
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if ":" in h)}
    assert headers["content-type"] == "application/json" and json.loads(body) == {"a": 1}
    assert trace_id in headers["traceparent"]
    assert "corr-42" in headers["baggage"]


async def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with http_transport(f"http://127.0.0.1:{port}", 2.0) as transport:
        with pytest.raises(SystemUnavailable):
            await transport.send("GET", "/v1/crm/contracts/800", None, None)


async def test_a_peer_that_never_answers_is_unavailable_after_the_timeout() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(30)

    async with peer(hang) as base, http_transport(base, 0.5) as transport:
        started = asyncio.get_running_loop().time()
        with pytest.raises(SystemUnavailable):
            await transport.send("PUT", "/v1/erp/invoices/in_1", None, b"{}")
        assert asyncio.get_running_loop().time() - started < 5


async def test_a_connection_cut_mid_answer_is_unavailable() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"partial":')
        await writer.drain()
        writer.transport.abort()

    async with peer(cut) as base, http_transport(base, 5.0) as transport:
        with pytest.raises(SystemUnavailable):
            await transport.send("PUT", "/v1/erp/invoices/in_1", None, b"{}")
