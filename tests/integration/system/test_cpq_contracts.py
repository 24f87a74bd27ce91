"""A CPQ contract read through the system API: one canonical line per segment, usage terms from its rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx

from scripts.ramp_contract import seed_ramp_contract
from tests.integration.system.conftest import Salesforce, Stack


def test_a_cpq_ramp_contract_reads_as_segment_lines(stack: Stack) -> None:
    sf = Salesforce(stack.salesforce)
    account = sf.create("Account", Name="Ramp Co", BillingCountry="US", CurrencyIsoCode="USD")
    products = {
        code: sf.create("Product2", Name=code, ProductCode=code, IsActive=True)
        for code in ("PLAT-ENT", "SEAT", "API-CALLS")
    }
    seeded = seed_ramp_contract(
        lambda sobject, fields: sf.create(sobject, **fields), account, products, dt.date(2027, 1, 15)
    )
    got = httpx.get(f"{stack.api}/v1/crm/contracts/{seeded.contract_id}")
    assert got.status_code == 200, got.text
    lines = got.json()["lines"]
    recurring = sorted(
        (
            line["product_code"],
            line["start_date"],
            line["end_date"],
            line["quantity"],
            line["unit_amount"],
            line["segment_months"],
        )
        for line in lines
        if line["charge_type"] == "recurring"
    )
    assert recurring == [
        ("PLAT-ENT", "2027-01-15", "2028-01-14", 1, 200000, 12),
        ("PLAT-ENT", "2028-01-15", "2029-01-14", 1, 220000, 12),
        ("PLAT-ENT", "2029-01-15", "2030-01-14", 1, 240000, 12),
        ("SEAT", "2027-01-15", "2027-04-14", 100, 2500, 3),
        ("SEAT", "2027-04-15", "2028-01-14", 250, 2500, 9),
        ("SEAT", "2028-01-15", "2029-01-14", 250, 2750, 12),
        ("SEAT", "2029-01-15", "2030-01-14", 250, 3000, 12),
    ]
    assert all(
        line["segment_unit_amount"] == line["unit_amount"] * line["segment_months"]
        for line in lines
        if line["charge_type"] == "recurring"
    )
    (usage,) = [line for line in lines if line["charge_type"] == "usage"]
    assert usage["product_code"] == "API-CALLS"
    assert Decimal(str(usage["included_quantity"])) == 100_000
    assert Decimal(str(usage["overage_unit_amount"])) == Decimal("0.2")  # cents per call
    assert (usage["start_date"], usage["end_date"]) == ("2027-01-15", "2030-01-14")


def test_a_contract_without_cpq_subscriptions_reads_its_opportunity_products(stack: Stack) -> None:
    sf = Salesforce(stack.salesforce)
    _, contract = sf.draft_contract("Plain Co")
    lines = httpx.get(f"{stack.api}/v1/crm/contracts/{contract}").json()["lines"]
    assert [
        (line["product_code"], line["quantity"], line["charge_type"], line["start_date"]) for line in lines
    ] == [("SEAT", 3, "recurring", None)]
