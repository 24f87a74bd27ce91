"""The gateway's request pipeline: every policy a proxied call passes, in order, in one function.

path normalised (400) → route from the contracts (404/405) → bearer token (401) → rate limit by
client (429, 503) → audience and scopes (403) → sunset (410) → body size (413) → request schemas
(422/415) → Idempotency-Key (400/409/422, or the stored answer) → circuit breaker and proxy (503).
Plain calls on the raw ASGI scope rather than FastAPI dependencies or Starlette ``Request`` objects:
the order is visible here and nothing is built per request that could be built at start-up. What
each step learns goes on the ``Call`` for the audit line and the audit trail (``trail``); rate-limit and
deprecation headers ride on every answer, errors included.

Reads overlap their rate-limit round trip with the upstream call. For a GET or HEAD whose budget had
plenty left at this replica's last decision (``RateLimiter.has_headroom``), the local checks run
first (audience, scopes, sunset, body, schemas), then the upstream call starts while the Redis
decision is still on its way; the answer is released only once the decision admits it. A refused
read answers 429 exactly as before (and a failed local check still loses to a 429), so no policy
changes; what a refusal costs is one upstream read whose answer is thrown away, which a read can
afford and only happens when the budget ran out faster than this replica last saw (other replicas,
or more reads in flight at once than the tenth of the budget held in reserve). Measured
on this 2-CPU machine (two gateways in one interleaved run): 1.1-1.4x the throughput and 0.3-1.3 ms
less p50 at concurrency 4 than waiting for the decision first. Writes always wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from revbridge_gateway.deps import Gateway
from revbridge_gateway.errors import (
    AudienceForbidden,
    GatewayError,
    Gone,
    InsufficientScope,
    PayloadTooLarge,
    RateLimited,
)
from revbridge_gateway.idempotency import REPLAYED_HEADER, Claim, Stored, fingerprint
from revbridge_gateway.paths import encode, normalise
from revbridge_gateway.policy import Operation
from revbridge_gateway.proxy import Answer
from revbridge_gateway.ratelimit import Decision
from revbridge_gateway.tokens import Caller
from revbridge_gateway.trail import BODY_KEYS, WRITES

EMPTY_QUERY: dict[str, str] = {}
READS = frozenset({"GET", "HEAD"})


@dataclass(slots=True)
class Call:
    """One proxied request as the pipeline sees it, read once from the ASGI scope.

    ``headers`` has lower-case names and the first value of a repeated header (as Starlette's
    ``Headers.get``), so every step reads the same value the policy checked.
    """

    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    receive: Receive
    client_id: str | None = None
    subject: str | None = None  # the token's ``sub``: the signed-in user, or the client itself
    operation_id: str | None = None
    business_key: str | None = None  # what the audit row names (see ``_business_key``)
    extra_headers: dict[str, str] = field(default_factory=dict)


async def read_body(call: Call, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes whatever Content-Length claims."""
    declared = call.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    body = b""
    while True:
        message = await call.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()  # the caller went away: nothing goes upstream
        chunk = message.get("body", b"")
        if chunk:
            body += chunk
            if len(body) > limit:
                raise PayloadTooLarge(f"body larger than {limit} bytes")
        if not message.get("more_body", False):
            return body


def _budget(gateway: Gateway, operation: Operation, caller: Caller) -> tuple[str, int]:
    """Which budget the call spends: the operation's own ``x-rate-limit``, else the client's plan."""
    if operation.rate_limit is not None:
        return operation.operation_id, operation.rate_limit
    plan = caller.plan or gateway.registry.clients[caller.client_id].plan
    return "plan", gateway.registry.plans[plan].requests_per_minute


def _count(call: Call, decision: Decision, caller: Caller) -> None:
    """Put the rate-limit headers first on the answer; 429 if the budget is spent."""
    call.extra_headers = {**decision.headers(), **call.extra_headers}
    if not decision.allowed:
        raise RateLimited(f"limit of {decision.limit} requests per minute reached for {caller.client_id}")


def _policy(call: Call, gateway: Gateway, operation: Operation, caller: Caller) -> None:
    """Audience (403), scopes (403) and sunset (410); deprecation headers once the caller may see them."""
    if not operation.allows_audience(caller.audience):
        raise AudienceForbidden(f"{operation.operation_id} is not available to {caller.audience} clients")
    if not operation.allows_scopes(caller.scopes):
        raise InsufficientScope(sorted(operation.requirements[0]))
    if operation.deprecation is not None:
        extra = operation.deprecation.headers()
        call.extra_headers.update(extra)
        if operation.deprecation.gone(gateway.clock()):
            raise Gone(f"{operation.operation_id} was retired on {extra['Sunset']}; see its successor")


async def _request(
    call: Call, gateway: Gateway, operation: Operation, params: dict[str, str]
) -> tuple[bytes, Any]:
    """The body (413 past the limit) and its parsed JSON, checked against the schemas (422/415)."""
    body = await read_body(call, gateway.settings.max_body_bytes)
    if operation.request is None:
        return body, None
    query = QueryParams(call.query_string) if call.query_string else EMPTY_QUERY
    headers = call.headers
    return body, operation.request.check(params, query, headers, headers.get("content-type"), body)


def _business_key(call: Call, params: dict[str, str], parsed: Any = None) -> str | None:
    """The business object a write names, for the audit trail: the path's last parameter (an
    exception id), else a body field naming one (a contract id), else the Idempotency-Key."""
    if params:
        return list(params.values())[-1]
    if isinstance(parsed, dict):
        for name in BODY_KEYS:
            if isinstance(value := parsed.get(name), str):
                return value
    return call.headers.get("idempotency-key")


async def handle(call: Call, gateway: Gateway) -> Answer:
    segments = normalise(call.raw_path)
    operation, params = gateway.routes.resolve(call.method, segments)
    call.operation_id = operation.operation_id
    if call.method in WRITES:
        call.business_key = _business_key(call, params)
    caller = await gateway.auth.authenticate(call.headers.get("authorization"))
    call.client_id, call.subject = caller.client_id, caller.subject
    bucket, limit = _budget(gateway, operation, caller)
    decision = gateway.limiter.hit(caller.client_id, bucket, limit, call.method)
    if call.method in READS and gateway.limiter.has_headroom(caller.client_id, bucket, limit):
        return await _overlapped_read(call, gateway, operation, caller, segments, params, decision)
    _count(call, await decision, caller)
    _policy(call, gateway, operation, caller)
    body, parsed = await _request(call, gateway, operation, params)
    if call.method in WRITES and not params:
        call.business_key = _business_key(call, params, parsed)
    path = encode(segments[1:])
    claim: Claim | None = None
    if operation.idempotency_required:
        fp = fingerprint(call.method, path, parsed, body)
        found = await gateway.idempotency.claim(caller.client_id, call.headers.get("idempotency-key"), fp)
        if isinstance(found, Stored):
            return Answer(found.status, {**found.headers, REPLAYED_HEADER: "true"}, found.body)
        claim = found
    try:
        answer = await gateway.upstreams.forward(
            call.method,
            operation.api,
            path,
            call.query_string,
            call.headers,
            body,
            caller.client_id,
            caller.subject,
        )
    except BaseException:
        if claim is not None:
            await gateway.idempotency.release(claim)
        raise
    if claim is not None:
        await gateway.idempotency.finish(claim, answer.status, answer.headers, answer.body)
    return answer


async def _overlapped_read(
    call: Call,
    gateway: Gateway,
    operation: Operation,
    caller: Caller,
    segments: tuple[str, ...],
    params: dict[str, str],
    decision: Coroutine[Any, Any, Decision],
) -> Answer:
    """A read whose upstream call runs while its rate-limit decision is on its way (see the docstring)."""
    try:
        _policy(call, gateway, operation, caller)
        body, _ = await _request(call, gateway, operation, params)
    except GatewayError:
        _count(call, await decision, caller)  # a spent budget answers 429 first, as it would in order
        raise
    except BaseException:  # the caller went away (or we are cancelled) before anything was counted
        decision.close()
        raise
    upstream = asyncio.ensure_future(
        gateway.upstreams.forward(
            call.method,
            operation.api,
            encode(segments[1:]),
            call.query_string,
            call.headers,
            body,
            caller.client_id,
            caller.subject,
        )
    )
    try:
        _count(call, await decision, caller)
    except BaseException:
        upstream.cancel()
        with contextlib.suppress(BaseException):
            await upstream  # its answer (or error) is dropped: the call was not admitted
        raise
    return await upstream
