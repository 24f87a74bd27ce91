"""Reconciliation runs against a real Redis (the lease) and PostgreSQL (reports, exceptions), listings
from a hand-written fake of the system API's listing port: one run at a time across replicas, a dead
runner's report reads as abandoned, the schedule runs when due, differences become owned exceptions
(an already-owned one is not filed twice), a record that matches again has its exception resolved,
and every report is kept (no 30-day or 20-run limit)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.models import (
    BillingEventPage,
    ContractPage,
    CreditNotePage,
    DisputePage,
    ErpTransaction,
    ErpTransactionPage,
    Invoice,
    InvoicePage,
    Refund,
    RefundPage,
    SubscriptionPage,
)
from revbridge_contracts.process import (
    ErrorClass,
    ReconciliationRequest,
    ReconciliationStatus,
)
from revbridge_db.audit import AuditFilter, page
from revbridge_process.errors import SystemUnavailable
from revbridge_process.scheduling import Reconciliations, scheduled_reconciliation
from revbridge_process.settings import Settings
from revbridge_process.store import PgStore
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import make_store, repo_config
from tests.support.redis import REDIS_URL
from tests.unit.process.fakes import NOW, invoice

pytestmark = pytest.mark.anyio
INVOICES = ("in_ok", "in_gone", "in_held")


class FakeListings:
    """Implements ``ports.ListingPort`` in memory; ``gate`` holds every listing until it is set."""

    def __init__(self) -> None:
        self.invoices: list[Invoice] = [invoice(i, number=None) for i in INVOICES]
        self.erp: dict[str, list[ErpTransaction]] = {
            "invoice": [self.erp_invoice("in_ok", "1")],
            "payment": [],
            "credit_memo": [],
            "refund": [],
        }
        self.refunds: list[Refund] = []
        self.gate = asyncio.Event()
        self.gate.set()

    @staticmethod
    def erp_invoice(external_id: str, internal_id: str) -> ErpTransaction:
        return ErpTransaction(
            record_type="invoice",
            internal_id=internal_id,
            external_id=external_id,
            total=300000,
            currency="USD",
            status="B",
        )

    async def list_billing_events(self, *args: Any, **kwargs: Any) -> BillingEventPage:
        return BillingEventPage(items=[])

    async def list_contracts_in_range(self, *args: Any, **kwargs: Any) -> ContractPage:
        await self.gate.wait()
        return ContractPage(items=[])

    async def list_subscriptions(self, account: str, cursor: str | None = None) -> SubscriptionPage:
        return SubscriptionPage(items=[])

    async def list_invoice_summaries(self, account: str, cursor: str | None = None) -> InvoicePage:
        await self.gate.wait()
        return InvoicePage(items=self.invoices if account == "default" else [])

    async def list_credit_notes(self, account: str, cursor: str | None = None) -> CreditNotePage:
        return CreditNotePage(items=[])

    async def list_refunds(self, account: str, cursor: str | None = None) -> RefundPage:
        return RefundPage(items=self.refunds if account == "default" else [])

    async def list_disputes(self, account: str, cursor: str | None = None) -> DisputePage:
        return DisputePage(items=[])

    async def list_erp_transactions(self, record_type: str, cursor: str | None = None) -> ErpTransactionPage:
        return ErpTransactionPage(items=self.erp[record_type])


@pytest.fixture
def settings(prefix: str) -> Settings:
    return Settings(REDIS_URL=REDIS_URL, REVBRIDGE_KEY_PREFIX=prefix, reconcile_grace_seconds=0)


Replica = Callable[..., tuple[Reconciliations, PgStore]]


@pytest.fixture
def replica(redis: Redis, engine: AsyncEngine, settings: Settings) -> Replica:
    """A process running reconciliations (an API replica or a worker), on the test's Redis and database."""

    def make(
        listings: FakeListings, now: Callable[[], dt.datetime] = lambda: NOW + dt.timedelta(days=1)
    ) -> tuple[Reconciliations, PgStore]:
        store = make_store(engine, redis, settings.key_prefix)
        return Reconciliations(redis, settings, repo_config(), listings, store, now=now), store

    return make


async def _finished(service: Reconciliations, report_id: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        report = await service.get(report_id)
        if report is not None and report.status != ReconciliationStatus.running:
            return report
        assert time.monotonic() < deadline, "the run never finished"
        await asyncio.sleep(0.01)


async def test_one_run_at_a_time_and_a_second_request_joins_it(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    listings = FakeListings()
    listings.gate.clear()  # the first run stays in its listings until released
    first, _ = replica(listings)
    second, _ = replica(listings)

    report, started = await first.start("on_demand", ReconciliationRequest())
    joined, started_again = await second.start("on_demand", ReconciliationRequest())
    assert started and not started_again and joined.id == report.id
    assert await second.run_now("scheduled", ReconciliationRequest()) is None  # the schedule backs off too
    listings.gate.set()

    done = await _finished(second, report.id)
    assert done.status == ReconciliationStatus.completed and done.progress == 1
    assert (await second.latest()).id == report.id  # type: ignore[union-attr]
    assert await redis.get(first.lease.key) is None  # released when the run ended


async def test_a_run_whose_process_died_reads_as_abandoned(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    listings = FakeListings()
    listings.gate.clear()
    service, _ = replica(listings)
    report, _ = await service.start("on_demand", ReconciliationRequest())
    await service.aclose()  # the process stops: its run is interrupted and says so
    stopped = await service.get(report.id)
    assert stopped is not None and stopped.status == ReconciliationStatus.failed
    assert stopped.error and "interrupted" in stopped.error

    # a runner killed outright leaves "running" behind; once its lease is gone the report says so
    crashed = service._new("on_demand", ReconciliationRequest())
    await service.reports.add(crashed)
    seen = await service.get(crashed.id)
    assert seen is not None and seen.status == ReconciliationStatus.failed
    assert seen.error and "abandoned" in seen.error


async def test_differences_become_owned_exceptions_and_are_resolved_once_matched(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    listings = FakeListings()
    service, store = replica(listings)
    await store.record_exception("invoice_posting", "in_held", ErrorClass.mapping_missing, "no mapping for X")

    report, _ = await service.start("on_demand", ReconciliationRequest(pairs=["invoice"]))
    report = await _finished(service, report.id)
    counts = report.by_pair["invoice"]
    assert (counts.matched, counts.missing_in_target, counts.known_exception) == (1, 1, 1)
    assert [(d.category, d.business_key) for d in report.differences] == [("missing_in_target", "in_gone")]
    assert report.differences[0].exception_id == "reconciliation:invoice:in_gone"
    record = await store.get_exception("reconciliation", "invoice:in_gone")
    assert record is not None and (record.owner, record.error_class) == ("finance-ops", ErrorClass.conflict)
    assert await store.get_exception("reconciliation", "invoice:in_held") is None  # already owned

    listings.erp["invoice"].append(listings.erp_invoice("in_gone", "2"))  # posted after all
    again, _ = await service.start("on_demand", ReconciliationRequest(pairs=["invoice"]))
    again = await _finished(service, again.id)
    assert again.by_pair["invoice"].missing_in_target == 0 and again.exceptions_resolved == 1
    resolved = await store.get_exception("reconciliation", "invoice:in_gone")
    assert resolved is not None and resolved.status == "resolved"
    trail = await page(store.engine, AuditFilter(business_key=resolved.id))
    assert [(r["source"], r["operation"], r["actor"]) for r in trail] == [
        ("worker", "exception.resolved_by_flow", "reconciliation"),
        ("worker", "exception.opened", "worker"),
    ]


async def test_refunds_are_reconciled_and_test_clock_invoices_are_judged_with_no_grace(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    """A refund the ERP has no customer refund for, or one for another amount, is a difference owned
    by finance; an invoice a test clock dated a year ahead is judged (grace 0), not held in grace."""
    listings = FakeListings()
    listings.invoices = [invoice("in_ok", number=None, issued_at=NOW + dt.timedelta(days=365))]
    listings.refunds = [
        Refund(
            id=f"re_{n}", charge_id="ch_1", amount=1500, currency="USD", status="succeeded", created_at=NOW
        )
        for n in ("posted", "lost", "short")
    ]
    listings.erp["refund"] = [
        ErpTransaction(
            record_type="customerRefund", internal_id=str(n), external_id=key, total=total, currency="USD"
        )
        for n, (key, total) in enumerate((("re_posted", 1500), ("re_short", 1000)), start=50)
    ]
    service, store = replica(listings)
    report, _ = await service.start("on_demand", ReconciliationRequest(pairs=["invoice", "refund"]))
    report = await _finished(service, report.id)
    assert report.status == ReconciliationStatus.completed, report.error
    refunds, invoices = report.by_pair["refund"], report.by_pair["invoice"]
    assert (refunds.matched, refunds.missing_in_target, refunds.amount_mismatch) == (1, 1, 1)
    assert (invoices.matched, invoices.in_grace) == (1, 0)
    record = await store.get_exception("reconciliation", "refund:re_lost")
    assert record is not None and record.owner == "finance-ops"


async def test_the_schedule_runs_when_the_latest_run_is_older_than_the_interval(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    listings = FakeListings()
    service, _ = replica(listings)
    timed = settings.model_copy(update={"reconcile_interval_seconds": 0.5})
    clock = [NOW]
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduled_reconciliation(timed, service, stop, now=lambda: clock[0]))
    try:
        await asyncio.sleep(0)  # the loop notes when the worker started
        clock[0] = NOW + dt.timedelta(seconds=1)  # an interval later
        deadline = time.monotonic() + 10
        while (latest := await service.reports.latest()) is None:
            assert time.monotonic() < deadline, "the schedule never ran"
            await asyncio.sleep(0.05)
        assert latest.trigger == "scheduled"
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=5)


async def test_a_platform_down_fails_the_run_with_its_reason_and_frees_the_lease(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    listings = FakeListings()

    async def down(record_type: str, cursor: str | None = None) -> ErpTransactionPage:
        raise SystemUnavailable("system API answered 503: netsuite: list transactions: status 503")

    listings.list_erp_transactions = down  # type: ignore[method-assign]
    service, _ = replica(listings)
    report, _ = await service.start("on_demand", ReconciliationRequest())
    failed = await _finished(service, report.id)
    assert failed.status == ReconciliationStatus.failed
    assert failed.error and "503" in failed.error and failed.finished_at is not None
    again, started = await service.start("on_demand", ReconciliationRequest())  # nothing holds the lease
    assert started and again.id != report.id
    await _finished(service, again.id)


async def test_every_report_is_kept_beyond_twenty_runs_and_thirty_days(
    redis: Redis, settings: Settings, replica: Replica
) -> None:
    listings = FakeListings()
    clock = [NOW - dt.timedelta(days=400)]
    service, _ = replica(listings, now=lambda: clock[0])
    first, _ = await service.start("on_demand", ReconciliationRequest(pairs=["invoice"]))
    first = await _finished(service, first.id)
    assert [d.business_key for d in first.differences] == ["in_gone", "in_held"]
    ids = [first.id]
    for n in range(21):
        clock[0] = NOW - dt.timedelta(days=399 - n)
        report, _ = await service.start("on_demand", ReconciliationRequest(pairs=["payment"]))
        ids.append((await _finished(service, report.id)).id)
    if keys := [k async for k in redis.scan_iter(match=f"{settings.key_prefix}*")]:
        await redis.delete(*keys)  # losing Redis loses no report

    later, _ = replica(listings, now=lambda: NOW)  # another process, a year on
    oldest = await later.get(first.id)
    assert oldest is not None and oldest.status == ReconciliationStatus.completed
    assert oldest.model_dump() == first.model_dump()  # read back whole, differences included
    assert oldest.started_at == NOW - dt.timedelta(days=400)
    assert all([await later.get(i) is not None for i in ids])
    assert (await later.latest()).id == ids[-1]  # type: ignore[union-attr]
