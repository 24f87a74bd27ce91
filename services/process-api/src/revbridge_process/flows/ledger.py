"""Ledger facts of onboarding and invoice posting: pure builders, so each flow only says *when*.

The source side (``contract.booked``, ``invoice.billed``, ``payment.collected``) is published as soon
as the flow has read it, before any ERP write: a posting that then fails leaves a billed-but-not-posted
variance in the read model instead of nothing. The target side is published after its write succeeded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import (
    BillingCustomer,
    Contract,
    Customer,
    ErpInvoiceUpsert,
    ErpPaymentUpsert,
    ErpRef,
    Invoice,
    Payment,
    Subscription,
    SubscriptionPhase,
)

from revbridge_process.config import Mappings
from revbridge_process.flows import ramps
from revbridge_process.flows.allocation import allocate
from revbridge_process.flows.amendments import add_months
from revbridge_process.flows.revenue import service_days_by_month

DEFAULT_TERM_MONTHS = 12
"""A contract without a term counts one year of its monthly value (its annual contract value)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _month(value: dt.date | dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m") if value else None


def entity_of_country(country: str | None, mappings: Mappings) -> str | None:
    return country if country and country in mappings.legal_entities else None


def entity_of_account(billing_account: str, mappings: Mappings) -> str | None:
    found = mappings.entity_of_account(billing_account)
    return found[0] if found else None


def booked(contract: Contract, account: Customer, mappings: Mappings) -> Fact:
    """The activated contract at its total contract value: monthly value x term, or for a ramped
    contract the sum of its segments (each segment's monthly value x its months; usage is not
    booked, it is billed as consumed)."""
    months = contract.term_months or DEFAULT_TERM_MONTHS
    value = ramps.contract_value(contract) if ramps.is_phased(contract) else contract.monthly_amount * months
    return fact(
        FactKind.contract_booked,
        contract.id,
        contract.id,
        contract_id=contract.id,
        customer_id=account.crm_account_id,
        entity=entity_of_country(account.country, mappings),
        currency=contract.currency,
        amount=value,
        period=_month(contract.start_date or contract.activated_at),
        status=contract.status.value,
        occurred_at=contract.activated_at or _now(),
    )


def scheduled(contract: Contract, plan_phases: Sequence[SubscriptionPhase], entity: str | None) -> list[Fact]:
    """The billing and revenue forecast of a contract's schedule, one fact of each per month.

    Each monthly billing period from the first phase's start bills the licensed items in force at
    its start (in advance, so in the month it starts); its charge is recognised over its service
    days. Usage is not forecast: it is billed, and recognised, as consumed. An amendment
    republishes every month of the term under the contract's new version stamp (``occurred_at``);
    the read model keeps only a contract's newest forecast, so months a shortened term no longer
    bills drop out.
    """
    if not plan_phases:
        return []
    billed: dict[str, int] = {}
    revenue: dict[str, int] = {}
    anchor, stop = plan_phases[0].start_date, plan_phases[-1].end_date
    k = 0
    while (start := add_months(anchor, k)) < stop:
        end = min(add_months(anchor, k + 1), stop)
        phase = next(p for p in plan_phases if p.start_date <= start < p.end_date)
        charge = sum((i.unit_amount or 0) * (i.quantity or 0) for i in phase.items if not i.metered)
        month = start.strftime("%Y-%m")
        billed[month] = billed.get(month, 0) + charge
        months = service_days_by_month(start, end - dt.timedelta(days=1))  # as the revenue flow spreads it
        for (m, _), amount in zip(
            months, allocate(charge, [d for _, d in months]) if charge else [0] * len(months), strict=True
        ):
            revenue[m] = revenue.get(m, 0) + amount
        k += 1
    common = {
        "contract_id": contract.id,
        "customer_id": contract.account_id,
        "entity": entity,
        "currency": contract.currency,
    }
    at = contract.modified_at or contract.activated_at or _now()
    return [
        fact(
            kind,
            f"{contract.id}:{month}",
            contract.id,
            amount=amounts[month],
            period=month,
            occurred_at=at,
            **common,
        )
        for kind, amounts in ((FactKind.billing_scheduled, billed), (FactKind.revenue_scheduled, revenue))
        for month in sorted(amounts)
    ]


def linked(
    contract: Contract, customer: BillingCustomer, subscription: Subscription, erp: ErpRef, entity: str | None
) -> list[Fact]:
    """The ids onboarding made or found: billing customer and subscription, ERP customer."""
    common = {"contract_id": contract.id, "customer_id": contract.account_id, "entity": entity}
    at = _now()
    return [
        fact(FactKind.customer_linked, contract.account_id, customer.id, occurred_at=at, **common),
        fact(
            FactKind.subscription_linked,
            contract.id,
            subscription.id,
            status=subscription.status,
            occurred_at=at,
            **common,
        ),
        fact(FactKind.erp_customer_linked, contract.account_id, erp.internal_id, occurred_at=at, **common),
    ]


def _of_invoice(invoice: Invoice, contract: Contract | None, entity: str | None) -> dict[str, object]:
    return {
        "invoice_id": invoice.id,
        "contract_id": contract.id if contract else invoice.crm_contract_id,
        "customer_id": contract.account_id if contract else None,
        "entity": entity,
    }


def billed(invoice: Invoice, contract: Contract | None, entity: str | None) -> list[Fact]:
    """The finalized invoice and its successful payments, as billing reports them."""
    common = _of_invoice(invoice, contract, entity)
    issued = invoice.issued_at or _now()
    out = [
        fact(
            FactKind.invoice_billed,
            invoice.id,
            invoice.id,
            currency=invoice.currency,
            amount=invoice.total,
            period=_month(issued),
            status=invoice.status.value,
            occurred_at=issued,
            **common,
        )
    ]
    out += [collected(invoice, p, common) for p in invoice.payments if p.status in ("succeeded", "paid")]
    return out


def collected(invoice: Invoice, payment: Payment, common: dict[str, object]) -> Fact:
    paid = payment.paid_at or invoice.issued_at or _now()
    return fact(
        FactKind.payment_collected,
        payment.id,
        payment.id,
        currency=payment.currency,
        amount=payment.amount,
        period=_month(paid),
        status=payment.status,
        occurred_at=paid,
        **common,
    )


def invoice_posted(
    invoice: Invoice, contract: Contract, entity: str | None, command: ErpInvoiceUpsert, ref: ErpRef
) -> Fact:
    return fact(
        FactKind.invoice_posted,
        invoice.id,
        ref.internal_id,
        currency=command.currency,
        amount=sum(line.amount for line in command.lines),
        period=_month(command.tran_date),
        status="posted",
        occurred_at=_now(),
        **_of_invoice(invoice, contract, entity),
    )


def payment_posted(
    invoice: Invoice,
    contract: Contract,
    entity: str | None,
    payment_id: str,
    command: ErpPaymentUpsert,
    ref: ErpRef,
) -> Fact:
    return fact(
        FactKind.payment_posted,
        payment_id,
        ref.internal_id,
        currency=command.currency,
        amount=command.amount,
        period=_month(command.tran_date),
        status="posted",
        occurred_at=_now(),
        **_of_invoice(invoice, contract, entity),
    )
