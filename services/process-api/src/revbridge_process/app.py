"""The process API: onboarding, the exception queue, revenue positions and lineage (port 8002).

``create_app`` builds the app without touching the network; the lifespan is the composition
root that loads the configuration and connects Redis, PostgreSQL (``database``, default: from the
environment) and the system API client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis
from revbridge_contracts.metrics import install_metrics
from revbridge_contracts.problems import install_problem_handlers
from revbridge_contracts.telemetry import instrument_app
from revbridge_db.engine import open_database
from revbridge_db.settings import DbSettings

from revbridge_process import dimensions
from revbridge_process.api import (
    exceptions,
    onboardings,
    operations,
    reconciliations,
    replays,
    reports,
    revenue,
    usage,
)
from revbridge_process.bus import EventBus
from revbridge_process.config import Config, ConfigError, load_config
from revbridge_process.facts import PgFacts
from revbridge_process.replay import Replayer
from revbridge_process.scheduling import Reconciliations
from revbridge_process.settings import Settings
from revbridge_process.store import build_store
from revbridge_process.system_client import SystemApi, http_transport
from revbridge_process.usage.wiring import usage_service

DESCRIPTION = (
    "Orchestrates the revenue flows: onboarding (contract → billing customer and subscription → "
    "ERP customer → CRM write-back) and invoice/payment posting; the exception queue and replays."
)


def create_app(
    settings: Settings | None = None, config: Config | None = None, database: DbSettings | None = None
) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.config = config or load_config(settings.config_dir)
        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        try:
            async with (
                open_database(database) as engine,
                http_transport(str(settings.system_api_url), settings.timeout_seconds) as http,
            ):
                app.state.engine = engine
                await dimensions.seed(engine, app.state.config.mappings)
                app.state.system = SystemApi(http)
                app.state.store = build_store(redis, engine, settings, app.state.config)
                app.state.bus = EventBus(redis, settings.key_prefix, settings.stream_maxlen)
                app.state.facts = PgFacts(engine, settings.ledger_wait_seconds)
                app.state.replayer = Replayer(
                    redis, settings.key_prefix, app.state.bus, settings.stream_maxlen
                )
                app.state.reconciliations = Reconciliations(
                    redis, settings, app.state.config, app.state.system, app.state.store
                )
                app.state.usage = usage_service(
                    redis, engine, settings, app.state.config, app.state.system, app.state.store
                )
                try:
                    yield
                finally:
                    await app.state.reconciliations.aclose()
        finally:
            await redis.aclose()

    app = FastAPI(
        title="revbridge process API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    install_problem_handlers(app)
    instrument_app(app, "process-api")
    operations.operations_gauges(app, install_metrics(app, "process-api"))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (onboardings, exceptions, replays, reports, revenue, reconciliations, operations, usage):
        app.include_router(module.router)
    return app


def main() -> None:
    import uvicorn

    from revbridge_process.logs import configure_logging

    configure_logging()
    settings = Settings()
    try:
        config = load_config(settings.config_dir)
    except ConfigError as exc:
        raise SystemExit(f"process API: invalid configuration: {exc}") from exc
    uvicorn.run(create_app(settings, config), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
