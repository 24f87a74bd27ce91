"""CPQ subscription records as canonical contract lines: segments, a terminated line, usage terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from revbridge_contracts.models import ChargeType
from revbridge_system.adapters.salesforce import cpq

FIELDS = cpq.CrmFields()


def row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Id": "a0TRB0000000001AAA",
        "SBQQ__Contract__c": "800RB0000000001AAA",
        "SBQQ__Product__r": {"ProductCode": "SEAT", "Name": "Seats"},
        "SBQQ__Quantity__c": 250.0,
        "SBQQ__NetPrice__c": 330.0,
        "SBQQ__SegmentStartDate__c": "2028-01-15",
        "SBQQ__SegmentEndDate__c": "2029-01-14",
        "SBQQ__SegmentIndex__c": 2.0,
        "SBQQ__ChargeType__c": "Recurring",
        "CurrencyIsoCode": "USD",
    }
    return base | values


def test_a_segment_carries_its_monthly_unit_price_beside_its_own() -> None:
    line = cpq.to_line(row(), FIELDS, "USD", [])
    assert (line.start_date, line.end_date, line.segment_months) == (
        dt.date(2028, 1, 15),
        dt.date(2029, 1, 14),
        12,
    )
    assert (line.quantity, line.unit_amount, line.segment_unit_amount, line.amount) == (
        250,
        2750,
        33000,
        687500,
    )


def test_a_terminated_line_ends_where_cpq_terminated_it() -> None:
    line = cpq.to_line(row(SBQQ__TerminatedDate__c="2028-06-14"), FIELDS, "USD", [])
    assert line.end_date == dt.date(2028, 6, 14)  # the schedule's phases then end there


def test_a_usage_line_reads_its_allowance_and_overage_from_its_rates() -> None:
    rates = [
        {"SBQQ__LowerBound__c": 1, "SBQQ__UpperBound__c": 100001, "SBQQ__Price__c": 0},
        {"SBQQ__LowerBound__c": 100001, "SBQQ__UpperBound__c": None, "SBQQ__Price__c": 0.002},
    ]
    line = cpq.to_line(row(SBQQ__ChargeType__c="Usage", SBQQ__NetPrice__c=0), FIELDS, "USD", rates)
    assert line.charge_type is ChargeType.usage
    assert (line.included_quantity, line.overage_unit_amount) == (100000, Decimal("0.2"))


def test_field_names_are_checked_before_they_reach_soql(tmp_path: Path) -> None:
    (tmp_path / cpq.FIELDS_FILE).write_text('subscription:\n  quantity: "Qty__c\' OR Id != null"\n')
    with pytest.raises(ValueError, match=r"subscription\.quantity"):
        cpq.load_fields(tmp_path)
