"""Running reconciliations one at a time, on demand (the API) and on a schedule (the workers).

A Redis lease (``SET NX PX``, renewed while the run goes on, value: the report id) makes sure a
single run is in progress across every API replica and worker: an on-demand request while one is
running gets that run's report back. If the process holding the lease dies, the lease runs out,
and its report, still "running", reads as failed ("abandoned") from then on.

The schedule: every worker wakes up now and then, and whichever finds the latest run older than
``PROCESS_RECONCILE_INTERVAL_SECONDS`` and wins the lease runs it (a fresh deployment waits one
interval first); 0 turns the schedule off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from revbridge_contracts.process import (
    ReconciliationPair,
    ReconciliationReport,
    ReconciliationRequest,
    ReconciliationStatus,
)

from revbridge_process.config import Config
from revbridge_process.ports import ListingPort
from revbridge_process.reconcile_run import Reconciler, ReportStore
from revbridge_process.settings import Settings
from revbridge_process.store import PgStore, utcnow

LEASE_MS = 30_000
log = logging.getLogger(__name__)

# Extend or release the lease only while we hold it (compare-and-act).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """A named Redis lease with an owner token."""

    def __init__(self, redis: Redis, key: str, ttl_ms: int = LEASE_MS) -> None:
        self._redis, self.key, self.ttl_ms = redis, key, ttl_ms
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, token: str) -> bool:
        return bool(await self._redis.set(self.key, token, nx=True, px=self.ttl_ms))

    async def renew(self, token: str) -> bool:
        return bool(await self._renew(keys=[self.key], args=[token, self.ttl_ms]))

    async def release(self, token: str) -> None:
        await self._release(keys=[self.key], args=[token])

    async def holder(self) -> str | None:
        value = await self._redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


class Reconciliations:
    """Starts, runs and reports reconciliations (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        config: Config,
        system: ListingPort,
        store: PgStore,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.reports = ReportStore(store.engine, settings.ledger_wait_seconds)
        self.lease = Lease(redis, f"{settings.key_prefix}process:lock:reconciliation")
        self._reconciler = Reconciler(
            system, store, config, self.reports, settings.reconcile_max_differences, now
        )
        self._default_grace = settings.reconcile_grace_seconds
        self._now = now
        self._tasks: dict[str, asyncio.Task[ReconciliationReport]] = {}

    def _new(self, trigger: str, request: ReconciliationRequest) -> ReconciliationReport:
        grace = request.grace_seconds if request.grace_seconds is not None else self._default_grace
        return ReconciliationReport(
            id=uuid.uuid4().hex,
            status=ReconciliationStatus.running,
            trigger=trigger,
            started_at=self._now(),
            grace_seconds=grace,
            pairs=list(dict.fromkeys(request.pairs or list(ReconciliationPair))),
            phase="starting",
        )

    async def start(self, trigger: str, request: ReconciliationRequest) -> tuple[ReconciliationReport, bool]:
        """Start a run in the background: (its report, True), or (the running one's report, False)."""
        report = self._new(trigger, request)
        if not await self.lease.acquire(report.id):
            holder = await self.lease.holder()
            running = await self.reports.get(holder) if holder else None
            if running is not None:
                return running, False
            if not await self.lease.acquire(report.id):  # the holder finished meanwhile, or is no run
                raise RuntimeError("another reconciliation holds the lease")
        await self.reports.add(report)
        self._tasks[report.id] = asyncio.create_task(self._hold_and_run(report))
        self._tasks[report.id].add_done_callback(lambda _: self._tasks.pop(report.id, None))
        return report, True

    async def wait(self, report_id: str) -> ReconciliationReport | None:
        """The finished report of a run this process started (None when it is not one of ours)."""
        task = self._tasks.get(report_id)
        return await asyncio.shield(task) if task else None

    async def run_now(self, trigger: str, request: ReconciliationRequest) -> ReconciliationReport | None:
        """Run here and now if no run is going on (the schedule); None when another holds the lease."""
        report = self._new(trigger, request)
        if not await self.lease.acquire(report.id):
            return None
        await self.reports.add(report)
        return await self._hold_and_run(report)

    async def _hold_and_run(self, report: ReconciliationReport) -> ReconciliationReport:
        run = asyncio.create_task(self._reconciler.run(report))
        try:
            while not run.done():
                await asyncio.wait([run], timeout=self.lease.ttl_ms / 3000)
                if not run.done() and not await self.lease.renew(report.id):
                    run.cancel()
                    report.status, report.error = ReconciliationStatus.failed, "lost its lease to another run"
                    await self.reports.save(report)
                    break
            return await run if not run.cancelled() else report
        except asyncio.CancelledError:
            run.cancel()
            report.status, report.error = ReconciliationStatus.failed, "interrupted: the process stopped"
            report.finished_at = self._now()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.reports.save(report))
            raise
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.lease.release(report.id))

    async def get(self, report_id: str) -> ReconciliationReport | None:
        report = await self.reports.get(report_id)
        return await self._checked(report) if report else None

    async def latest(self) -> ReconciliationReport | None:
        report = await self.reports.latest()
        return await self._checked(report) if report else None

    async def _checked(self, report: ReconciliationReport) -> ReconciliationReport:
        """A report still "running" whose lease nobody holds was abandoned by a process that died."""
        if report.status == ReconciliationStatus.running and await self.lease.holder() != report.id:
            fresh = await self.reports.get(report.id)  # it may have just finished
            if fresh is not None and fresh.status != ReconciliationStatus.running:
                return fresh
            report.status = ReconciliationStatus.failed
            report.error = "abandoned: the process running it stopped"
            await self.reports.save(report)
        return report

    async def aclose(self) -> None:
        """Stop the runs this process started; each report says it was interrupted (a run cancelled
        before it began never ran its own clean-up, so it is done here)."""
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        if tasks:
            await asyncio.wait(list(tasks.values()), timeout=5)
        for report_id in tasks:
            report = await self.reports.get(report_id)
            if report is not None and report.status == ReconciliationStatus.running:
                report.status, report.error = ReconciliationStatus.failed, "interrupted: the process stopped"
                report.finished_at = self._now()
                await self.reports.save(report)
            await self.lease.release(report_id)


async def scheduled_reconciliation(
    settings: Settings,
    reconciliations: Reconciliations,
    stop: asyncio.Event,
    now: Callable[[], dt.datetime] = utcnow,
) -> None:
    """Run a reconciliation whenever the latest one is older than the interval (one worker at a time)."""
    interval = settings.reconcile_interval_seconds
    if interval <= 0:
        return
    started = now()
    check_every = min(60.0, max(1.0, interval / 10))
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=check_every)
        if stop.is_set():
            return
        try:
            latest = await reconciliations.reports.latest()
            last = latest.started_at if latest else started
            if (now() - last).total_seconds() >= interval:
                report = await reconciliations.run_now("scheduled", ReconciliationRequest())
                if report is not None:
                    log.info("reconciliation.scheduled_run", extra={"report_id": report.id})
        except Exception:  # the schedule outlives a failed attempt (Redis away, a bug): next time
            log.exception("reconciliation.schedule_failed")
