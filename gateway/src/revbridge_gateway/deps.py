"""The gateway's request pipeline as FastAPI dependencies, in the order the checks run.

route (404/405) → bearer token (401) → rate limit by client (429/503) → scope and audience (403).
Each step records what it learned on ``request.state`` for the audit line, and the rate-limit
headers ride along on error answers too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from revbridge_gateway.clients import Registry
from revbridge_gateway.errors import (
    AudienceForbidden,
    InsufficientScope,
    InvalidToken,
    MissingToken,
    RateLimited,
)
from revbridge_gateway.paths import normalise
from revbridge_gateway.policy import Operation, RouteTable
from revbridge_gateway.proxy import Upstreams
from revbridge_gateway.ratelimit import Decision, RateLimiter
from revbridge_gateway.settings import Settings
from revbridge_gateway.tokens import Caller, TokenService


@dataclass(frozen=True)
class Gateway:
    """Everything a request needs, built once in the app's composition root."""

    settings: Settings
    registry: Registry
    tokens: TokenService
    routes: RouteTable
    limiter: RateLimiter
    upstreams: Upstreams


@dataclass(frozen=True)
class Admission:
    operation: Operation
    segments: tuple[str, ...]
    caller: Caller
    limit: Decision


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]


def resolve_operation(request: Request, gateway: GatewayDep) -> tuple[Operation, tuple[str, ...]]:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    segments = normalise(raw.decode("latin-1").split("?", 1)[0])
    operation = gateway.routes.match(request.method, segments)
    request.state.operation_id = operation.operation_id
    return operation, segments


def authenticate(request: Request, gateway: GatewayDep) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise MissingToken()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected 'Authorization: Bearer <token>'")
    caller = gateway.tokens.verify(token.strip())
    if caller.client_id not in gateway.registry.clients:
        raise InvalidToken("client no longer registered")
    request.state.client_id = caller.client_id
    return caller


Resolved = Annotated[tuple[Operation, tuple[str, ...]], Depends(resolve_operation)]
Authenticated = Annotated[Caller, Depends(authenticate)]


async def admit(
    request: Request, gateway: GatewayDep, resolved: Resolved, caller: Authenticated
) -> Admission:
    operation, segments = resolved
    client = gateway.registry.clients[caller.client_id]
    if operation.rate_limit is not None:
        bucket, limit = operation.operation_id, operation.rate_limit
    else:
        bucket, limit = "plan", gateway.registry.plan_of(client).requests_per_minute
    decision = await gateway.limiter.hit(caller.client_id, bucket, limit, request.method)
    request.state.extra_headers = decision.headers()
    if not decision.allowed:
        raise RateLimited(f"limit of {limit} requests per minute reached for {caller.client_id}")
    if not operation.allows_audience(caller.audience):
        raise AudienceForbidden(f"{operation.operation_id} is not available to {caller.audience} clients")
    if not operation.allows_scopes(caller.scopes):
        raise InsufficientScope(sorted(operation.requirements[0]))
    return Admission(operation=operation, segments=segments, caller=caller, limit=decision)


Admitted = Annotated[Admission, Depends(admit)]
