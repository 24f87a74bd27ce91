"""The revenue summary from the read model's cells: the four figures, the ERP side of each pair,
their variances and reconciliation status, per period, legal entity and currency, and in a
reporting currency.

A pair is reconciled when both sides agree to the minor unit and no record of either side is
missing its counterpart. Billings are not compared with recognized revenue: the deferred balance
between them is not a fact the flows publish, so that pair can't be reconciled to the cent here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from revbridge_contracts.experience import (
    CurrencyAmounts,
    CurrencySummary,
    Figures,
    PairVariance,
    Reporting,
    ReportingTotals,
    RevenueSummary,
    RevenueSummaryV2,
    SummaryCell,
)

from revbridge_experience.fx import FxRates
from revbridge_experience.readmodel.queries import Cell

VARIANCES: tuple[tuple[str, str, str, str], ...] = (
    # name, pair, source figure, target figure
    ("billings_vs_erp_invoices", "invoice_posting", "billings", "posted_invoices"),
    ("collections_vs_erp_payments", "payment_posting", "collections", "posted_payments"),
    ("credits_vs_credit_memos", "credit_posting", "credits", "posted_credits"),
    ("refunds_vs_erp_refunds", "refund_posting", "refunds", "posted_refunds"),
    ("voids_vs_erp_write_offs", "void_posting", "voids", "posted_voids"),
)
VARIANCE_PAIR = {name: pair for name, pair, _, _ in VARIANCES}
V1_VARIANCES = ("billings_vs_erp_invoices", "collections_vs_erp_payments")


def figures(cells: Iterable[Cell]) -> Figures:
    totals: dict[str, int] = {}
    for cell in cells:
        for name, value in cell.sums.items():
            if not name.startswith("n:"):
                totals[name] = totals.get(name, 0) + value
    return Figures.model_validate({k: v for k, v in totals.items() if k in Figures.model_fields})


def variances(cells: list[Cell], f: Figures) -> list[PairVariance]:
    out = []
    for name, pair, left_name, right_name in VARIANCES:
        left, right = getattr(f, left_name), getattr(f, right_name)
        unmatched = sum(c.unmatched.get(pair, 0) for c in cells)
        ok = left == right and unmatched == 0
        out.append(
            PairVariance(
                name=name,
                pair=pair,
                left=left,
                right=right,
                difference=left - right,
                reconciled=ok,
                status="reconciled" if ok else "variance",
                unmatched=unmatched,
            )
        )
    return out


def _by(cells: list[Cell], key: str) -> dict[str, list[Cell]]:
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        value = getattr(cell, key)
        if value is not None:
            groups.setdefault(value, []).append(cell)
    return groups


def _amounts(cells: list[Cell]) -> CurrencyAmounts:
    f = figures(cells)
    v = variances(cells, f)
    return CurrencyAmounts(
        bookings=f.bookings,
        billings=f.billings,
        collections=f.collections,
        posted_invoices=f.posted_invoices,
        posted_payments=f.posted_payments,
        recognized=f.recognized,
        variances=v,
        reconciled=all(x.reconciled for x in v),
        figures=f,
    )


def reporting_totals(cells: list[Cell], fx: FxRates, to: str) -> ReportingTotals:
    """Each cell converted at its month's rate, then summed (rounded once per cell)."""
    names = ("bookings", "billings", "collections", "recognized", "posted_invoices", "posted_payments")
    totals = dict.fromkeys(names, 0)
    used: dict[str, str] = {}
    for cell in cells:
        if cell.currency is None:
            continue
        for name in names:
            amount = cell.sums.get(name, 0)
            converted = fx.convert(amount, cell.currency, to, cell.period) if amount else 0
            if converted is None:
                raise KeyError(cell.currency)
            totals[name] += converted
        src, dst = fx.rate(cell.currency, cell.period), fx.rate(to, cell.period)
        if src is not None and dst is not None:
            used[cell.currency] = str((src / dst).normalize())
    return ReportingTotals(currency=to, rates=used, rates_as_of=fx.as_of, **totals)


def summary_v2(
    cells: list[Cell],
    as_of: dt.datetime,
    folded_at: dt.datetime | None,
    fx: FxRates,
    reporting_currency: str | None,
    period: str | None = None,
    entity: str | None = None,
) -> RevenueSummaryV2:
    by_currency = {c: _amounts(group) for c, group in sorted(_by(cells, "currency").items())}
    breakdown = []
    for cell in cells:
        f = figures([cell])
        v = variances([cell], f)
        breakdown.append(
            SummaryCell(
                period=cell.period,
                entity=cell.entity,
                currency=cell.currency,
                figures=f,
                variances=v,
                reconciled=all(x.reconciled for x in v),
            )
        )
    target = reporting_currency or fx.default_reporting_currency
    totals = reporting_totals(cells, fx, target) if target else None
    reporting = Reporting(
        as_of=as_of,
        currencies=list(by_currency),
        reconciled=all(a.reconciled for a in by_currency.values()),
        source="read-model",
        period=period,
        entity=entity,
        entities=sorted(_by(cells, "entity")),
        periods=sorted(_by(cells, "period")),
        facts_folded_at=folded_at,
    )
    return RevenueSummaryV2(
        reporting=reporting, amounts=by_currency, breakdown=breakdown, reporting_totals=totals
    )


def summary_v1(cells: list[Cell], as_of: dt.datetime) -> RevenueSummary:
    """v1's shape, unchanged: per currency, the two original pairs."""
    currencies = []
    for currency, group in sorted(_by(cells, "currency").items()):
        a = _amounts(group)
        currencies.append(
            CurrencySummary(
                currency=currency,
                bookings=a.bookings,
                billings=a.billings,
                collections=a.collections,
                posted_invoices=a.posted_invoices,
                posted_payments=a.posted_payments,
                variances=[v for v in a.variances if v.name in V1_VARIANCES],
            )
        )
    return RevenueSummary(as_of=as_of, currencies=currencies)
