"""The revenue summary from read-model cells, FX conversion and its configuration, sync rates, and the
fold's arguments — without I/O."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_experience import summary
from revbridge_experience.fx import FxConfigError, FxRates, load_fx
from revbridge_experience.operations import sync_rates
from revbridge_experience.readmodel import fold
from revbridge_experience.readmodel.queries import Cell, CellFilter

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
FX = FxRates.model_validate(
    {"base": "USD", "rates": {"USD": "1", "GBP": "1.25"}, "default_reporting_currency": "USD"}
)


def cell(cid: str, unmatched: dict[str, int] | None = None, **sums: int) -> Cell:
    return Cell(cid, sums, unmatched or {})


def test_matching_sides_are_reconciled_and_a_missing_posting_is_a_variance() -> None:
    cells = [
        cell("2026-10|US|USD", billings=1_000, posted_invoices=1_000, collections=400, posted_payments=400),
        cell("2026-10|GB|GBP", {"invoice_posting": 1}, billings=2_500, posted_invoices=0, bookings=30_000),
    ]
    body = summary.summary_v2(cells, NOW, None, FX, None)
    assert body.amounts["USD"].reconciled is True
    gbp = {v.name: v for v in body.amounts["GBP"].variances}["billings_vs_erp_invoices"]
    assert (gbp.difference, gbp.reconciled, gbp.status, gbp.unmatched) == (2_500, False, "variance", 1)
    assert body.reporting.reconciled is False and body.reporting.entities == ["GB", "US"]


def test_equal_totals_with_an_unmatched_record_are_not_reconciled() -> None:
    """A posting of the wrong invoice for the same amount must not look reconciled."""
    cells = [cell("2026-10|US|USD", {"invoice_posting": 2}, billings=500, posted_invoices=500)]
    variance = summary.variances(cells, summary.figures(cells))[0]
    assert variance.difference == 0 and not variance.reconciled


def test_reporting_currency_converts_each_cell_and_rounds_half_even() -> None:
    cells = [cell("2026-10|US|USD", billings=1_000), cell("2026-10|GB|GBP", billings=1_001)]
    totals = summary.summary_v2(cells, NOW, None, FX, "USD").reporting_totals
    assert totals is not None and totals.billings == 1_000 + 1_251  # 1_001 * 1.25 = 1_251.25
    in_gbp = summary.summary_v2(cells, NOW, None, FX, "GBP").reporting_totals
    assert in_gbp is not None and in_gbp.billings == 800 + 1_001


def test_v1_keeps_its_shape_and_its_two_variances() -> None:
    cells = [cell("2026-10|US|USD", billings=10, posted_invoices=10, credits=5)]
    v1 = summary.summary_v1(cells, NOW).model_dump()
    assert set(v1["currencies"][0]) == {
        "currency",
        "bookings",
        "billings",
        "collections",
        "posted_invoices",
        "posted_payments",
        "variances",
    }
    assert [set(v) for v in v1["currencies"][0]["variances"]] == [
        {"name", "left", "right", "difference", "reconciled"}
    ] * 2


def test_cell_filter_matches_month_year_entity_and_currency() -> None:
    assert CellFilter(period="2026").matches("2026-10|US|USD")
    assert not CellFilter(period="2026-1").matches("2026-10|US|USD")
    assert not CellFilter(entity="GB").matches("2026-10|US|USD")
    assert CellFilter(period="2026-10", entity="US", currency="USD").matches("2026-10|US|USD")


def test_the_repository_fx_file_is_valid() -> None:
    fx = load_fx(REPO_CONFIG)
    assert fx.convert(100, "GBP", "USD") == 127


def test_a_bad_fx_file_names_file_entry_and_problem(tmp_path: Path) -> None:
    (tmp_path / "fx-rates.yaml").write_text("base: USD\nrates:\n  USD: '1'\n  GBP: 'abc'\n")
    with pytest.raises(FxConfigError, match=r"fx-rates.yaml: rates.*GBP|fx-rates.yaml: rates: .*abc"):
        load_fx(tmp_path)
    (tmp_path / "fx-rates.yaml").write_text("base: USD\nrates:\n  USD: '2'\n")
    with pytest.raises(FxConfigError, match=r"rate must be 1"):
        load_fx(tmp_path)


def test_sync_rates_by_entity_and_by_flow() -> None:
    by_entity, by_flow = sync_rates(
        {"US|invoice_posting|src": 4, "US|invoice_posting|ok": 3, "GB|invoice_posting|src": 1}
    )
    assert [(r.entity, r.rate) for r in by_entity] == [("GB", 0.0), ("US", 0.75)]
    assert [(r.flow, r.sources, r.synced, r.rate) for r in by_flow] == [("invoice_posting", 5, 3, 0.6)]


def test_the_fold_knows_each_kind_as_keys_roles_says() -> None:
    rows = {r["kind"]: r for r in fold.role_rows()}
    assert set(rows) == {k.value for k in FactKind}
    assert rows["invoice.posted"] == {
        "kind": "invoice.posted",
        "measure": "posted_invoices",
        "pair": "invoice_posting",
        "side": "t",
        "other": "invoice.billed",
        "forecast": False,
        "reversed_measure": "",
    }
    assert rows["revenue.recognized"]["reversed_measure"] == "reversed_revenue"
    assert rows["billing.scheduled"]["forecast"] is True
