"""Revenue schedules: each invoice line with a service period is recognised ratably, month by month.

A line's amount is spread over the calendar months of its service period in proportion to the
days it covers in each (``allocation.allocate``, so the months sum to the line exactly). A month
is due once it has begun (``as_of`` on or after its first day): its share is posted as one
journal entry, deferred revenue → revenue (accounts from ``mappings.yaml`` ``ledger``), in the
legal entity's subsidiary and the invoice's currency, external id ``<invoice line id>:<YYYY-MM>``
so it posts once however often it is asked for. A negative line (a proration credit) posts the
reverse entry.

When: on posting (``billing.invoice.finalized``, if ``flows.yaml`` says so) for the months already
begun, and by a recognition run (``POST /v1/revenue/recognition-runs``, on demand or from a
scheduler such as cron at the start of each month) for the rest. Void and draft invoices are not
recognised. What is recognised is read back from the ERP (``invoice_revenue``), never kept here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import (
    Contract,
    ErpJournalEntryUpsert,
    ErpJournalLine,
    Invoice,
    InvoiceLine,
    InvoiceRevenue,
    InvoiceStatus,
    RecognitionRunRequest,
    RecognitionRunResult,
    RevenueSchedule,
    RevenueScheduleEntry,
)
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import Mappings
from revbridge_process.errors import FlowFailure, SystemConflict, SystemNotFound, SystemRejected
from revbridge_process.flows.allocation import allocate
from revbridge_process.flows.positions import all_items
from revbridge_process.ports import FactSink, SystemPort

RECOGNISED = frozenset({InvoiceStatus.open, InvoiceStatus.paid, InvoiceStatus.uncollectible})
log = logging.getLogger(__name__)


def entry_key(line_id: str, period: str) -> str:
    return f"{line_id}:{period}"


def service_days_by_month(start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """(YYYY-MM, service days in that month) for each month from ``start`` to ``end`` inclusive."""
    out = []
    cursor = start
    while cursor <= end:
        last = dt.date(cursor.year, cursor.month, calendar.monthrange(cursor.year, cursor.month)[1])
        stop = min(last, end)
        out.append((cursor.strftime("%Y-%m"), (stop - cursor).days + 1))
        cursor = stop + dt.timedelta(days=1)
    return out


def schedule(invoice: Invoice, line: InvoiceLine) -> RevenueSchedule:
    """The ratable schedule of one invoice line (pure)."""
    end = max(line.period_end, line.period_start)
    months = service_days_by_month(line.period_start, end)
    amounts = allocate(line.amount, [days for _, days in months]) if line.amount else [0] * len(months)
    return RevenueSchedule(
        invoice_id=invoice.id,
        invoice_line_id=line.id,
        currency=invoice.currency,
        total=line.amount,
        entries=[
            RevenueScheduleEntry(period=period, amount=amount)
            for (period, _), amount in zip(months, amounts, strict=True)
        ],
    )


def due(entry: RevenueScheduleEntry, as_of: dt.date) -> bool:
    return entry.amount != 0 and entry.period <= as_of.strftime("%Y-%m")


def entry_date(period: str, line: InvoiceLine) -> dt.date:
    """The journal entry's date: the month's first day, or the service start when later."""
    first = dt.date(int(period[:4]), int(period[5:]), 1)
    return max(first, line.period_start)


def journal_plan(
    invoice: Invoice, line: InvoiceLine, entry: RevenueScheduleEntry, subsidiary_id: str, mappings: Mappings
) -> ErpJournalEntryUpsert:
    """Deferred revenue → revenue for one month of one line (reversed for a negative amount)."""
    ledger = mappings.ledger
    amount = abs(entry.amount)
    debit, credit = (
        (ledger.deferred_revenue_account, ledger.revenue_account)
        if entry.amount > 0
        else (ledger.revenue_account, ledger.deferred_revenue_account)
    )
    memo = f"Revenue {entry.period} of {invoice.number or invoice.id} line {line.id}"
    return ErpJournalEntryUpsert(
        subsidiary_id=subsidiary_id,
        currency=invoice.currency,
        tran_date=entry_date(entry.period, line),
        memo=memo,
        lines=[
            ErpJournalLine(account_id=debit, debit=amount, memo=memo),
            ErpJournalLine(account_id=credit, credit=amount, memo=memo),
        ],
    )


@dataclass
class Recognised:
    posted: int = 0
    already: int = 0


def _subsidiary(billing_account: str, mappings: Mappings) -> tuple[str, str]:
    found = mappings.entity_of_account(billing_account)
    if found is None:
        raise FlowFailure(ErrorClass.entity_mismatch, f"no legal entity is billed by {billing_account!r}")
    return found[0], found[1].subsidiary_id


async def recognize_invoice(
    invoice: Invoice,
    billing_account: str,
    system: SystemPort,
    mappings: Mappings,
    facts: FactSink,
    as_of: dt.date,
    contract: Contract | None = None,
    known: set[str] | None = None,
) -> Recognised:
    """Post every due month of the invoice's lines; ``known`` lists journal entry ids already in the ERP."""
    done = Recognised()
    if invoice.status not in RECOGNISED:
        return done
    entity, subsidiary = _subsidiary(billing_account, mappings)
    for line in invoice.lines:
        for entry in schedule(invoice, line).entries:
            key = entry_key(line.id, entry.period)
            if not due(entry, as_of):
                continue
            if known is not None and key in known:
                done.already += 1
                continue
            plan = journal_plan(invoice, line, entry, subsidiary, mappings)
            ref = await system.upsert_erp_journal_entry(key, plan)
            done.posted += 1
            await facts.publish(_fact(invoice, entry, key, ref.internal_id, plan.tran_date, entity, contract))
    if done.posted:
        log.info("revenue.recognised", extra={"invoice_id": invoice.id, "entries": done.posted})
    return done


async def _external_ids(system: SystemPort, record_type: str) -> set[str]:
    return {
        tx.external_id
        async for tx in all_items(lambda c: system.list_erp_transactions(record_type, c))
        if tx.external_id
    }


async def _invoices(
    system: SystemPort, accounts: list[str], request: RecognitionRunRequest
) -> AsyncIterator[tuple[str, Invoice]]:
    for account in accounts:
        if request.invoice_id:
            try:
                yield account, await system.get_invoice(account, request.invoice_id)
            except SystemNotFound:
                continue
            continue
        async for invoice in all_items(lambda c, a=account: system.list_invoices(a, c)):  # type: ignore[misc]
            yield account, invoice


async def recognition_run(
    system: SystemPort, mappings: Mappings, facts: FactSink, request: RecognitionRunRequest, today: dt.date
) -> RecognitionRunResult:
    """Post every due period of every posted invoice (or of the one asked for) not yet in the ERP."""
    as_of = request.as_of or today
    accounts = [request.account] if request.account else mappings.billing_accounts()
    posted_invoices = await _external_ids(system, "invoice")
    known = await _external_ids(system, "journal_entry")
    result = RecognitionRunResult(as_of=as_of, invoices=0, posted=0, already_posted=0)
    async for account, invoice in _invoices(system, accounts, request):
        if invoice.status not in RECOGNISED or invoice.id not in posted_invoices:
            continue
        result.invoices += 1
        try:
            done = await recognize_invoice(invoice, account, system, mappings, facts, as_of, known=known)
        except (FlowFailure, SystemConflict, SystemRejected, SystemNotFound) as exc:
            log.warning("revenue.run.failed", extra={"invoice_id": invoice.id, "error": str(exc)})
            result.failed.append(invoice.id)
            continue
        result.posted += done.posted
        result.already_posted += done.already
    log.info("revenue.run.done", extra=result.model_dump(mode="json", exclude={"failed"}))
    return result


async def invoice_revenue(system: SystemPort, billing_account: str, invoice_id: str) -> InvoiceRevenue:
    """The invoice's schedules with each entry's journal entry as the ERP has it (404 → not yet)."""
    invoice = await system.get_invoice(billing_account, invoice_id)
    schedules = []
    recognised = 0
    for line in invoice.lines:
        plan = schedule(invoice, line)
        entries = []
        for entry in plan.entries:
            journal_id = None
            if entry.amount:
                try:
                    journal = await system.get_erp_journal_entry(entry_key(line.id, entry.period))
                    journal_id = journal.internal_id
                    recognised += journal.total if entry.amount > 0 else -journal.total
                except SystemNotFound:
                    pass
            entries.append(entry.model_copy(update={"journal_entry_id": journal_id}))
        schedules.append(plan.model_copy(update={"entries": entries}))
    total = sum(line.amount for line in invoice.lines)
    return InvoiceRevenue(
        invoice_id=invoice.id,
        currency=invoice.currency,
        schedules=schedules,
        recognized=recognised,
        deferred=total - recognised,
    )


def _fact(
    invoice: Invoice,
    entry: RevenueScheduleEntry,
    key: str,
    journal_id: str,
    tran_date: dt.date,
    entity: str,
    contract: Contract | None,
) -> Fact:
    return fact(
        FactKind.revenue_recognized,
        key,
        journal_id,
        contract_id=invoice.crm_contract_id,
        customer_id=contract.account_id if contract else None,
        invoice_id=invoice.id,
        entity=entity,
        currency=invoice.currency,
        amount=abs(entry.amount),
        period=entry.period,
        status="recognized" if entry.amount > 0 else "reversed",
        occurred_at=dt.datetime.combine(tran_date, dt.time(), tzinfo=dt.UTC),
    )
