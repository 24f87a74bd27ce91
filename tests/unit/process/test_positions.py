"""Positions total every page of every system per currency; lineage links a contract's records."""

from __future__ import annotations

import datetime as dt

import pytest
from revbridge_process.errors import SystemNotFound
from revbridge_process.flows.invoice_posting import post_invoice
from revbridge_process.flows.onboarding import onboard
from revbridge_process.flows.positions import contract_lineage, revenue_positions

from tests.unit.process.fakes import NOW, FakeStatuses, FakeSystem, account, contract, invoice, mappings

pytestmark = pytest.mark.anyio


async def _onboarded_and_posted() -> FakeSystem:
    system = FakeSystem(page_size=1)  # every listing spans several pages
    system.add(contract(), account(), invoice(), invoice("in_2", paid=False))
    system.add(contract("800000000000002", status="draft"), contract("800000000000003", term_months=None))
    other = "800000000000003"
    system.add(
        invoice("in_gb", other, currency="GBP", paid=False, total=700, amount_due=700), billing_account="uk"
    )
    system.add(
        invoice("in_draft", other, status="draft", paid=False),
        invoice("in_void", other, status="void", paid=False),
    )
    await onboard("800000000000001", system, mappings(), FakeStatuses())
    await post_invoice("in_1", "default", system, mappings())
    return system


async def test_positions_sum_each_system_per_currency_across_pages_and_accounts() -> None:
    system = await _onboarded_and_posted()
    result = await revenue_positions(system, ["default", "uk"], lambda: NOW)
    by_currency = {p.currency: p for p in result.positions}
    usd = by_currency["USD"]
    assert usd.bookings == 300000 * 12 + 300000  # a contract without a term counts one month
    assert (usd.billings, usd.collections) == (600000, 300000)  # drafts and voids are not billings
    assert (usd.erp_invoiced, usd.erp_collected) == (300000, 300000)
    assert by_currency["GBP"].billings == 700 and by_currency["GBP"].bookings == 0
    assert result.as_of == NOW


async def test_lineage_names_the_contract_records_in_every_system() -> None:
    system = await _onboarded_and_posted()
    lineage = await contract_lineage("800000000000001", system, ["default", "uk"])
    found = {(r.system, r.record_type, r.id) for r in lineage.records}
    assert found == {
        ("crm", "contract", "800000000000001"),
        ("crm", "account", "001A"),
        ("billing", "customer", "cus_001A"),
        ("billing", "subscription", "sub_800000000000001"),
        ("billing", "invoice", "in_1"),
        ("billing", "invoice", "in_2"),
        ("erp", "customer", "C-001A"),
        ("erp", "invoice", "T-in_1"),
        ("erp", "payment", "T-py_1"),
    }


async def test_lineage_of_unknown_contract_is_not_found() -> None:
    with pytest.raises(SystemNotFound):
        await contract_lineage("800000000000009", FakeSystem(), ["default"])


def test_fixture_clock_is_utc() -> None:
    assert NOW.tzinfo == dt.UTC
