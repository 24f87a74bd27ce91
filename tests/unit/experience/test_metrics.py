"""The shared Prometheus helper: request metrics, business gauges refreshed at scrape, one registry
per app (two apps in one process never collide), a failing refresh never breaks the scrape."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import Gauge
from revbridge_contracts.metrics import install_metrics

# httpx's own ASGI transport rather than Starlette's TestClient, which is deprecated with httpx (it
# wants httpx2, not installed: the netsuite SDK the conformance suite runs breaks beside it, see
# test_netsuite_sdk.py). Nothing here needs the app's lifespan.
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def app_with_metrics(name: str) -> tuple[FastAPI, list[int]]:
    app = FastAPI()
    metrics = install_metrics(app, name)
    calls: list[int] = []
    gauge = Gauge("demo_depth", "a business figure", registry=metrics.registry)

    async def refresh() -> None:
        calls.append(1)
        gauge.set(len(calls) * 10)

    async def broken() -> None:
        raise RuntimeError("redis down")

    metrics.on_scrape(refresh)
    metrics.on_scrape(broken)

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    return app, calls


async def test_requests_are_counted_by_route_template_and_gauges_refresh_at_scrape() -> None:
    app, calls = app_with_metrics("demo-api")
    other, _ = app_with_metrics("other-api")  # same metric names, its own registry
    async with client_of(app) as client, client_of(other) as second:
        for i in range(3):
            assert (await client.get(f"/items/{i}")).status_code == 200
        assert (await second.get("/items/x")).status_code == 200
        text = (await client.get("/metrics")).text
    assert 'http_requests_total{handler="/items/{item_id}",method="GET",status="2xx"} 3.0' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'revbridge_service_info{service="demo-api"} 1.0' in text
    assert "demo_depth 10.0" in text and calls == [1]  # the broken hook did not stop the scrape


async def test_requests_outside_the_router_are_counted_by_operation() -> None:
    app = FastAPI()
    metrics = install_metrics(app, "gateway")
    metrics.observe_request("getRevenueSummaryV2", "GET", 200, 0.012)
    metrics.observe_request("getRevenueSummaryV2", "GET", 503, 0.5)
    async with client_of(app) as client:
        text = (await client.get("/metrics")).text
    assert 'revbridge_requests_total{method="GET",operation="getRevenueSummaryV2",status="2xx"} 1.0' in text
    assert 'revbridge_request_duration_seconds_count{operation="getRevenueSummaryV2"} 2.0' in text
