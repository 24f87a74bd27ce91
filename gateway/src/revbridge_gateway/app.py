"""The gateway app: composition root wiring clients, keys, contract policy, Redis and upstreams.

Everything that can be wrong in configuration (clients file, signing key, contract policy,
external issuers' plans) is loaded in ``create_app`` so a bad deployment refuses to start instead
of failing on a request. Connections (Redis, the aiohttp session to the upstreams, the external
issuers' metadata, the audit trail's PostgreSQL engine and its writer task) open in the lifespan,
never at import time; PostgreSQL is not waited for (see ``trail``). ``clock`` (wall-clock seconds) is
injectable so sunset dates can be tested without editing a contract.

What uvicorn serves is ``GatewayFront`` around the FastAPI app (see ``front``): proxied calls never
enter FastAPI. uvicorn runs with uvloop and httptools, without its access log (the audit line is the
access log) and without proxy-header rewriting (nothing in the gateway trusts ``X-Forwarded-For``);
the start-up heap is frozen out of the garbage collector's full passes (see ``main``).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import httpx
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from revbridge_contracts.metrics import install_metrics
from revbridge_contracts.problems import install_problem_handlers
from revbridge_contracts.telemetry import setup_tracing
from revbridge_db.engine import create_engine
from revbridge_db.settings import DbSettings

from revbridge_gateway import authorize, oauth
from revbridge_gateway.audit import configure_logging
from revbridge_gateway.auth import Authenticator
from revbridge_gateway.breaker import CircuitBreaker
from revbridge_gateway.clients import ClientsFileError, load_registry
from revbridge_gateway.deps import Gateway
from revbridge_gateway.errors import ContractPolicyError, install_gateway_handlers
from revbridge_gateway.external import ExternalIssuer, ExternalIssuers
from revbridge_gateway.front import GatewayFront
from revbridge_gateway.idempotency import IdempotencyStore
from revbridge_gateway.keys import KeyConfigError, keep_current, load_keyring
from revbridge_gateway.policy import build_route_table
from revbridge_gateway.proxy import Upstream, Upstreams
from revbridge_gateway.ratelimit import RateLimiter
from revbridge_gateway.settings import Settings
from revbridge_gateway.tokens import TokenService
from revbridge_gateway.trail import AuditTrail


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> GatewayFront:
    settings = settings or Settings()
    routes = build_route_table(settings.upstreams())
    registry = load_registry(settings.clients_file, known_scopes=routes.scopes_supported)
    unknown_plans = {i.plan for i in settings.external_issuers} - set(registry.plans)
    if unknown_plans:
        raise ClientsFileError(f"GATEWAY_EXTERNAL_ISSUERS: unknown plans {sorted(unknown_plans)}")
    keyring = load_keyring(
        settings.keys_dir,
        sandbox=settings.mode == "sandbox",
        rotation_seconds=settings.key_rotation_seconds,
        retain_seconds=settings.token_ttl_seconds + settings.leeway_seconds,
        clock=clock,
    )
    tokens = TokenService(
        keyring,
        clock=clock,
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
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30)
        session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))
        metadata_http = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        externals = ExternalIssuers(
            [
                ExternalIssuer(
                    config,
                    metadata_http,
                    leeway=settings.leeway_seconds,
                    cooldown=settings.external_jwks_cooldown_seconds,
                )
                for config in settings.external_issuers
            ]
        )
        await externals.start()
        db = DbSettings(pool_size=1)  # one writer task: one connection (two at most)
        trail = AuditTrail(
            create_engine(db, url=settings.database_url),
            capacity=settings.audit_backlog,
            migrate=db.migrate_on_start,
        )
        writer = asyncio.create_task(trail.run())  # never awaited before serving: see trail.py
        timeouts = settings.timeouts()
        upstreams = {
            api: Upstream(
                base=base,
                timeout=aiohttp.ClientTimeout(total=timeouts[api]),
                breaker=CircuitBreaker(api, settings.breaker_failures, settings.breaker_cooldown_seconds),
            )
            for api, base in settings.upstreams().items()
        }
        app.state.gateway = Gateway(
            settings=settings,
            registry=registry,
            tokens=tokens,
            auth=Authenticator(tokens, registry, externals, clock=clock),
            routes=routes,
            limiter=RateLimiter(redis, settings.key_prefix),
            idempotency=IdempotencyStore(
                redis, settings.key_prefix, settings.idempotency_running_ttl_seconds
            ),
            upstreams=Upstreams(session, upstreams),
            clock=clock,
            trail=trail,
        )
        rotation = asyncio.create_task(keep_current(keyring))  # turns the key schedule when idle too
        try:
            yield
        finally:
            rotation.cancel()
            await trail.close(writer, settings.audit_flush_seconds)
            await session.close()
            await metadata_http.aclose()
            await redis.aclose()

    app = FastAPI(title="revbridge gateway", version="1.0.0", lifespan=lifespan, openapi_url=None)
    install_problem_handlers(app)
    install_gateway_handlers(app)
    app.include_router(oauth.router)
    app.include_router(authorize.router(settings, routes.scopes_supported))  # browser sign-in, dashboard
    install_metrics(app, "gateway")  # on the gateway's own port, never forwarded (front.UNAUDITED)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return GatewayFront(app, setup_tracing("gateway"))


def main() -> None:
    import uvicorn

    configure_logging()
    settings = Settings()
    try:
        app = create_app(settings)
    except (ClientsFileError, KeyConfigError, ContractPolicyError) as exc:
        print(f"gateway: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    # The ~100k objects built so far (modules, contracts, compiled schemas) live as long as the
    # process: frozen, a full collection no longer walks them (measured ~100 ms per collection here,
    # every in-flight call stalled meanwhile; 0 ms frozen). Only here, not in create_app, so tests
    # that build many apps in one process don't pin each one's garbage.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
