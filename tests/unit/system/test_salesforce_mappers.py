"""Salesforce mappers and the callout signature check, without I/O."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from revbridge_contracts.events import EventType
from revbridge_contracts.models import BillingLink, ContractStatus
from revbridge_system.adapters.salesforce import mappers
from revbridge_system.adapters.salesforce.client import verify_signature
from revbridge_system.errors import BadRequest

CONTRACT = {
    "attributes": {"type": "Contract"},
    "Id": "800000000000001AAA",
    "ContractNumber": "00000100",
    "AccountId": "001000000000001AAA",
    "Status": "Activated",
    "StartDate": "2024-06-01",
    "ContractTerm": 12,
    "CurrencyIsoCode": "EUR",
    "ActivatedDate": "2024-05-30T10:00:00.000+0000",
    "SystemModstamp": "2024-05-30T10:00:01.250+0000",
    "Billing_Customer_Id__c": None,
    "Billing_Subscription_Id__c": None,
    "ERP_Customer_Id__c": None,
    "Billing_Status__c": None,
}
LINE = {
    "Id": "00k000000000001AAA",
    "Quantity": 3.0,
    "UnitPrice": 1250.5,
    "TotalPrice": 3751.5,
    "Product2": {"ProductCode": "SEAT", "Name": "Seat"},
}


def test_contract_maps_status_dates_and_money_in_minor_units() -> None:
    contract = mappers.to_contract(CONTRACT, [LINE])
    assert contract.status is ContractStatus.activated and contract.currency == "EUR"
    assert contract.start_date == dt.date(2024, 6, 1) and contract.term_months == 12
    assert contract.modified_at == dt.datetime(2024, 5, 30, 10, 0, 1, 250000, tzinfo=dt.UTC)
    [line] = contract.lines
    assert (line.product_code, line.quantity, line.unit_amount, line.amount) == ("SEAT", 3, 125050, 375150)


def test_unknown_status_is_other() -> None:
    assert (
        mappers.to_contract({**CONTRACT, "Status": "In Approval Process"}, []).status is ContractStatus.other
    )


def test_account_maps_to_customer() -> None:
    customer = mappers.to_customer(
        {
            "Id": "001000000000001AAA",
            "Name": "Acme",
            "ParentId": "001000000000002AAA",
            "BillingCountry": "de",
            "CurrencyIsoCode": "EUR",
            "Tax_Id__c": "DE123",
            "Billing_Customer_Id__c": "cus_1",
            "ERP_Customer_Id__c": "42",
        }
    )
    assert (customer.country, customer.currency, customer.parent_crm_account_id) == (
        "DE",
        "EUR",
        "001000000000002AAA",
    )
    assert (customer.billing_customer_id, customer.erp_customer_id, customer.tax_id) == (
        "cus_1",
        "42",
        "DE123",
    )


def test_billing_link_patches_only_owned_fields() -> None:
    link = BillingLink(
        billing_customer_id="cus_1",
        erp_customer_id="42",
        billing_status="active",
        synced_at=dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC),
    )
    assert mappers.contract_patch(link) == {
        "Billing_Status__c": "active",
        "Billing_Customer_Id__c": "cus_1",
        "ERP_Customer_Id__c": "42",
        "Last_Sync__c": "2024-06-01T12:00:00.000+0000",
    }
    assert mappers.account_patch(link) == {
        "Billing_Customer_Id__c": "cus_1",
        "ERP_Customer_Id__c": "42",
        "Last_Sync__c": "2024-06-01T12:00:00.000+0000",
    }


def test_soql_literals_are_escaped_and_ids_validated() -> None:
    assert mappers.soql_string("a'b\\c\n") == "'a\\'b\\\\c\\n'"
    assert mappers.is_valid_id("800000000000001") and mappers.is_valid_id("800000000000001AAA")
    assert not mappers.is_valid_id("800' OR Id != '") and not mappers.is_valid_id("8000")


def test_poll_query_starts_at_the_epoch_and_floors_the_watermark() -> None:
    assert "SystemModstamp >= 1970-01-01T00:00:00Z" in mappers.poll_query(None)
    wm = dt.datetime(2024, 5, 30, 10, 0, 1, 250000, tzinfo=dt.UTC)
    q = mappers.poll_query(wm)
    assert "Status = 'Activated' AND SystemModstamp >= 2024-05-30T10:00:01Z" in q
    assert q.endswith("ORDER BY SystemModstamp ASC, Id ASC LIMIT 200")


def test_list_query_maps_status_filter() -> None:
    assert "Status = 'Activated'" in mappers.list_contracts_query(ContractStatus.activated, None, None, 10)
    assert "Status NOT IN ('Activated', 'Draft')" in mappers.list_contracts_query(
        ContractStatus.other, None, None, 10
    )


def test_cursor_round_trips_and_rejects_garbage() -> None:
    pos = (dt.datetime(2024, 5, 30, 10, 0, 1, 250000, tzinfo=dt.UTC), "800000000000001AAA")
    assert mappers.decode_cursor(mappers.encode_cursor(pos)) == pos
    with pytest.raises(ValueError):
        mappers.decode_cursor("not-a-cursor")


def test_contract_activated_envelope() -> None:
    envelope = mappers.contract_activated("800000000000001AAA", "salesforce.poll", {}, None)
    assert (envelope.type, envelope.subject, envelope.source) == (
        EventType.contract_activated,
        "800000000000001AAA",
        "salesforce.poll",
    )


def _sign(secret: str, ts: int, body: bytes) -> str:
    return f"t={ts},v1=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def test_callout_signature_accepts_fresh_valid_and_rejects_the_rest() -> None:
    body, now = b'{"event":"contract.activated"}', 1_700_000_000
    verify_signature("s", _sign("s", now, body), body, tolerance=300, now=now + 10)
    for header, at in [
        (_sign("wrong", now, body), now),
        (_sign("s", now, body + b" "), now),
        (_sign("s", now, body), now + 301),
        ("v1=abc", now),
        (None, now),
    ]:
        with pytest.raises(BadRequest) as err:
            verify_signature("s", header, body, tolerance=300, now=at)
        assert err.value.extra["invalid_params"][0].name == "X-Revbridge-Signature"


def test_list_query_pages_by_exact_keyset() -> None:
    after = (dt.datetime(2024, 5, 30, 10, 0, 1, 250000, tzinfo=dt.UTC), "800000000000001AAA")
    q = mappers.list_contracts_query(None, None, after, 2)
    assert (
        "(SystemModstamp > 2024-05-30T10:00:01.250Z OR (SystemModstamp = 2024-05-30T10:00:01.250Z "
        "AND Id > '800000000000001AAA'))"
    ) in q
