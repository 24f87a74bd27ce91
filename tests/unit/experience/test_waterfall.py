"""The revenue waterfall's arithmetic from read-model cells, without I/O: past months are the ERP's
figures to the cent with its cumulative deferred balance, the forecast rolls that balance forward."""

from __future__ import annotations

import datetime as dt

from revbridge_contracts.experience import RevenueWaterfall
from revbridge_experience import waterfall
from revbridge_experience.readmodel.keys import FORECAST_MEASURES, MEASURES, ROLES
from revbridge_experience.readmodel.queries import Cell

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def cell(cid: str, **sums: int) -> Cell:
    return Cell(cid, sums)


def build(cells: list[Cell], as_of: str = "2026-12", months: int = 3) -> RevenueWaterfall:
    return waterfall.waterfall(cells, as_of, months, NOW)


def test_past_months_are_what_the_erp_holds_to_the_cent_with_its_cumulative_deferred_balance() -> None:
    cells = [
        # 2026-10: a 12-month invoice, one month recognised; 2026-11: a credit memo, a write-off, a reversal
        cell("2026-10|US|USD", posted_invoices=120_000, billings=120_000, recognized=10_000),
        cell(
            "2026-11|US|USD",
            posted_invoices=3_333,
            posted_credits=1_001,
            posted_voids=2_000,
            recognized=10_000,
            reversed_revenue=77,
            scheduled_billings=0,
            scheduled_revenue=10_000,
        ),
        cell("2026-10|US|USD", scheduled_billings=120_000, scheduled_revenue=9_999),
    ]
    [series] = build(cells).series
    october, november = series.actuals
    assert (october.period, october.billed, october.recognized, october.deferred_revenue) == (
        "2026-10",
        120_000,
        10_000,
        110_000,
    )
    assert (october.billings_variance, october.revenue_variance) == (0, 1)
    assert november.billed == 3_333 - 1_001 - 2_000 == 332
    assert (november.journal_entries, november.reversals, november.recognized) == (10_000, 77, 9_923)
    assert november.deferred_revenue == 110_000 + 332 - 9_923 == 100_409
    assert (november.billings_variance, november.revenue_variance) == (332, -77)
    assert series.opening_deferred_revenue == november.deferred_revenue


def test_the_balance_counts_months_before_the_ones_shown() -> None:
    cells = [
        cell("2024-06|GB|GBP", posted_invoices=50_000, recognized=1_000),  # 30 months before as_of
        cell("2026-11|GB|GBP", recognized=2_000),
    ]
    [series] = build(cells).series
    assert series.actuals[0].period == "2025-12"  # 12 months shown
    assert len(series.actuals) == waterfall.HISTORY_MONTHS
    assert series.actuals[0].deferred_revenue == 49_000  # opens with what came before
    assert series.opening_deferred_revenue == 47_000


def test_history_starts_at_the_first_month_with_data_and_months_between_are_zero() -> None:
    cells = [cell("2026-09|US|USD", posted_invoices=900), cell("2026-11|US|USD", recognized=300)]
    [series] = build(cells).series
    assert [(a.period, a.billed, a.recognized, a.deferred_revenue) for a in series.actuals] == [
        ("2026-09", 900, 0, 900),
        ("2026-10", 0, 0, 900),
        ("2026-11", 0, 300, 600),
    ]


def test_the_projected_balance_rolls_forward_from_the_erp_balance_by_the_schedules() -> None:
    cells = [
        cell("2026-11|US|USD", posted_invoices=12_000, recognized=1_000),
        cell("2026-12|US|USD", scheduled_billings=0, scheduled_revenue=1_000),
        cell("2027-01|US|USD", scheduled_billings=12_000, scheduled_revenue=1_000),
        cell("2027-02|US|USD", scheduled_revenue=1_000),
        cell("2027-03|US|USD", scheduled_billings=5, scheduled_revenue=5),  # past the horizon
    ]
    [series] = build(cells, months=3).series
    assert series.opening_deferred_revenue == 11_000
    assert [(f.period, f.billings, f.revenue, f.deferred_revenue) for f in series.forecast] == [
        ("2026-12", 0, 1_000, 10_000),
        ("2027-01", 12_000, 1_000, 21_000),
        ("2027-02", 0, 1_000, 20_000),
    ]


def test_a_forecast_month_with_postings_counts_the_larger_of_posted_and_scheduled() -> None:
    cells = [
        # the current month: revenue already posted in full, an invoice not issued yet, and usage billed
        cell("2026-12|US|USD", posted_invoices=700, recognized=1_000),
        cell("2026-12|US|USD", scheduled_billings=12_000, scheduled_revenue=1_000),
        cell("2027-01|US|USD", posted_invoices=400, scheduled_billings=100, scheduled_revenue=0),
    ]
    [series] = build(cells, months=2).series
    december, january = series.forecast
    assert (december.billed_to_date, december.recognized_to_date) == (700, 1_000)
    assert (december.billings, december.revenue, december.deferred_revenue) == (12_000, 1_000, 11_000)
    assert (january.billings, january.revenue, january.deferred_revenue) == (400, 0, 11_400)


def test_one_series_per_entity_and_currency_and_unplaceable_cells_are_left_out() -> None:
    cells = [
        cell("2026-11|US|USD", posted_invoices=1),
        cell("2026-11|GB|GBP", posted_invoices=2),
        cell("2026-11|GB|USD", posted_invoices=3),
        cell("-|US|USD", posted_invoices=99),  # no period
        cell("2026-11|US|-", posted_invoices=99),  # no currency
        cell("2030-01|US|EUR", scheduled_billings=5),  # only beyond the horizon
    ]
    body = build(cells)
    assert [(s.entity, s.currency, s.actuals[-1].billed) for s in body.series] == [
        ("GB", "GBP", 2),
        ("GB", "USD", 3),
        ("US", "USD", 1),
    ]
    assert all(len(s.forecast) == 3 for s in body.series)


def test_month_arithmetic_crosses_years_both_ways() -> None:
    assert waterfall.month_text(waterfall.month_index("2026-12") + 1) == "2027-01"
    assert waterfall.month_text(waterfall.month_index("2027-01") - 13) == "2025-12"
    assert waterfall.month_text(waterfall.month_index("0000-01")) == "0000-01"
    [series] = build([cell("0000-01|US|USD", posted_invoices=1)], as_of="0000-02", months=36).series
    assert series.actuals[0].period == "0000-01" and series.forecast[-1].period == "0003-01"


def test_the_forecast_kinds_are_folded_apart_from_the_summary_figures() -> None:
    assert FORECAST_MEASURES == ("scheduled_billings", "scheduled_revenue")
    assert not set(FORECAST_MEASURES) & set(MEASURES) and "reversed_revenue" in MEASURES
    assert all(r.forecast == (r.measure in FORECAST_MEASURES) for r in ROLES.values())
