"""Cross-cutting wire behaviour of every call: Request-Id, injected faults (the common engine),
idempotent replays and the request log the admin API exposes (wire reference §1.1, §1.5).

Written as plain ASGI rather than ``BaseHTTPMiddleware``: the latter runs every request through
an extra task and memory stream, which costs a large share of the sandbox's throughput.
"""

from __future__ import annotations

import logging

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import faults
from .deps import presented_key
from .errors import StripeError, failed_validation
from .fastpath import FAST
from .forms import fingerprint
from .idempotency import IdempotentEntry
from .state import SandboxState, new_id

logger = logging.getLogger("revbridge.sandboxes.stripe")

LOGGED_HEADERS = ("traceparent", "idempotency-key", "stripe-version")
NOT_SAVED = frozenset({401, 409, 429})  # with parameter validation failures: see failed_validation
RATE_LIMITED = (
    "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."
)


def render_fault(status: int, rule: faults.FaultRule) -> Response:
    """An injected fault in Stripe's error shape: 429 ``rate_limit`` or a 5xx ``api_error``."""
    headers = faults.retry_after_headers(rule)
    if status == 429:
        headers.setdefault("Retry-After", "1")
        return StripeError(429, RATE_LIMITED, code="rate_limit", headers=headers).response()
    message = "An unknown error occurred (injected by the sandbox)."
    return StripeError(status, message, type="api_error", headers=headers).response()


class _Captured:
    """The inner app's response, buffered so it can be saved, replayed or dropped."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def response(self) -> Response:
        response = Response(bytes(self.body), status_code=self.status)
        response.raw_headers = [h for h in self.headers if h[0].lower() != b"content-length"] + [
            (b"content-length", str(len(self.body)).encode())
        ]
        return response


class StripeWire:
    """The ASGI middleware: faults outside, idempotency inside, then the routed handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req", 14)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        if path.startswith("/__sandbox/"):
            await self.app(scope, receive, _with_headers(send, [(b"request-id", request_id.encode())]))
            return
        state: SandboxState = scope["app"].state.sandbox
        body = await _read_body(receive)
        request = Request(scope, _replay(body))

        async def call_next(_: Request) -> Response:
            return await self._idempotent(scope, request, body, request_id, state)

        try:
            if state.faults.rules:
                response = await faults.apply(state.faults, request, call_next, render_fault)
            else:
                response = await call_next(request)
        except Exception:
            logger.exception("stripe.sandbox.unhandled", extra={"path": path, "request_id": request_id})
            response = StripeError(500, "An unknown error occurred.", type="api_error").response(request_id)
        response.headers["Request-Id"] = request_id
        if key := request.headers.get("idempotency-key"):
            response.headers["Idempotency-Key"] = key
        response.headers["Stripe-Version"] = (
            request.headers.get("stripe-version") or state.settings.api_version
        )
        state.requests.append(
            {
                "method": request.method,
                "path": path,
                "query": scope["query_string"].decode("latin-1"),
                "status": response.status_code,
                "request_id": request_id,
                "headers": {h: request.headers[h] for h in LOGGED_HEADERS if h in request.headers},
            }
        )
        await response(scope, _replay(b""), send)

    async def _run(self, scope: Scope, body: bytes, state: SandboxState) -> Response:
        captured = _Captured()
        app = (None if state.faults.rules else FAST.match(scope)) or self.app
        await app(scope, _replay(body), captured.send)
        return captured.response()

    async def _idempotent(
        self, scope: Scope, request: Request, body: bytes, request_id: str, state: SandboxState
    ) -> Response:
        """Replay the saved response of a POST whose Idempotency-Key was seen with the same params."""
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or not key:
            return await self._run(scope, body, state)
        account = state.accounts.get(presented_key(request) or "")
        if account is None:
            return await self._run(scope, body, state)
        print_ = fingerprint(request.method, scope["path"], scope["query_string"] + b"&" + body)
        entry = account.idempotent(key)
        if entry is not None:
            return _replayed(entry, print_, key, request_id)
        entry = account.idempotency.begin(key, print_)
        try:
            response = await self._run(scope, body, state)
        except BaseException:
            account.idempotency.pop(key)
            raise
        if response.status_code in NOT_SAVED or failed_validation(response.status_code, bytes(response.body)):
            account.idempotency.pop(key)
        else:
            entry.save(response.status_code, bytes(response.body))
        return response


def _replayed(entry: IdempotentEntry, print_: str, key: str, request_id: str) -> Response:
    if entry.fingerprint != print_:
        return StripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters "
            "they were first used with. "
            f"Try using a key other than '{key}' if you meant to execute a different request.",
            type="idempotency_error",
        ).response(request_id)
    if entry.status is None:
        return StripeError(
            409,
            "There is currently another in-progress request using this Stripe API key and idempotency "
            "key. Please try again later.",
            code="idempotency_key_in_use",
        ).response(request_id)
    replay = Response(entry.body, status_code=entry.status, media_type="application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


async def _read_body(receive: Receive) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return bytes(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
