"""The shared Prometheus helper: request metrics, business gauges refreshed at scrape, one registry
per app (two apps in one process never collide), a failing refresh never breaks the scrape."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Gauge
from revbridge_contracts.metrics import install_metrics

# Starlette warns once per run that its TestClient wants httpx2; httpx2 is not installed because
# the netsuite SDK the conformance suite runs breaks beside it (test_netsuite_sdk.py says how).
from starlette.testclient import TestClient


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


def test_requests_are_counted_by_route_template_and_gauges_refresh_at_scrape() -> None:
    app, calls = app_with_metrics("demo-api")
    other, _ = app_with_metrics("other-api")  # same metric names, its own registry
    with TestClient(app) as client, TestClient(other):
        for i in range(3):
            assert client.get(f"/items/{i}").status_code == 200
        text = client.get("/metrics").text
    assert 'http_requests_total{handler="/items/{item_id}",method="GET",status="2xx"} 3.0' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'revbridge_service_info{service="demo-api"} 1.0' in text
    assert "demo_depth 10.0" in text and calls == [1]  # the broken hook did not stop the scrape


def test_requests_outside_the_router_are_counted_by_operation() -> None:
    app = FastAPI()
    metrics = install_metrics(app, "gateway")
    metrics.observe_request("getRevenueSummaryV2", "GET", 200, 0.012)
    metrics.observe_request("getRevenueSummaryV2", "GET", 503, 0.5)
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert 'revbridge_requests_total{method="GET",operation="getRevenueSummaryV2",status="2xx"} 1.0' in text
    assert 'revbridge_request_duration_seconds_count{operation="getRevenueSummaryV2"} 2.0' in text
