"""The system API app: composition root for the three adapters, the event bus and the routers.

Nothing connects at import time: ``create_app`` wires routes and handlers, and the lifespan
builds the Redis client and the platform clients. Outgoing calls carry ``traceparent``: NetSuite's
httpx client is instrumented (``telemetry.traced``), Salesforce's calls inject it
(``revbridge_contracts.http``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis
from revbridge_contracts.metrics import install_metrics
from revbridge_contracts.problems import install_problem_handlers
from revbridge_contracts.telemetry import instrument_app

from revbridge_system.adapters.netsuite.budget import NetSuiteBudget
from revbridge_system.adapters.netsuite.client import NetSuiteErp
from revbridge_system.adapters.salesforce.client import SalesforceCrm
from revbridge_system.adapters.stripe.client import StripeBilling
from revbridge_system.api import billing, crm, erp, ingress, meters
from revbridge_system.bus import EventBus
from revbridge_system.errors import install_error_handlers
from revbridge_system.settings import Settings

SERVICE_NAME = "system-api"
DESCRIPTION = (
    "Wraps each platform (Salesforce, Stripe, NetSuite) behind canonical models. Called only by the process "
    "API; webhooks and callouts arrive here from the platforms themselves."
)


def netsuite_budget(redis: Redis, settings: Settings) -> NetSuiteBudget | None:
    """The account-wide NetSuite concurrency budget every replica shares (None when turned off)."""
    ns = settings.netsuite
    if not ns.concurrency_budget:
        return None
    return NetSuiteBudget(
        redis,
        settings.key_prefix,
        limit=ns.concurrency_budget,
        lease_seconds=ns.timeout_seconds + 5,
        max_wait_seconds=ns.budget_max_wait_seconds,
        cooldown_default_seconds=ns.budget_cooldown_default_seconds,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(settings.redis_url)
        app.state.settings = settings
        app.state.bus = EventBus(redis, settings.key_prefix, settings.stream_maxlen)
        app.state.billing = StripeBilling(settings.stripe)
        app.state.crm = SalesforceCrm(settings.salesforce)
        app.state.erp = NetSuiteErp(settings.netsuite, budget=netsuite_budget(redis, settings))
        try:
            yield
        finally:
            await app.state.billing.aclose()
            await app.state.crm.aclose()
            await app.state.erp.aclose()
            await redis.aclose()

    app = FastAPI(
        title="revbridge system API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    install_problem_handlers(app)
    install_error_handlers(app)
    instrument_app(app, SERVICE_NAME)
    install_metrics(app, SERVICE_NAME)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (ingress, crm, billing, erp, meters):
        app.include_router(module.router)
    return app


def main() -> None:
    import socket

    import uvicorn

    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not settings.reuse_port:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.port))
    config = uvicorn.Config(create_app(settings), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
