"""The revenue waterfall from the read model's cells: past months as the ERP holds them beside the
contracts' schedules, then the schedules rolled forward into a projected deferred revenue balance.

Past months (before ``as_of``; at most ``HISTORY_MONTHS``, from the first month with data):
``billed`` is what NetSuite holds billed — its invoices less its credit memos and write-offs, each
in its own month, as the summary counts them (``posted_invoices``, ``posted_credits``,
``posted_voids``); ``recognized`` its revenue journal entries less their reversals; the month-end
``deferred_revenue`` is billed - recognized summed over every month the read model holds (not only
the months shown), so it is the deferred revenue the integration has posted to NetSuite. Beside
them, the schedules' figures and the variance ``actual - scheduled``.

Forecast months (``as_of`` and after): the schedules' billings and revenue. A month for which
NetSuite already holds postings (the current month, or every month of an ``as_of`` in the past)
counts the larger of what is posted and what is scheduled: what is posted stays posted, and what
the schedule still expects is assumed to come. The projected balance opens at NetSuite's balance at
the end of the month before ``as_of`` and rolls forward by billings - revenue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from revbridge_contracts.experience import (
    RevenueWaterfall,
    WaterfallActual,
    WaterfallForecast,
    WaterfallSeries,
)

from revbridge_experience.readmodel.queries import Cell

HISTORY_MONTHS = 12
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def month_index(period: str) -> int:
    """YYYY-MM as a count of months (arithmetic without dates: any four-digit year works)."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class Month:
    """One month's figures of one series, from its cell's sums."""

    posted_invoices: int = 0
    posted_credits: int = 0
    posted_voids: int = 0
    journal_entries: int = 0
    reversals: int = 0
    scheduled_billings: int = 0
    scheduled_revenue: int = 0

    @property
    def billed(self) -> int:
        return self.posted_invoices - self.posted_credits - self.posted_voids

    @property
    def recognized(self) -> int:
        return self.journal_entries - self.reversals

    def add(self, sums: dict[str, int]) -> None:
        self.posted_invoices += sums.get("posted_invoices", 0)
        self.posted_credits += sums.get("posted_credits", 0)
        self.posted_voids += sums.get("posted_voids", 0)
        self.journal_entries += sums.get("recognized", 0)
        self.reversals += sums.get("reversed_revenue", 0)
        self.scheduled_billings += sums.get("scheduled_billings", 0)
        self.scheduled_revenue += sums.get("scheduled_revenue", 0)

    def has_data(self) -> bool:
        return any(vars(self).values())


@dataclass
class Ledger:
    """The months of one (entity, currency)."""

    months: dict[int, Month] = field(default_factory=dict)

    def month(self, index: int) -> Month:
        return self.months.get(index) or Month()


def ledgers(cells: Iterable[Cell]) -> dict[tuple[str | None, str], Ledger]:
    """Cells grouped by (entity, currency); cells without a currency or a period can't be placed."""
    out: dict[tuple[str | None, str], Ledger] = {}
    for cell in cells:
        if cell.currency is None or cell.period is None or len(cell.period) != 7:
            continue
        ledger = out.setdefault((cell.entity, cell.currency), Ledger())
        ledger.months.setdefault(month_index(cell.period), Month()).add(cell.sums)
    return out


def series(entity: str | None, currency: str, ledger: Ledger, as_of: int, months: int) -> WaterfallSeries:
    past = sorted(i for i, m in ledger.months.items() if i < as_of and m.has_data())
    first_shown = max(past[0], as_of - HISTORY_MONTHS) if past else as_of
    balance = sum(ledger.months[i].billed - ledger.months[i].recognized for i in past if i < first_shown)
    actuals = []
    for i in range(first_shown, as_of):
        m = ledger.month(i)
        balance += m.billed - m.recognized
        actuals.append(
            WaterfallActual(
                period=month_text(i),
                posted_invoices=m.posted_invoices,
                posted_credits=m.posted_credits,
                posted_voids=m.posted_voids,
                billed=m.billed,
                journal_entries=m.journal_entries,
                reversals=m.reversals,
                recognized=m.recognized,
                deferred_revenue=balance,
                scheduled_billings=m.scheduled_billings,
                scheduled_revenue=m.scheduled_revenue,
                billings_variance=m.billed - m.scheduled_billings,
                revenue_variance=m.recognized - m.scheduled_revenue,
            )
        )
    opening = balance
    forecast = []
    for i in range(as_of, as_of + months):
        m = ledger.month(i)
        billings = max(m.billed, m.scheduled_billings)
        revenue = max(m.recognized, m.scheduled_revenue)
        balance += billings - revenue
        forecast.append(
            WaterfallForecast(
                period=month_text(i),
                scheduled_billings=m.scheduled_billings,
                scheduled_revenue=m.scheduled_revenue,
                billed_to_date=m.billed,
                recognized_to_date=m.recognized,
                billings=billings,
                revenue=revenue,
                deferred_revenue=balance,
            )
        )
    return WaterfallSeries(
        entity=entity,
        currency=currency,
        opening_deferred_revenue=opening,
        actuals=actuals,
        forecast=forecast,
    )


def waterfall(
    cells: Iterable[Cell],
    as_of: str,
    months: int,
    generated_at: dt.datetime,
    folded_at: dt.datetime | None = None,
    entity: str | None = None,
    currency: str | None = None,
) -> RevenueWaterfall:
    """One series per (entity, currency) with data before the end of the forecast; ``as_of`` is YYYY-MM."""
    start = month_index(as_of)
    found = ledgers(cells)
    out = [
        series(e, c, ledger, start, months)
        for (e, c), ledger in sorted(found.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
        if any(i < start + months and m.has_data() for i, m in ledger.months.items())
    ]
    return RevenueWaterfall(
        as_of=as_of,
        months=months,
        history_months=HISTORY_MONTHS,
        entity=entity,
        currency=currency,
        generated_at=generated_at,
        facts_folded_at=folded_at,
        series=out,
    )
