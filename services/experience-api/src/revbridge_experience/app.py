"""The experience API: revenue summary, drill-down, lineage, operations metrics and the exception
view for internal apps (reached via the gateway).

Reports read the read model (``readmodel``) in PostgreSQL, which the projector (``python -m
revbridge_experience.projector``) folds from the ledger of facts the process flows write, so no
report reads the platforms on a request. The exception view and the operations counts the
process API owns go through the process API. It serves every major version its contracts ship
(``experience-v1.yaml``, ``experience-v2.yaml``) side by side; v1's summary is deprecated, and the
gateway adds the Deprecation/Sunset headers and answers 410 after the sunset date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client import Gauge
from revbridge_contracts.experience import ApiVersions
from revbridge_contracts.metrics import Metrics, install_metrics
from revbridge_contracts.problems import UpstreamUnavailable, install_problem_handlers
from revbridge_contracts.telemetry import instrument_app, traced
from revbridge_db.engine import open_database
from starlette.staticfiles import StaticFiles

from revbridge_experience.api import audit, exceptions, lineage, operations, revenue
from revbridge_experience.fx import FxConfigError, FxRates, load_fx
from revbridge_experience.process_client import ProcessApi
from revbridge_experience.readmodel.queries import ReadModel
from revbridge_experience.settings import Settings
from revbridge_experience.versions import api_versions


def read_model_gauges(metrics: Metrics, app: FastAPI) -> None:
    """Business gauges, read from the read model at each scrape: facts folded, lag, freshness."""
    facts = Gauge(
        "revbridge_readmodel_facts", "Facts folded, by outcome", ["outcome"], registry=metrics.registry
    )
    lag = Gauge("revbridge_readmodel_lag_facts", "Ledger facts not yet folded", registry=metrics.registry)
    age = Gauge("revbridge_readmodel_age_seconds", "Seconds since the last fold", registry=metrics.registry)

    async def refresh() -> None:
        rm: ReadModel | None = getattr(app.state, "read_model", None)
        if rm is None:
            return
        try:
            stats = await rm.stats()
        except UpstreamUnavailable:  # a scrape while the database is away: keep the last values
            return
        for outcome in ("applied", "replaced", "duplicate", "stale", "bad"):
            facts.labels(outcome=outcome).set(int(stats.get(outcome, 0)))
        pending, behind = await rm.projector_lag()
        lag.set((pending or 0) + (behind or 0))
        if stats.get("folded_at_ms"):
            age.set(max(0.0, dt.datetime.now(dt.UTC).timestamp() - int(stats["folded_at_ms"]) / 1000))

    metrics.on_scrape(refresh)


def create_app(settings: Settings | None = None, fx: FxRates | None = None) -> FastAPI:
    settings = settings or Settings()
    versions = api_versions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.fx = fx or load_fx(settings.config_dir)
        async with (
            open_database() as engine,
            traced(
                httpx.AsyncClient(base_url=str(settings.process_api_url), timeout=settings.timeout_seconds)
            ) as http,
        ):
            app.state.engine = engine  # the audit trail reads it directly (api/audit.py)
            app.state.read_model = ReadModel(engine)
            app.state.process_api = ProcessApi(http)
            yield

    app = FastAPI(
        title="revbridge experience API",
        version="1.0.0",
        lifespan=lifespan,
        separate_input_output_schemas=False,
    )
    install_problem_handlers(app)
    instrument_app(app, "experience-api")
    read_model_gauges(install_metrics(app, "experience-api"), app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v2/versions", operation_id="getApiVersions", response_model=ApiVersions)
    async def served_versions() -> ApiVersions:
        return versions

    for module in (revenue, lineage, operations, exceptions, audit):
        app.include_router(module.router)
    # the dashboard page: static files (no data in them), reached as /dashboard/ through the gateway
    static = StaticFiles(directory=Path(__file__).parent / "static", html=True)
    app.mount("/dashboard", static, name="dashboard")
    return app


def main() -> None:
    import uvicorn

    settings = Settings()
    try:
        fx = load_fx(settings.config_dir)
    except FxConfigError as exc:
        raise SystemExit(f"experience API: invalid configuration: {exc}") from exc
    uvicorn.run(create_app(settings, fx), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
