"""Shapes the process API's positions into the revenue summary finance reads.

A variance is reconciled when both sides agree to the minor unit: bookings are monthly
contract value, so they are compared with nothing; billings must equal what the ERP invoiced,
collections what the ERP collected.
"""

from __future__ import annotations

from revbridge_contracts.experience import (
    CurrencyAmounts,
    CurrencySummary,
    LineageView,
    Reporting,
    RevenueSummary,
    RevenueSummaryV2,
    Variance,
)
from revbridge_contracts.process import ContractLineage, RevenuePositions


def _variance(name: str, left: int, right: int) -> Variance:
    return Variance(name=name, left=left, right=right, difference=left - right, reconciled=left == right)


def revenue_summary(positions: RevenuePositions) -> RevenueSummary:
    currencies = [
        CurrencySummary(
            currency=p.currency,
            bookings=p.bookings,
            billings=p.billings,
            collections=p.collections,
            posted_invoices=p.erp_invoiced,
            posted_payments=p.erp_collected,
            variances=[
                _variance("billings_vs_erp_invoices", p.billings, p.erp_invoiced),
                _variance("collections_vs_erp_payments", p.collections, p.erp_collected),
            ],
        )
        for p in sorted(positions.positions, key=lambda p: p.currency)
    ]
    return RevenueSummary(as_of=positions.as_of, currencies=currencies)


def revenue_summary_v2(positions: RevenuePositions) -> RevenueSummaryV2:
    """v2: the same figures keyed by currency, with a reporting block saying what was read when."""
    v1 = revenue_summary(positions)
    amounts = {
        c.currency: CurrencyAmounts(
            bookings=c.bookings,
            billings=c.billings,
            collections=c.collections,
            posted_invoices=c.posted_invoices,
            posted_payments=c.posted_payments,
            variances=c.variances,
            reconciled=all(v.reconciled for v in c.variances),
        )
        for c in v1.currencies
    }
    reporting = Reporting(
        as_of=v1.as_of,
        currencies=list(amounts),
        reconciled=all(a.reconciled for a in amounts.values()),
    )
    return RevenueSummaryV2(reporting=reporting, amounts=amounts)


def lineage_view(lineage: ContractLineage) -> LineageView:
    by_system: dict[str, list] = {"crm": [], "billing": [], "erp": []}
    for record in lineage.records:
        by_system.setdefault(record.system, []).append(record)
    return LineageView(
        contract_id=lineage.contract_id,
        crm=by_system["crm"],
        billing=by_system["billing"],
        erp=by_system["erp"],
    )
