"""What a request needs, built once in the app's composition root, and its FastAPI dependency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from revbridge_gateway.auth import Authenticator
from revbridge_gateway.clients import Registry
from revbridge_gateway.idempotency import IdempotencyStore
from revbridge_gateway.policy import RouteTable
from revbridge_gateway.proxy import Upstreams
from revbridge_gateway.ratelimit import RateLimiter
from revbridge_gateway.settings import Settings
from revbridge_gateway.tokens import TokenService
from revbridge_gateway.trail import AuditTrail


@dataclass(frozen=True)
class Gateway:
    settings: Settings
    registry: Registry
    tokens: TokenService
    auth: Authenticator
    routes: RouteTable
    limiter: RateLimiter
    idempotency: IdempotencyStore
    upstreams: Upstreams
    clock: Callable[[], float]
    trail: AuditTrail


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(_gateway)]
