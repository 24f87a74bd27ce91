"""Revenue positions and contract lineage, read live from each system of record.

Positions are totals per currency as each system reports them (bookings from the CRM, billings
and collections from billing, invoiced and collected from the ERP); the experience API compares
them. Nothing here is cached: the systems of record are the truth (ARCHITECTURE §3).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from revbridge_contracts.models import Contract, ContractStatus, Invoice, InvoiceStatus
from revbridge_contracts.process import ContractLineage, CurrencyPosition, RevenuePositions, SystemRecord

from revbridge_process.errors import SystemNotFound
from revbridge_process.ports import SystemPort

T = TypeVar("T")


async def all_items(fetch: Callable[[str | None], Awaitable[Any]]) -> AsyncIterator[Any]:
    """Every item of a cursor-paginated listing, page after page."""
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        cursor = page.next_cursor
        if not cursor:
            return


def bookings(contract: Contract) -> int:
    """Total contract value: monthly line amounts over the term (one month when no term is given)."""
    return contract.monthly_amount * (contract.term_months or 1)


def billed(invoice: Invoice) -> bool:
    return invoice.status not in (InvoiceStatus.draft, InvoiceStatus.void)


async def revenue_positions(
    system: SystemPort, billing_accounts: list[str], now: Callable[[], dt.datetime]
) -> RevenuePositions:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    async for contract in all_items(partial(system.list_contracts, ContractStatus.activated)):
        if contract.status == ContractStatus.activated:
            totals[contract.currency]["bookings"] += bookings(contract)
    for account in billing_accounts:
        async for invoice in all_items(partial(system.list_invoices, account)):
            if billed(invoice):
                totals[invoice.currency]["billings"] += invoice.total
                totals[invoice.currency]["collections"] += invoice.amount_paid
    for record_type, measure in (("invoice", "erp_invoiced"), ("payment", "erp_collected")):
        async for tx in all_items(partial(system.list_erp_transactions, record_type)):
            if tx.currency:
                totals[tx.currency][measure] += tx.total
    positions = [
        CurrencyPosition(currency=currency, **measures) for currency, measures in sorted(totals.items())
    ]
    return RevenuePositions(as_of=now(), positions=positions)


async def _optional(call: Awaitable[T]) -> T | None:
    try:
        return await call
    except SystemNotFound:
        return None


async def contract_lineage(
    contract_id: str, system: SystemPort, billing_accounts: list[str]
) -> ContractLineage:
    """The contract's records in CRM, billing and ERP. Raises ``SystemNotFound`` for an unknown contract."""
    contract = await system.get_contract(contract_id)
    records = [
        SystemRecord(
            system="crm",
            record_type="contract",
            id=contract.id,
            status=contract.status.value,
            amount=bookings(contract),
            currency=contract.currency,
        )
    ]
    account = await _optional(system.get_account(contract.account_id))
    if account:
        records.append(
            SystemRecord(
                system="crm", record_type="account", id=account.crm_account_id, currency=account.currency
            )
        )
    if contract.billing_customer_id:
        records.append(
            SystemRecord(system="billing", record_type="customer", id=contract.billing_customer_id)
        )
    if contract.billing_subscription_id:
        records.append(
            SystemRecord(
                system="billing",
                record_type="subscription",
                id=contract.billing_subscription_id,
                status=contract.billing_status,
            )
        )
    invoices: list[Invoice] = []
    for billing_account in billing_accounts:
        async for invoice in all_items(partial(system.list_invoices, billing_account)):
            if invoice.crm_contract_id == contract.id:
                invoices.append(invoice)
    records += [
        SystemRecord(
            system="billing",
            record_type="invoice",
            id=i.id,
            status=i.status.value,
            amount=i.total,
            currency=i.currency,
        )
        for i in invoices
    ]
    erp_customer = await _optional(system.get_erp_customer(contract.account_id))
    if erp_customer:
        records.append(SystemRecord(system="erp", record_type="customer", id=erp_customer.internal_id))
    for invoice in invoices:
        erp_invoice = await _optional(system.get_erp_invoice(invoice.id))
        if erp_invoice:
            records.append(
                SystemRecord(
                    system="erp",
                    record_type="invoice",
                    id=erp_invoice.internal_id,
                    status=erp_invoice.status,
                    amount=erp_invoice.total,
                    currency=erp_invoice.currency,
                )
            )
        for payment in invoice.payments:
            erp_payment = await _optional(system.get_erp_payment(payment.id))
            if erp_payment:
                records.append(
                    SystemRecord(
                        system="erp",
                        record_type="payment",
                        id=erp_payment.internal_id,
                        status=erp_payment.status,
                        amount=erp_payment.total,
                        currency=erp_payment.currency,
                    )
                )
    return ContractLineage(contract_id=contract.id, records=records)
