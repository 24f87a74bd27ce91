"""The gateway app: composition root wiring clients, keys, contract policy, Redis and upstreams.

Everything that can be wrong in configuration (clients file, signing key, contract policy) is
loaded in ``create_app`` so a bad deployment refuses to start instead of failing on a request.
Connections (Redis, the upstream httpx client) open in the lifespan, never at import time.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from revbridge_contracts.problems import install_problem_handlers
from revbridge_contracts.telemetry import instrument_app, traced

from revbridge_gateway import oauth
from revbridge_gateway.audit import configure_logging, install_audit
from revbridge_gateway.clients import ClientsFileError, load_registry
from revbridge_gateway.deps import Admitted, Gateway, GatewayDep
from revbridge_gateway.errors import install_gateway_handlers
from revbridge_gateway.keys import KeyConfigError, load_keyring
from revbridge_gateway.paths import encode
from revbridge_gateway.policy import ContractPolicyError, build_route_table
from revbridge_gateway.proxy import Upstreams, read_body
from revbridge_gateway.ratelimit import RateLimiter
from revbridge_gateway.settings import Settings
from revbridge_gateway.tokens import TokenService

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    routes = build_route_table(settings.upstreams())
    registry = load_registry(settings.clients_file, known_scopes=routes.scopes_supported)
    keyring = load_keyring(settings.keys_dir, sandbox=settings.mode == "sandbox")
    tokens = TokenService(
        keyring,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl=settings.token_ttl_seconds,
        leeway=settings.leeway_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )
        timeout = httpx.Timeout(settings.upstream_timeout_seconds)
        async with traced(httpx.AsyncClient(timeout=timeout, follow_redirects=False)) as http:
            app.state.gateway = Gateway(
                settings=settings,
                registry=registry,
                tokens=tokens,
                routes=routes,
                limiter=RateLimiter(redis, settings.key_prefix),
                upstreams=Upstreams(http, settings.upstreams()),
            )
            try:
                yield
            finally:
                await redis.aclose()

    app = FastAPI(title="revbridge gateway", version="1.0.0", lifespan=lifespan, openapi_url=None)
    install_problem_handlers(app)
    install_gateway_handlers(app)
    install_audit(app)
    instrument_app(app, "gateway")
    app.include_router(oauth.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def gateway_route(admitted: Admitted, gateway: GatewayDep, request: Request) -> Response:
        body = await read_body(request, settings.max_body_bytes)
        segments = admitted.segments
        response = await gateway.upstreams.forward(
            request, admitted.operation.api, encode(segments[1:]), body, admitted.caller.client_id
        )
        response.headers.update(admitted.limit.headers())
        return response

    return app


def main() -> None:
    import uvicorn

    configure_logging()
    settings = Settings()
    try:
        app = create_app(settings)
    except (ClientsFileError, KeyConfigError, ContractPolicyError) as exc:
        print(f"gateway: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
