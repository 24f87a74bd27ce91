"""What each fact kind contributes to the read model, and the ids of its cells.

The read model lives in PostgreSQL (``revbridge.rm_*``, folded by ``revbridge.rm_fold``; see
``revbridge_db`` migration 0001): ``rm_fact`` holds each fact's newest version; ``rm_agg`` a sum and
a count per (period, entity, currency) cell and measure — class ``a`` for actuals (records of a
platform), ``f`` for forecasts (the scheduled billings and revenue of contracts), ``u`` for the
unmatched count of a pair (``um:<pair>``); ``rm_schedule`` the newest schedule version of each
contract; ``rm_sync`` sources seen and pairs completed per legal entity; ``rm_latency`` invoice
latency per month of posting; ``rm_cycle`` contract-to-first-bill cycle time; ``rm_state`` the fold's
counters and watermark; ``rm_bad`` the rows that could not be folded, with their reason.

``ROLES`` is written to ``rm_role`` before the first fold: one source for Python and SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from revbridge_contracts.facts import FactKind

NONE = "-"
"""Stands in for a missing period, entity or currency in a cell id."""


@dataclass(frozen=True)
class Role:
    measure: str
    """Aggregate the amount goes into ('' = none: a link, only indexed for lineage)."""
    pair: str = ""
    side: str = "-"
    """'s' for the source (billing, CRM) of a pair, 't' for its target (the ERP)."""
    other: FactKind | None = None
    forecast: bool = False
    """A forecast (a schedule, not a record of a platform): in ``fcells``, indexed by contract in
    ``sc:`` and not for lineage, and replaced whole by the contract's newer schedule."""
    reversed_measure: str = ""
    """Aggregate a fact with status ``reversed`` goes into instead of ``measure`` (a reversing
    journal entry carries its amount unsigned: it must not add to what it reverses)."""


ROLES: dict[FactKind, Role] = {
    FactKind.contract_booked: Role("bookings", "onboarding", "s", FactKind.subscription_linked),
    FactKind.subscription_linked: Role("", "onboarding", "t", FactKind.contract_booked),
    FactKind.customer_linked: Role(""),
    FactKind.erp_customer_linked: Role(""),
    FactKind.invoice_billed: Role("billings", "invoice_posting", "s", FactKind.invoice_posted),
    FactKind.invoice_posted: Role("posted_invoices", "invoice_posting", "t", FactKind.invoice_billed),
    FactKind.payment_collected: Role("collections", "payment_posting", "s", FactKind.payment_posted),
    FactKind.payment_posted: Role("posted_payments", "payment_posting", "t", FactKind.payment_collected),
    FactKind.payment_failed: Role("failed_payments"),
    FactKind.invoice_voided: Role("voids", "void_posting", "s", FactKind.invoice_void_posted),
    FactKind.invoice_void_posted: Role("posted_voids", "void_posting", "t", FactKind.invoice_voided),
    FactKind.credit_issued: Role("credits", "credit_posting", "s", FactKind.credit_posted),
    FactKind.credit_posted: Role("posted_credits", "credit_posting", "t", FactKind.credit_issued),
    FactKind.refund_issued: Role("refunds", "refund_posting", "s", FactKind.refund_posted),
    FactKind.refund_posted: Role("posted_refunds", "refund_posting", "t", FactKind.refund_issued),
    FactKind.revenue_recognized: Role("recognized", reversed_measure="reversed_revenue"),
    FactKind.billing_scheduled: Role("scheduled_billings", forecast=True),
    FactKind.revenue_scheduled: Role("scheduled_revenue", forecast=True),
    FactKind.dispute_recorded: Role(""),
}

MEASURES = tuple(
    dict.fromkeys(m for r in ROLES.values() if not r.forecast for m in (r.measure, r.reversed_measure) if m)
)
"""The measures of actuals: the summary's figures, each with a drill-down."""
FORECAST_MEASURES = tuple(r.measure for r in ROLES.values() if r.forecast)
PAIRS = tuple(dict.fromkeys(r.pair for r in ROLES.values() if r.pair))
SOURCE_OF_PAIR = {r.pair: k for k, r in ROLES.items() if r.side == "s"}


def fact_id(kind: str, key: str) -> str:
    return f"{kind}|{key}"


def cell_id(period: str | None, entity: str | None, currency: str | None) -> str:
    return f"{period or NONE}|{entity or NONE}|{currency or NONE}"


def split_cell(cell: str) -> tuple[str, str, str]:
    period, entity, currency = cell.split("|", 2)
    return period, entity, currency
