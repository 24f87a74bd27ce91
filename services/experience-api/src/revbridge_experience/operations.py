"""Operations metrics: latency, sync success and cycle time from the read model; exception aging,
dead-letter depth and reconciliation drift from the process API (null when it can't answer)."""

from __future__ import annotations

import datetime as dt
import logging

from pydantic import ValidationError
from revbridge_contracts.experience import (
    OperationsMetrics,
    Percentiles,
    ReadModelHealth,
    ReconciliationDrift,
    SyncRate,
)
from revbridge_contracts.problems import ServiceError
from revbridge_contracts.process import ReconciliationReport

from revbridge_experience.process_client import ProcessApi
from revbridge_experience.readmodel.keys import PAIRS
from revbridge_experience.readmodel.queries import ReadModel

log = logging.getLogger(__name__)
RECENT_MONTHS = 3


def _rate(sources: int, synced: int) -> float | None:
    return round(min(synced, sources) / sources, 4) if sources else None


def sync_rates(counts: dict[str, int]) -> tuple[list[SyncRate], list[SyncRate]]:
    """Per (entity, flow) and per flow: sources seen and how many reached their target."""
    cells: dict[tuple[str, str], list[int]] = {}
    for name, value in counts.items():
        entity, pair, what = name.rsplit("|", 2)
        cells.setdefault((entity, pair), [0, 0])[0 if what == "src" else 1] += value
    by_entity = [
        SyncRate(flow=pair, entity=None if entity == "-" else entity, sources=s, synced=k, rate=_rate(s, k))
        for (entity, pair), (s, k) in sorted(cells.items())
    ]
    by_flow = []
    for pair in PAIRS:
        s = sum(v[0] for (_, p), v in cells.items() if p == pair)
        k = sum(v[1] for (_, p), v in cells.items() if p == pair)
        if s or k:
            by_flow.append(SyncRate(flow=pair, sources=s, synced=k, rate=_rate(s, k)))
    return by_entity, by_flow


def _ms_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC) if value else None


async def read_model_health(rm: ReadModel) -> ReadModelHealth:
    stats = await rm.stats()
    pending, lag = await rm.projector_lag()
    counts = {k: int(stats.get(k, 0)) for k in ("applied", "replaced", "duplicate", "stale", "bad")}
    return ReadModelHealth(**counts, pending=pending, lag=lag, folded_at=_ms_time(stats.get("folded_at_ms")))


def drift(report: dict[str, object] | None) -> ReconciliationDrift:
    if report is None:
        return ReconciliationDrift(available=False)
    try:
        parsed = ReconciliationReport.model_validate(report)
    except ValidationError:
        return ReconciliationDrift(available=True)
    return ReconciliationDrift(
        available=True,
        report_id=parsed.id,
        status=parsed.status.value,
        as_of=parsed.finished_at or parsed.started_at,
        differences=parsed.differences_total or parsed.counts.differences,
        by_pair={pair: counts.differences for pair, counts in parsed.by_pair.items()},
    )


async def operations_metrics(
    rm: ReadModel, process: ProcessApi, period: str | None, now: dt.datetime
) -> OperationsMetrics:
    months = [period] if period else (await rm.latency_months())[-RECENT_MONTHS:]
    n, p50, p95 = await rm.latency(months)
    cn, c50, c95 = await rm.cycle()
    by_entity, by_flow = sync_rates(await rm.sync_counts())
    metrics = OperationsMetrics(
        as_of=now,
        periods=months,
        invoice_latency=Percentiles(count=n, p50_seconds=p50, p95_seconds=p95),
        contract_to_first_bill=Percentiles(count=cn, p50_seconds=c50, p95_seconds=c95),
        sync_by_entity=by_entity,
        sync_by_flow=by_flow,
        read_model=await read_model_health(rm),
    )
    try:
        stats = await process.operations_stats()
        metrics.exception_aging, metrics.dead_letter_depth = stats.exception_aging, stats.dead_letter_depth
    except ServiceError as exc:
        log.warning("operations.process_unavailable", extra={"error": str(exc)})
    try:
        metrics.reconciliation = drift(await process.latest_reconciliation())
    except ServiceError as exc:
        log.warning("operations.reconciliation_unavailable", extra={"error": str(exc)})
    return metrics
