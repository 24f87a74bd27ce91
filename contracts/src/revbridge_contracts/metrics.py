"""Prometheus ``/metrics`` for every revbridge HTTP service, installed with one call in each app.

``install_metrics(app, "experience-api")`` instruments every request (count by handler, method and
status class; latency histogram by handler) with prometheus-fastapi-instrumentator, adds the
process collectors, and serves the text exposition at ``GET /metrics`` (outside the OpenAPI
document). Each app gets its own registry, so several apps in one process (tests) never collide.
A service adds its business metrics to ``registry`` and, for figures read from elsewhere (Redis,
another API), registers an async ``refresh`` hook that runs before each scrape; a failing hook
is logged and the scrape still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_fastapi_instrumentator import Instrumentator

log = logging.getLogger(__name__)
METRICS_PATH = "/metrics"
Refresh = Callable[[], Awaitable[None]]


class Metrics:
    """The registry of one app and the hooks that refresh its gauges before a scrape."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self._hooks: list[Refresh] = []
        self._requests: Counter | None = None
        self._latency: Histogram | None = None
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        info = Gauge("revbridge_service_info", "The service answering", ["service"], registry=self.registry)
        info.labels(service=service).set(1)

    def observe_request(self, operation: str, method: str, status: int, seconds: float) -> None:
        """Count one request answered outside FastAPI's routing (the gateway's proxied calls),
        by operation id rather than path, so the label set stays small."""
        if self._requests is None or self._latency is None:
            self._requests = Counter(
                "revbridge_requests",
                "Requests answered outside the app's router, by operation",
                ["operation", "method", "status"],
                registry=self.registry,
            )
            self._latency = Histogram(
                "revbridge_request_duration_seconds",
                "Latency of those requests",
                ["operation"],
                registry=self.registry,
            )
        self._requests.labels(operation=operation, method=method, status=f"{status // 100}xx").inc()
        self._latency.labels(operation=operation).observe(seconds)

    def on_scrape(self, hook: Refresh) -> None:
        self._hooks.append(hook)

    async def exposition(self) -> bytes:
        for hook in self._hooks:
            try:
                await hook()
            except Exception as exc:  # a business gauge must never break the scrape
                log.warning("metrics.refresh_failed", extra={"service": self.service, "error": str(exc)})
        return generate_latest(self.registry)


def install_metrics(app: Any, service: str) -> Metrics:
    """Instrument ``app`` and serve ``/metrics``; returns its ``Metrics`` (also on ``app.state.metrics``)."""
    from fastapi import Response

    metrics = Metrics(service)
    Instrumentator(
        excluded_handlers=[METRICS_PATH, "/healthz"],
        should_group_untemplated=True,
        registry=metrics.registry,
    ).instrument(app)

    @app.get(METRICS_PATH, include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics = metrics
    return metrics
