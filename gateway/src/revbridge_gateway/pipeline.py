"""The gateway's request pipeline: every policy a proxied call passes, in order, in one function.

path normalised (400) → route from the contracts (404/405) → bearer token (401) → rate limit by
client (429, 503) → audience and scopes (403) → sunset (410) → body size (413) → request schemas
(422/415) → Idempotency-Key (400/409/422, or the stored answer) → circuit breaker and proxy (503).
Plain calls rather than FastAPI dependencies: the order is visible here and nothing is resolved per
request that could be built at start-up. What each step learns goes on ``request.state`` for the
audit line; rate-limit and deprecation headers ride on every answer, errors included.
"""

from __future__ import annotations

from fastapi import Request, Response

from revbridge_gateway.deps import Gateway
from revbridge_gateway.errors import AudienceForbidden, Gone, InsufficientScope, RateLimited
from revbridge_gateway.idempotency import REPLAYED_HEADER, Claim, Stored, fingerprint
from revbridge_gateway.paths import encode, normalise
from revbridge_gateway.policy import Operation
from revbridge_gateway.proxy import read_body
from revbridge_gateway.tokens import Caller


async def _admit(request: Request, gateway: Gateway, operation: Operation, caller: Caller) -> None:
    if operation.rate_limit is not None:
        bucket, limit = operation.operation_id, operation.rate_limit
    else:
        plan = caller.plan or gateway.registry.clients[caller.client_id].plan
        bucket, limit = "plan", gateway.registry.plans[plan].requests_per_minute
    decision = await gateway.limiter.hit(caller.client_id, bucket, limit, request.method)
    request.state.extra_headers = extra = decision.headers()
    if not decision.allowed:
        raise RateLimited(f"limit of {limit} requests per minute reached for {caller.client_id}")
    if not operation.allows_audience(caller.audience):
        raise AudienceForbidden(f"{operation.operation_id} is not available to {caller.audience} clients")
    if not operation.allows_scopes(caller.scopes):
        raise InsufficientScope(sorted(operation.requirements[0]))
    if operation.deprecation is not None:
        extra.update(operation.deprecation.headers())
        if operation.deprecation.gone(gateway.clock()):
            raise Gone(f"{operation.operation_id} was retired on {extra['Sunset']}; see its successor")


async def handle(request: Request, gateway: Gateway) -> Response:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    segments = normalise(raw.decode("latin-1").split("?", 1)[0])
    operation, params = gateway.routes.resolve(request.method, segments)
    request.state.operation_id = operation.operation_id
    caller = await gateway.auth.authenticate(request.headers.get("authorization"))
    request.state.client_id = caller.client_id
    await _admit(request, gateway, operation, caller)

    body = await read_body(request, gateway.settings.max_body_bytes)
    headers = request.headers
    parsed = None
    if operation.request is not None:
        parsed = operation.request.check(
            params, request.query_params, headers, headers.get("content-type"), body
        )
    path = encode(segments[1:])
    claim: Claim | None = None
    if operation.idempotency_required:
        fp = fingerprint(request.method, path, parsed, body)
        found = await gateway.idempotency.claim(caller.client_id, headers.get("idempotency-key"), fp)
        if isinstance(found, Stored):
            replayed = {**found.headers, **request.state.extra_headers, REPLAYED_HEADER: "true"}
            return Response(found.body, status_code=found.status, headers=replayed)
        claim = found
    try:
        answer = await gateway.upstreams.forward(
            request.method, operation.api, path, request.url.query, headers, body, caller.client_id
        )
    except BaseException:
        if claim is not None:
            await gateway.idempotency.release(claim)
        raise
    if claim is not None:
        await gateway.idempotency.finish(claim, answer.status, answer.headers, answer.body)
    return Response(
        answer.body, status_code=answer.status, headers={**answer.headers, **request.state.extra_headers}
    )
