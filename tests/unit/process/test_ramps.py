"""Ramped, phased and usage contracts: the gate's segment checks and the schedule's phases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from revbridge_contracts.models import ChargeType, Contract, ContractLine
from revbridge_contracts.process import ErrorClass
from revbridge_process.config import Mappings, MeterMapping
from revbridge_process.errors import FlowFailure
from revbridge_process.flows import ledger, ramps
from revbridge_process.flows.allocation import allocate
from revbridge_process.flows.onboarding import preflight

from tests.unit.process.fakes import account, mappings

START = dt.date(2027, 1, 15)


def usage_mappings() -> Mappings:
    base = mappings()
    meter = MeterMapping(event_name="api_calls", billing_price_ref="api_calls_overage_usd", erp_item_id="104")
    return base.model_copy(update={"meters": {"API-CALLS": meter}})


def seg(
    line_id: str, code: str, start: str, end: str, qty: int, segment_price: int, index: int, **kw: Any
) -> ContractLine:
    """One CPQ segment as the CRM adapter maps it: monthly unit price beside the segment's own."""
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    after = last + dt.timedelta(days=1)
    months = (after.year - first.year) * 12 + after.month - first.month
    unit = segment_price // months
    fields = {
        "id": line_id,
        "product_code": code,
        "quantity": qty,
        "unit_amount": unit,
        "amount": unit * qty,
        "start_date": first,
        "end_date": last,
        "segment_index": index,
        "segment_key": f"{code}-key",
        "segment_unit_amount": segment_price,
        "segment_months": months,
        "currency": "USD",
    } | kw
    return ContractLine.model_validate(fields)


def usage_line(**kw: Any) -> ContractLine:
    fields = {
        "id": "U1",
        "product_code": "API-CALLS",
        "quantity": 1,
        "unit_amount": 0,
        "amount": 0,
        "charge_type": ChargeType.usage,
        "start_date": START,
        "end_date": dt.date(2030, 1, 14),
        "included_quantity": Decimal(100000),
        "overage_unit_amount": Decimal("0.2"),
        "currency": "USD",
    } | kw
    return ContractLine.model_validate(fields)


def ramp_contract(*extra: ContractLine, lines: list[ContractLine] | None = None) -> Contract:
    """Three yearly platform prices; 100 seats for three months, then 250; usage overage."""
    default = [
        seg("P1", "PLAT-ENT", "2027-01-15", "2028-01-14", 1, 2_400_000, 1),
        seg("P2", "PLAT-ENT", "2028-01-15", "2029-01-14", 1, 2_640_000, 2),
        seg("P3", "PLAT-ENT", "2029-01-15", "2030-01-14", 1, 2_880_000, 3),
        seg("S1", "SEAT", "2027-01-15", "2027-04-14", 100, 7_500, 1),
        seg("S2", "SEAT", "2027-04-15", "2028-01-14", 250, 22_500, 2),
        seg("S3", "SEAT", "2028-01-15", "2029-01-14", 250, 33_000, 3),
        seg("S4", "SEAT", "2029-01-15", "2030-01-14", 250, 36_000, 4),
        usage_line(),
    ]
    return Contract.model_validate(
        {
            "id": "800000000000009",
            "account_id": "001A",
            "status": "activated",
            "currency": "USD",
            "start_date": START,
            "term_months": 36,
            "lines": [*(lines if lines is not None else default), *extra],
        }
    )


def failure(contract: Contract, maps: Mappings | None = None) -> FlowFailure:
    with pytest.raises(FlowFailure) as caught:
        preflight(contract, account(), None, maps or usage_mappings())
    return caught.value


def test_a_ramp_becomes_one_phase_per_segment_boundary() -> None:
    plan = preflight(ramp_contract(), account(), None, usage_mappings())
    assert plan.items == []
    got = [
        (
            p.start_date.isoformat(),
            p.end_date.isoformat(),
            [(i.billing_price_ref, i.quantity, i.unit_amount) for i in p.items],
        )
        for p in plan.phases
    ]
    metered = ("api_calls_overage_usd", None, None)
    assert got == [
        (
            "2027-01-15",
            "2027-04-15",
            [("plat_ent_monthly_usd", 1, 200_000), ("seat_monthly_usd", 100, 2_500), metered],
        ),
        (
            "2027-04-15",
            "2028-01-15",
            [("plat_ent_monthly_usd", 1, 200_000), ("seat_monthly_usd", 250, 2_500), metered],
        ),
        (
            "2028-01-15",
            "2029-01-15",
            [("plat_ent_monthly_usd", 1, 220_000), ("seat_monthly_usd", 250, 2_750), metered],
        ),
        (
            "2029-01-15",
            "2030-01-15",
            [("plat_ent_monthly_usd", 1, 240_000), ("seat_monthly_usd", 250, 3_000), metered],
        ),
    ]
    usage = plan.phases[0].items[-1]
    assert (usage.metered, usage.included_quantity, usage.overage_unit_amount) == (
        True,
        100000,
        Decimal("0.2"),
    )
    command = plan.subscription("cus_1")
    assert command.phases and not command.items


def test_the_booked_value_is_the_sum_of_the_segments() -> None:
    fact = ledger.booked(ramp_contract(), account(), usage_mappings())
    platform = 2_400_000 + 2_640_000 + 2_880_000
    seats = 100 * 7_500 + 250 * (22_500 + 33_000 + 36_000)
    assert fact.amount == platform + seats  # usage is billed as consumed, not booked


def test_a_gap_or_an_overlap_between_segments_is_named() -> None:
    gap = ramp_contract(
        lines=[
            seg("P1", "PLAT-ENT", "2027-01-15", "2028-01-14", 1, 2_400_000, 1),
            seg("P2", "PLAT-ENT", "2028-02-15", "2030-01-14", 1, 2_300_000, 2),
        ]
    )
    problem = failure(gap)
    assert problem.error_class is ErrorClass.validation
    assert "a gap between line P1" in problem.reason and "line P2" in problem.reason
    overlap = ramp_contract(
        lines=[
            seg("P1", "PLAT-ENT", "2027-01-15", "2028-01-14", 1, 2_400_000, 1),
            seg("P2", "PLAT-ENT", "2027-12-15", "2030-01-14", 1, 2_500_000, 2),
        ]
    )
    assert "line P2 [PLAT-ENT] overlaps line P1" in failure(overlap).reason


def test_a_segment_outside_the_term_is_named() -> None:
    late = seg("S5", "SEAT", "2030-01-15", "2031-01-14", 250, 36_000, 5)
    problem = failure(ramp_contract(late))
    assert problem.error_class is ErrorClass.validation and "line S5" in problem.reason
    assert "outside the term 2027-01-15 to 2030-01-14" in problem.reason


def test_a_segment_in_another_currency_is_an_entity_mismatch() -> None:
    pounds = ramp_contract(
        lines=[seg("P1", "PLAT-ENT", "2027-01-15", "2030-01-14", 1, 7_200_000, 1, currency="GBP")]
    )
    problem = failure(pounds)
    assert problem.error_class is ErrorClass.entity_mismatch and "line P1" in problem.reason


def test_an_unmapped_meter_waits_as_mapping_missing() -> None:
    problem = failure(ramp_contract(), mappings())  # no meters section
    assert problem.error_class is ErrorClass.mapping_missing
    assert "API-CALLS has no meter mapping" in problem.reason


def test_a_segment_price_that_does_not_split_into_months_is_named() -> None:
    odd = seg("P1", "PLAT-ENT", "2027-01-15", "2030-01-14", 1, 7_200_001, 1)
    problem = failure(ramp_contract(lines=[odd]))
    assert "not a whole number of minor units a month" in problem.reason


def test_a_flat_contract_keeps_its_plain_subscription() -> None:
    flat = ramp_contract(
        lines=[ContractLine(id="L1", product_code="SEAT", quantity=3, unit_amount=2500, amount=7500)]
    )
    assert not ramps.is_phased(flat)
    assert preflight(flat, account(), None, usage_mappings()).phases == ()


def test_the_forecast_bills_each_period_in_advance_and_recognises_it_by_service_days() -> None:
    contract = ramp_contract()
    plan = preflight(contract, account(), None, usage_mappings())
    facts = ledger.scheduled(contract, plan.phases, "US")
    billed = {f.period: f.amount for f in facts if f.kind == "billing.scheduled"}
    revenue = {f.period: f.amount for f in facts if f.kind == "revenue.scheduled"}
    assert len(billed) == 36 and sum(billed.values()) == ramps.contract_value(contract)
    assert sum(revenue.values()) == ramps.contract_value(contract)  # recognised to the cent
    assert (billed["2027-01"], billed["2027-04"], billed["2028-01"], billed["2029-12"]) == (
        200_000 + 100 * 2_500,  # year 1, onboarding seats
        200_000 + 250 * 2_500,  # month 4: 250 seats
        220_000 + 250 * 2_750,  # year 2 prices
        240_000 + 250 * 3_000,
    )
    # 15 Jan - 14 Feb bills in January; January recognises 17 of its 31 days, the 2030-01 tail the rest
    assert revenue["2027-01"] == allocate(450_000, [17, 14])[0]
    assert "2030-01" in revenue and "2030-01" not in billed


def test_a_line_terminated_early_shortens_the_schedule() -> None:
    contract = ramp_contract(
        lines=[
            seg("P1", "PLAT-ENT", "2027-01-15", "2028-01-14", 1, 2_400_000, 1),
            seg("P2", "PLAT-ENT", "2028-01-15", "2028-06-14", 1, 1_100_000, 2),  # terminated after 5 months
        ]
    )
    plan = preflight(contract, account(), None, usage_mappings())
    assert [(p.start_date.isoformat(), p.end_date.isoformat()) for p in plan.phases] == [
        ("2027-01-15", "2028-01-15"),
        ("2028-01-15", "2028-06-15"),  # the schedule ends there (end_behavior cancel)
    ]
