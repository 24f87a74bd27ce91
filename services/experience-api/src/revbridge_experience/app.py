"""The experience API: revenue summary and lineage for internal apps (reached via the gateway).

It serves every major version its contracts ship (``experience-v1.yaml``, ``experience-v2.yaml``)
side by side; v1's summary is deprecated, and the gateway adds the Deprecation/Sunset headers and
answers 410 after the sunset date, so this app only declares ``deprecated`` in its OpenAPI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Path, Request
from revbridge_contracts.experience import ApiVersions, LineageView, RevenueSummary, RevenueSummaryV2
from revbridge_contracts.problems import install_problem_handlers
from revbridge_contracts.telemetry import instrument_app, traced

from revbridge_experience import reports
from revbridge_experience.process_client import ProcessApi
from revbridge_experience.settings import Settings
from revbridge_experience.versions import api_versions


def _process_api(request: Request) -> ProcessApi:
    return request.app.state.process_api


Process = Annotated[ProcessApi, Depends(_process_api)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    versions = api_versions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with traced(
            httpx.AsyncClient(base_url=str(settings.process_api_url), timeout=settings.timeout_seconds)
        ) as http:
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

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/v1/revenue/summary",
        operation_id="getRevenueSummary",
        response_model=RevenueSummary,
        deprecated=True,
    )
    async def revenue_summary(process: Process) -> RevenueSummary:
        return reports.revenue_summary(await process.revenue_positions())

    @app.get(
        "/v1/lineage/contracts/{contract_id}",
        operation_id="getContractLineageView",
        response_model=LineageView,
    )
    async def contract_lineage(contract_id: str, process: Process) -> LineageView:
        return reports.lineage_view(await process.contract_lineage(contract_id))

    @app.get("/v2/revenue/summary", operation_id="getRevenueSummaryV2", response_model=RevenueSummaryV2)
    async def revenue_summary_v2(process: Process) -> RevenueSummaryV2:
        return reports.revenue_summary_v2(await process.revenue_positions())

    @app.get("/v2/versions", operation_id="getApiVersions", response_model=ApiVersions)
    async def served_versions() -> ApiVersions:
        return versions

    @app.get(
        "/v2/lineage/contracts/{contract_id}",
        operation_id="getContractLineageViewV2",
        response_model=LineageView,
    )
    async def contract_lineage_v2(
        contract_id: Annotated[str, Path(min_length=1, max_length=64)], process: Process
    ) -> LineageView:
        return reports.lineage_view(await process.contract_lineage(contract_id))

    return app


def main() -> None:
    import os

    import uvicorn

    uvicorn.run(
        create_app(),
        host=os.environ.get("EXPERIENCE_HOST", "127.0.0.1"),
        port=int(os.environ.get("EXPERIENCE_PORT", "8003")),
        log_level="warning",
    )


if __name__ == "__main__":
    main()
