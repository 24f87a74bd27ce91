"""``/v1/operations/stats``: the counts the operations dashboard needs from the process side —
live exceptions per owner team by age, and the dead-letter depth — in one cheap call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from prometheus_client import Gauge
from revbridge_contracts.metrics import Metrics
from revbridge_contracts.process import ExceptionRecord, ExceptionStatus, OperationsStats, OwnerAging

from revbridge_process.deps import ReplayService, Store, closed_query
from revbridge_process.exception_queue import Filters

router = APIRouter(dependencies=[Depends(closed_query)])
BUCKETS = ((3600, "lt_1h"), (86_400, "1h_24h"), (7 * 86_400, "1d_7d"))


def _bucket(age_seconds: float) -> str:
    return next((name for limit, name in BUCKETS if age_seconds < limit), "gt_7d")


def aging(records: list[ExceptionRecord], now: dt.datetime) -> list[OwnerAging]:
    owners: dict[str, OwnerAging] = {}
    for record in records:
        if record.status not in (ExceptionStatus.open, ExceptionStatus.retrying):
            continue
        row = owners.setdefault(record.owner, OwnerAging(owner=record.owner))
        if record.status == ExceptionStatus.open:
            row.open += 1
        else:
            row.retrying += 1
        row.overdue += record.sla_due < now
        if row.oldest_first_seen is None or record.first_seen < row.oldest_first_seen:
            row.oldest_first_seen = record.first_seen
        bucket = _bucket((now - record.first_seen).total_seconds())
        row.age_buckets[bucket] = row.age_buckets.get(bucket, 0) + 1
    return [owners[name] for name in sorted(owners)]


@router.get("/v1/operations/stats", operation_id="getOperationsStats", response_model=OperationsStats)
async def operations_stats(store: Store, replayer: ReplayService) -> OperationsStats:
    now = dt.datetime.now(dt.UTC)
    records = await store.list_exceptions(filters=Filters(live=True))  # resolved ones are kept for years
    depth = await replayer.dead_letter_depth()
    return OperationsStats(as_of=now, exception_aging=aging(records, now), dead_letter_depth=depth)


def operations_gauges(app: Any, metrics: Metrics) -> None:
    """Business gauges of the process API, read at each scrape: live exceptions and dead letters."""
    live = Gauge(
        "revbridge_exceptions_live",
        "Open or retrying exceptions",
        ["flow", "status"],
        registry=metrics.registry,
    )
    dead = Gauge(
        "revbridge_dead_letter_depth", "Entries on the dead-letter stream", registry=metrics.registry
    )

    async def refresh() -> None:
        records = await app.state.store.list_exceptions(filters=Filters(live=True))
        counts: dict[tuple[str, str], int] = {}
        for record in records:
            if record.status in (ExceptionStatus.open, ExceptionStatus.retrying):
                counts[(record.flow, str(record.status))] = (
                    counts.get((record.flow, str(record.status)), 0) + 1
                )
        live.clear()
        for (flow, status), n in counts.items():
            live.labels(flow=flow, status=status).set(n)
        dead.set(await app.state.replayer.dead_letter_depth())

    metrics.on_scrape(refresh)
