"""Ledger facts: what the process flows established, published on the facts stream.

An event on ``events:crm``/``events:billing`` says *something changed*; a fact says *what is now
true*, with the figures a report needs (amount, currency, legal entity, period) and the ids that
tie it to its neighbours (contract, customer, invoice). The process flows publish one fact per
record they read or write; the experience API folds them into its read models, so reports never
query the platforms per request.

Facts are published at least once and in any order. A fact is identified by ``(kind, key)``: a
later fact with the same identity replaces the earlier one (the newest ``occurred_at``/
``recorded_at`` wins), so a re-run flow or a redelivery changes nothing.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from revbridge_contracts.events import StreamEntry
from revbridge_contracts.models import Currency

FACTS_STREAM = "events:facts"  # == events.Stream.facts
"""Stream name, without the deployment's key prefix."""


class FactKind(StrEnum):
    # CRM
    contract_booked = "contract.booked"
    """An activated contract: ``amount`` is its total contract value; period = its start month."""
    billing_scheduled = "billing.scheduled"
    """Forecast: what a contract's schedule bills in one month (recurring charges of the billing
    periods starting that month, before usage and tax). key ``<contract id>:<YYYY-MM>``; period =
    that month. Republished whole when the contract changes: the read model replaces a contract's
    forecast by its newest version (``occurred_at``), so months a shortened contract no longer
    bills drop out."""
    revenue_scheduled = "revenue.scheduled"
    """Forecast: the revenue those scheduled charges recognise in one month (each period's charge
    spread ratably over its service days, as the revenue flow posts it). key and period as above."""
    # Links made by onboarding (lineage only, no amount)
    customer_linked = "customer.linked"
    subscription_linked = "subscription.linked"
    erp_customer_linked = "erp_customer.linked"
    # Billing (Stripe): the source side of each pair
    invoice_billed = "invoice.billed"
    """A finalized invoice: ``amount`` = total; period = issue month; status = Stripe status."""
    payment_collected = "payment.collected"
    payment_failed = "payment.failed"
    invoice_voided = "invoice.voided"
    """Void or marked uncollectible (``status`` says which); ``amount`` = what it takes off billings."""
    credit_issued = "credit.issued"
    refund_issued = "refund.issued"
    dispute_recorded = "dispute.recorded"
    """A dispute as last seen: open, won, lost or closed (lineage; ``status`` says which). A lost
    one's money is also a ``refund.issued``."""
    # ERP (NetSuite): the target side of each pair
    invoice_posted = "invoice.posted"
    payment_posted = "payment.posted"
    invoice_void_posted = "invoice.void_posted"
    credit_posted = "credit.posted"
    refund_posted = "refund.posted"
    revenue_recognized = "revenue.recognized"
    """A journal entry (deferred revenue → revenue) for one schedule period; period = that month."""


SYSTEM_OF: dict[FactKind, str] = {
    FactKind.contract_booked: "crm",
    FactKind.billing_scheduled: "billing",
    FactKind.revenue_scheduled: "erp",
    FactKind.customer_linked: "billing",
    FactKind.subscription_linked: "billing",
    FactKind.erp_customer_linked: "erp",
    FactKind.invoice_billed: "billing",
    FactKind.payment_collected: "billing",
    FactKind.payment_failed: "billing",
    FactKind.invoice_voided: "billing",
    FactKind.credit_issued: "billing",
    FactKind.refund_issued: "billing",
    FactKind.dispute_recorded: "billing",
    FactKind.invoice_posted: "erp",
    FactKind.payment_posted: "erp",
    FactKind.invoice_void_posted: "erp",
    FactKind.credit_posted: "erp",
    FactKind.refund_posted: "erp",
    FactKind.revenue_recognized: "erp",
}


class Fact(StreamEntry):
    """One fact; flat so it is one stream entry (``to_fields``/``from_fields``)."""

    kind: FactKind
    key: str = Field(
        min_length=1,
        description="identity within the kind: the business key the record is keyed by "
        "(CRM contract id, Stripe object id, or for revenue '<invoice line id>:<YYYY-MM>')",
    )
    system: Literal["crm", "billing", "erp"]
    record_id: str = Field(description="the record's own id in that system (NetSuite internal id, ...)")
    contract_id: str | None = None
    customer_id: str | None = Field(default=None, description="CRM account id")
    invoice_id: str | None = Field(default=None, description="the billing invoice this fact belongs to")
    entity: str | None = Field(default=None, description="legal entity code (config legal_entities)")
    currency: Currency | None = None
    amount: int | None = Field(default=None, description="minor units, never negative")
    period: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM it counts in")
    status: str | None = None
    occurred_at: dt.datetime = Field(description="when it happened in the system of record")
    recorded_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    trace_id: str | None = None
    correlation_id: str | None = None


def fact(kind: FactKind, key: str, record_id: str, **values: Any) -> Fact:
    """A fact of ``kind`` with its system filled in."""
    return Fact(kind=kind, key=key, system=SYSTEM_OF[kind], record_id=record_id, **values)  # type: ignore[arg-type]
