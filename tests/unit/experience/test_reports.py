"""The revenue summary's variances and the lineage grouping, without I/O."""

from __future__ import annotations

import datetime as dt

from revbridge_contracts.process import ContractLineage, CurrencyPosition, RevenuePositions, SystemRecord
from revbridge_experience import reports

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def test_matching_billing_and_erp_totals_are_reconciled() -> None:
    positions = RevenuePositions(
        as_of=NOW,
        positions=[
            CurrencyPosition(
                currency="USD",
                bookings=12_000,
                billings=1_000,
                collections=400,
                erp_invoiced=1_000,
                erp_collected=400,
            ),
        ],
    )
    usd = reports.revenue_summary(positions).currencies[0]
    assert [(v.name, v.difference, v.reconciled) for v in usd.variances] == [
        ("billings_vs_erp_invoices", 0, True),
        ("collections_vs_erp_payments", 0, True),
    ]


def test_a_missing_erp_posting_shows_as_an_unreconciled_variance() -> None:
    positions = RevenuePositions(
        as_of=NOW,
        positions=[
            CurrencyPosition(
                currency="GBP", billings=2_500, collections=2_500, erp_invoiced=2_500, erp_collected=0
            ),
            CurrencyPosition(currency="EUR", billings=10, erp_invoiced=10),
        ],
    )
    summary = reports.revenue_summary(positions)
    assert [c.currency for c in summary.currencies] == ["EUR", "GBP"]
    gbp = summary.currencies[1]
    collections = next(v for v in gbp.variances if v.name == "collections_vs_erp_payments")
    assert (collections.difference, collections.reconciled) == (2_500, False)


def test_lineage_groups_records_by_system() -> None:
    lineage = ContractLineage(
        contract_id="800RB0000000001AAA",
        records=[
            SystemRecord(system="crm", record_type="contract", id="800RB0000000001AAA"),
            SystemRecord(system="billing", record_type="invoice", id="in_1"),
            SystemRecord(system="erp", record_type="invoice", id="7"),
            SystemRecord(system="billing", record_type="customer", id="cus_1"),
        ],
    )
    view = reports.lineage_view(lineage)
    assert [r.id for r in view.billing] == ["in_1", "cus_1"]
    assert [r.id for r in view.erp] == ["7"]
    assert [r.id for r in view.crm] == ["800RB0000000001AAA"]
