"""A reconciliation run: read both sides through the system API's paged listings, compare
(``reconcile``), turn every difference into an exception, keep the report.

Listings run concurrently (every billing account, the CRM, the ERP) and hold compact records
only, so ~10,000 invoices take a few dozen pages per side. A difference the responsible flow
already holds an open exception for (an invoice waiting on an unmapped product, say) is counted
as ``known_exception`` rather than raised twice: it is owned, not lost. Each difference becomes
one exception of flow ``reconciliation`` keyed ``<pair>:<key>`` (several categories of one record
share it); a reconciliation exception whose record now matches is resolved by the run.

Reports live in PostgreSQL (``revbridge.reconciliation_run``, the differences each lists in
``revbridge.reconciliation_difference``), every run kept for the retention period; while a run goes
on its report shows the phase and progress.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from revbridge_contracts.models import ContractStatus, InvoiceStatus
from revbridge_contracts.process import (
    ErrorClass,
    ExceptionAction,
    ExceptionStatus,
    ReconciliationCategory,
    ReconciliationCounts,
    ReconciliationDifference,
    ReconciliationPair,
    ReconciliationReport,
    ReconciliationStatus,
)
from revbridge_db.engine import DatabaseUnavailable, retrying
from revbridge_db.schema import reconciliation_difference, reconciliation_run
from sqlalchemy import RowMapping, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process import reconcile
from revbridge_process.config import Config
from revbridge_process.exception_queue import (
    Filters,
    StoreUnavailable,
    TransitionRefused,
    clean_text,
    storable,
)
from revbridge_process.ports import ListingPort
from revbridge_process.reconcile import Finding, PairResult, Rec
from revbridge_process.store import PgStore, utcnow

FLOW = "reconciliation"
Category = ReconciliationCategory
ERROR_CLASS = {
    Category.missing_in_target: ErrorClass.conflict,
    Category.duplicated: ErrorClass.conflict,
    Category.amount_mismatch: ErrorClass.conflict,
    Category.currency_mismatch: ErrorClass.entity_mismatch,
    Category.status_mismatch: ErrorClass.conflict,
    Category.unexpected_in_target: ErrorClass.conflict,
}
"""The exception class (hence owner and SLA, ``config/exceptions.yaml``) of each kind of difference."""
OWNED = frozenset({Category.missing_in_target, Category.status_mismatch})
"""Kinds a flow's own open exception explains (it has not got there yet); a duplicate never is."""
LIVE = frozenset({ExceptionStatus.open.value, ExceptionStatus.retrying.value})
PAGE = TypeVar("PAGE")
T = TypeVar("T")
log = logging.getLogger(__name__)


class ReportStore:
    """Reports as rows: the run (updated while it goes on) and, once it finished, its differences.

    Writes wait for PostgreSQL (``wait_seconds``); reads try once; then ``StoreUnavailable``."""

    def __init__(self, engine: AsyncEngine, wait_seconds: float = 10.0) -> None:
        self._engine, self._wait = engine, wait_seconds

    async def _write(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await retrying(call, wait_seconds=self._wait)
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await retrying(call, wait_seconds=0)
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def add(self, report: ReconciliationReport) -> None:
        await self.save(report)

    async def save(self, report: ReconciliationReport, with_differences: bool = False) -> None:
        """Write the run's row; with ``with_differences``, also the differences it lists (once: a
        run's differences are written when it finishes, and never change)."""
        values = _run_row(report)
        upsert = (
            pg_insert(reconciliation_run)
            .values(id=report.id, **values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )
        rows = [_difference_row(report.id, n, d) for n, d in enumerate(report.differences)]

        async def go() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(upsert)
                if with_differences and rows:
                    statement = pg_insert(reconciliation_difference).on_conflict_do_nothing()
                    for start in range(0, len(rows), 1000):
                        await conn.execute(statement, rows[start : start + 1000])

        await self._write(go)

    async def get(self, report_id: str) -> ReconciliationReport | None:
        if not storable(report_id):
            return None

        async def go() -> ReconciliationReport | None:
            async with self._engine.connect() as conn:
                run = (
                    await conn.execute(select(reconciliation_run).where(reconciliation_run.c.id == report_id))
                ).one_or_none()
                if run is None:
                    return None
                differences = (
                    await conn.execute(
                        select(reconciliation_difference)
                        .where(reconciliation_difference.c.run_id == report_id)
                        .order_by(reconciliation_difference.c.n)
                    )
                ).all()
            return _report(run._mapping, [d._mapping for d in differences])

        return await self._read(go)

    async def latest(self) -> ReconciliationReport | None:
        async def go() -> str | None:
            query = select(reconciliation_run.c.id).order_by(reconciliation_run.c.seq.desc()).limit(1)
            async with self._engine.connect() as conn:
                return (await conn.execute(query)).scalar_one_or_none()

        report_id = await self._read(go)
        return await self.get(report_id) if report_id else None


_RUN_FIELDS = (
    "status",
    "trigger",
    "started_at",
    "finished_at",
    "grace_seconds",
    "progress",
    "phase",
    "differences_total",
    "truncated",
    "exceptions_opened",
    "exceptions_resolved",
    "error",
)


def _run_row(report: ReconciliationReport) -> dict[str, Any]:
    row = {name: getattr(report, name) for name in _RUN_FIELDS}
    row["error"] = clean_text(report.error) if report.error else None
    row["status"] = report.status.value
    row["pairs"] = [p.value for p in report.pairs]
    row["counts"] = report.counts.model_dump(mode="json")
    row["by_pair"] = {k: v.model_dump(mode="json") for k, v in report.by_pair.items()}
    return row


def _difference_row(report_id: str, n: int, d: ReconciliationDifference) -> dict[str, Any]:
    return {
        "run_id": report_id,
        "n": n,
        "pair": d.pair.value,
        "category": d.category.value,
        "business_key": d.business_key,
        "account": d.account,
        "detail": clean_text(d.detail),
        "source": d.source.model_dump(mode="json") if d.source else None,
        "targets": [t.model_dump(mode="json") for t in d.targets],
        "exception_id": d.exception_id,
    }


def _report(run: RowMapping, differences: list[RowMapping]) -> ReconciliationReport:
    values = {name: run[name] for name in _RUN_FIELDS}
    for name in ("started_at", "finished_at"):
        if values[name] is not None:
            values[name] = values[name].astimezone(dt.UTC)
    return ReconciliationReport.model_validate(
        {
            **values,
            "id": run["id"],
            "pairs": list(run["pairs"]),
            "counts": run["counts"],
            "by_pair": run["by_pair"],
            "differences": [{k: v for k, v in d.items() if k not in ("run_id", "n")} for d in differences],
        }
    )


ERP_KIND: dict[ReconciliationPair, str] = {
    ReconciliationPair.invoice: "invoice",
    ReconciliationPair.payment: "payment",
    ReconciliationPair.credit_note: "credit_memo",
    ReconciliationPair.refund: "refund",
}
"""The ERP transactions (``list_erp_transactions`` kind) each pair's sources are posted as; the
contract pair's targets are billing subscriptions instead."""


@dataclass
class _Listing:
    """What was read, as compact records: each pair's sources and targets."""

    sources: defaultdict[ReconciliationPair, list[Rec]] = field(default_factory=lambda: defaultdict(list))
    targets: defaultdict[ReconciliationPair, list[Rec]] = field(default_factory=lambda: defaultdict(list))


async def _pages(fetch: Callable[[str | None], Awaitable[Any]]) -> AsyncIterator[Any]:
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        yield page
        cursor = page.next_cursor
        if not cursor:
            return


class Reconciler:
    """One run over the pairs asked for (see the module docstring)."""

    def __init__(
        self,
        system: ListingPort,
        store: PgStore,
        config: Config,
        reports: ReportStore,
        max_differences: int = 5000,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._system, self._store, self._config, self._reports = system, store, config, reports
        self._max_differences, self._now = max_differences, now

    async def run(self, report: ReconciliationReport) -> ReconciliationReport:
        try:
            listing = await self._read(report)
            results = await asyncio.to_thread(self._compare, report, listing)  # the API keeps answering
            await self._phase(report, "recording differences", 0.85)
            await self._conclude(report, results)
            report.status = ReconciliationStatus.completed
        except Exception as exc:  # a failed run is a report that says so, never a crash
            report.status, report.error = ReconciliationStatus.failed, f"{type(exc).__name__}: {exc}"
            log.exception("reconciliation.failed", extra={"report_id": report.id})
        report.finished_at, report.phase = self._now(), None
        if report.status == ReconciliationStatus.completed:
            report.progress = 1.0
        await self._reports.save(report, with_differences=True)
        log.info(
            "reconciliation.finished",
            extra={
                "report_id": report.id,
                "status": report.status.value,
                "differences": report.differences_total,
            },
        )
        return report

    async def _phase(self, report: ReconciliationReport, phase: str, progress: float) -> None:
        report.phase, report.progress = phase, max(report.progress, min(progress, 0.99))
        await self._reports.save(report)

    # --- reading ------------------------------------------------------------------------

    async def _read(self, report: ReconciliationReport) -> _Listing:
        pairs, listing = set(report.pairs), _Listing()
        accounts = self._config.mappings.billing_accounts()
        jobs: list[tuple[str, Awaitable[None]]] = []
        if ReconciliationPair.contract_subscription in pairs:
            jobs.append(("contracts", self._contracts(listing)))
            jobs += [(f"subscriptions {a}", self._subscriptions(listing, a)) for a in accounts]
        if pairs & {ReconciliationPair.invoice, ReconciliationPair.payment}:
            jobs += [(f"invoices {a}", self._invoices(listing, a)) for a in accounts]
        if ReconciliationPair.credit_note in pairs:
            jobs += [(f"credit notes {a}", self._credit_notes(listing, a)) for a in accounts]
        if ReconciliationPair.refund in pairs:
            jobs += [(f"refunds {a}", self._refunds(listing, a)) for a in accounts]
        jobs += [
            (f"ERP {kind}s", self._erp(listing, pair, kind))
            for pair, kind in ERP_KIND.items()
            if pair in pairs
        ]
        done = 0
        await self._phase(report, f"reading {len(jobs)} listings", 0.01)

        async def tracked(name: str, job: Awaitable[None]) -> None:
            nonlocal done
            await job
            done += 1
            await self._phase(
                report, f"read {done} of {len(jobs)} listings ({name} done)", 0.8 * done / len(jobs)
            )

        try:
            async with asyncio.TaskGroup() as group:  # one listing failing stops the others
                for name, job in jobs:
                    group.create_task(tracked(name, job))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from failed
        return listing

    async def _contracts(self, listing: _Listing) -> None:
        mappings, pair = self._config.mappings, ReconciliationPair.contract_subscription
        fetch = lambda c: self._system.list_contracts_in_range(ContractStatus.activated, None, None, c)  # noqa: E731
        async for page in _pages(fetch):
            listing.sources[pair] += [reconcile.contract_rec(c, mappings) for c in page.items]

    async def _subscriptions(self, listing: _Listing, account: str) -> None:
        pair = ReconciliationPair.contract_subscription
        async for page in _pages(lambda c: self._system.list_subscriptions(account, c)):
            listing.targets[pair] += [
                reconcile.subscription_rec(s, account) for s in page.items if s.crm_contract_id
            ]

    async def _invoices(self, listing: _Listing, account: str) -> None:
        invoices, payments = (
            listing.sources[p] for p in (ReconciliationPair.invoice, ReconciliationPair.payment)
        )
        async for page in _pages(lambda c: self._system.list_invoice_summaries(account, c)):
            for invoice in page.items:
                if invoice.status == InvoiceStatus.draft:
                    continue  # not an invoice yet: nothing is posted for it
                invoices.append(reconcile.invoice_rec(invoice, account))
                payments.extend(reconcile.payment_recs(invoice, account))

    async def _credit_notes(self, listing: _Listing, account: str) -> None:
        async for page in _pages(lambda c: self._system.list_credit_notes(account, c)):
            listing.sources[ReconciliationPair.credit_note] += [
                reconcile.credit_note_rec(n, account) for n in page.items
            ]

    async def _refunds(self, listing: _Listing, account: str) -> None:
        """Refunds and disputes: a lost dispute's money is posted as a customer refund too."""
        async for page in _pages(lambda c: self._system.list_refunds(account, c)):
            listing.sources[ReconciliationPair.refund] += [
                reconcile.refund_rec(r, account) for r in page.items
            ]
        async for disputes in _pages(lambda c: self._system.list_disputes(account, c)):
            listing.sources[ReconciliationPair.refund] += [
                reconcile.dispute_rec(d, account) for d in disputes.items
            ]

    async def _erp(self, listing: _Listing, pair: ReconciliationPair, kind: str) -> None:
        async for page in _pages(lambda c: self._system.list_erp_transactions(kind, c)):
            listing.targets[pair] += [reconcile.erp_rec(tx) for tx in page.items]

    # --- comparing ----------------------------------------------------------------------

    def _compare(self, report: ReconciliationReport, listing: _Listing) -> list[PairResult]:
        in_flight = reconcile.InFlight(self._now(), dt.timedelta(seconds=report.grace_seconds))
        return [
            reconcile.compare(
                reconcile.SPECS[pair], listing.sources.get(pair, []), listing.targets.get(pair, []), in_flight
            )
            for pair in ReconciliationPair
            if pair in report.pairs
        ]

    # --- exceptions and the report -------------------------------------------------------

    async def _owned(self, findings: list[Finding]) -> set[int]:
        """Indexes of findings an open exception of the responsible flow already explains."""
        candidates = [
            (i, f) for i, f in enumerate(findings) if f.source and {c for c, _ in f.problems} <= OWNED
        ]
        owned: set[int] = set()
        for start in range(0, len(candidates), 1000):
            chunk = candidates[start : start + 1000]
            live = await self._store.live_ids([o for _, f in chunk for o in f.source.owners])  # type: ignore[union-attr]
            owned.update(i for i, f in chunk if live.intersection(f.source.owners))  # type: ignore[union-attr]
        return owned

    async def _conclude(self, report: ReconciliationReport, results: list[PairResult]) -> None:
        total = ReconciliationCounts()
        differences: list[ReconciliationDifference] = []
        open_keys: set[str] = set()
        judged_pairs = {r.pair.value for r in results}
        recorded = 0
        for result in results:
            owned = await self._owned(result.findings)
            for i, finding in enumerate(result.findings):
                if i in owned:
                    result.counts.known_exception += 1
                    for category, _ in finding.problems:
                        setattr(result.counts, category.value, getattr(result.counts, category.value) - 1)
                    continue
                business_key = f"{finding.pair.value}:{finding.key}"
                open_keys.add(business_key)
                reason = "; ".join(detail for _, detail in finding.problems)[:2000]
                record = await self._store.record_exception(
                    FLOW, business_key, ERROR_CLASS[finding.problems[0][0]], reason, finding.account
                )
                recorded += 1
                if recorded % 500 == 0:
                    await self._phase(
                        report, f"recorded {recorded} exceptions", 0.85 + 0.1 * recorded / 10_000
                    )
                for category, detail in finding.problems:
                    report.differences_total += 1
                    if len(differences) < self._max_differences:
                        differences.append(_difference(finding, category, detail, record.id))
            report.by_pair[result.pair.value] = result.counts
            _add(total, result.counts)
        report.counts, report.differences = total, differences
        report.truncated = report.differences_total > len(differences)
        report.exceptions_opened = recorded
        report.exceptions_resolved = await self._resolve_matched(open_keys, judged_pairs, results)

    async def _resolve_matched(
        self, open_keys: set[str], judged_pairs: set[str], results: list[PairResult]
    ) -> int:
        """Resolve earlier reconciliation exceptions of the pairs just judged that found nothing now."""
        resolved = 0
        for record in await self._store.list_exceptions(filters=Filters(flow=FLOW, live=True)):
            pair = record.business_key.split(":", 1)[0]
            if record.status not in LIVE or pair not in judged_pairs or record.business_key in open_keys:
                continue
            try:
                await self._store.transition(
                    record.id,
                    allowed=(ExceptionStatus.open, ExceptionStatus.retrying),
                    to=ExceptionStatus.resolved,
                    action=ExceptionAction.resolved_by_flow,
                    by=FLOW,
                    note="source and target agree again",
                    audit=True,
                )
                resolved += 1
            except (KeyError, TransitionRefused):
                continue
        return resolved


def _add(total: ReconciliationCounts, counts: ReconciliationCounts) -> None:
    for name in ReconciliationCounts.model_fields:
        setattr(total, name, getattr(total, name) + getattr(counts, name))


def _difference(
    finding: Finding, category: Category, detail: str, exception_id: str
) -> ReconciliationDifference:
    return ReconciliationDifference(
        pair=finding.pair,
        category=category,
        business_key=finding.key,
        account=finding.account,
        detail=detail,
        source=finding.source.record() if finding.source else None,
        targets=[t.record() for t in finding.targets],
        exception_id=exception_id,
    )
