"""NetSuite mappers: request bodies in major units, records and SuiteQL rows back to minor units."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import httpx
from revbridge_contracts.models import ErpCustomerUpsert, ErpInvoiceUpsert, ErpPaymentUpsert
from revbridge_system.adapters.netsuite import mappers
from revbridge_system.adapters.netsuite.tba import TokenAuth

INVOICE = ErpInvoiceUpsert.model_validate(
    {
        "customer_external_id": "001A",
        "currency": "GBP",
        "tran_date": "2024-06-01",
        "memo": "in_1",
        "lines": [
            {
                "item_id": "102",
                "description": "Seats",
                "quantity": 3,
                "amount": 100000,
                "period_start": "2024-06-01",
                "period_end": "2024-06-30",
            }
        ],
    }
)


def test_customer_body_references_subsidiary_and_currency() -> None:
    cmd = ErpCustomerUpsert(
        name="Acme", subsidiary_id="2", currency="GBP", email="ap@acme.test", crm_account_id="001A"
    )
    assert mappers.customer_body(cmd, "2") == {
        "companyName": "Acme",
        "subsidiary": {"id": "2"},
        "currency": {"id": "2"},
        "email": "ap@acme.test",
    }


def test_invoice_body_converts_minor_to_major_units() -> None:
    body = mappers.invoice_body(INVOICE, "614", "2")
    assert body["entity"] == {"id": "614"} and body["currency"] == {"id": "2"} and body["memo"] == "in_1"
    [line] = body["item"]["items"]
    assert line["amount"] == 1000.0 and line["rate"] == 333.33 and line["quantity"] == 3
    assert (line["custcol_service_start"], line["custcol_service_end"]) == ("2024-06-01", "2024-06-30")
    assert mappers.invoice_total(INVOICE) == 100000


def test_payment_body_applies_the_amount_to_the_invoice() -> None:
    cmd = ErpPaymentUpsert(
        customer_external_id="001A",
        invoice_external_id="in_1",
        currency="USD",
        amount=2550,
        tran_date=dt.date(2024, 6, 2),
    )
    body = mappers.payment_body(cmd, "614", "1", "104")
    assert body["payment"] == 25.5
    assert body["apply"] == {"items": [{"doc": {"id": "104"}, "apply": True, "amount": 25.5}]}


def test_invoice_record_maps_to_transaction() -> None:
    record = {
        "id": "104",
        "externalId": "in_1",
        "tranId": "INV7",
        "entity": {"id": "614", "refName": "Acme"},
        "currency": {"id": "2", "refName": "GBP"},
        "status": "Open",
        "total": 1000.0,
        "amountPaid": 250.25,
        "tranDate": "2024-06-01",
    }
    tx = mappers.to_transaction(record, "invoice", {"2": "GBP"})
    assert (tx.internal_id, tx.external_id, tx.customer_internal_id, tx.currency) == (
        "104",
        "in_1",
        "614",
        "GBP",
    )
    assert (tx.total, tx.amount_paid, tx.tran_date) == (100000, 25025, dt.date(2024, 6, 1))
    assert mappers.record_amount(record, "invoice", "GBP") == 100000


def test_suiteql_row_maps_with_string_values_and_us_dates() -> None:
    row = {
        "id": "9",
        "tranid": "PYMT1",
        "externalid": "pi_1",
        "entity": 614,
        "status": "B",
        "foreigntotal": "25.50",
        "foreignamountpaid": None,
        "currency": 1,
        "trandate": "6/2/2024",
    }
    tx = mappers.row_to_transaction(row, "payment", {"1": "USD"})
    assert (tx.record_type, tx.total, tx.amount_paid, tx.tran_date) == (
        "customerpayment",
        2550,
        0,
        dt.date(2024, 6, 2),
    )
    assert "type = 'CustPymt'" in mappers.suiteql_transactions_query("payment")


def test_token_auth_signs_json_bodies_with_hmac_sha256_as_an_independent_verifier_checks() -> None:
    from authlib.oauth1 import ClientAuth
    from revbridge_sandboxes.netsuite.auth import hmac_sha256, parse_authorization, signature_base_string

    auth = TokenAuth(client_id="ck", client_secret="cs", token="tk", token_secret="ts", realm="123_SB1")
    body = b'{"companyName": "Acme & Co"}'
    uri = "https://123-sb1.suitetalk.api.netsuite.com/r/customer/eid:a%2Fb"
    request = httpx.Request("PUT", f"{uri}?x=1 2", content=body)
    oauth = parse_authorization(next(auth.auth_flow(request)).headers["Authorization"])

    assert (oauth["oauth_signature_method"], oauth["realm"]) == ("HMAC-SHA256", "123_SB1")
    assert oauth["oauth_body_hash"] == base64.b64encode(hashlib.sha1(body).digest()).decode()
    base = signature_base_string("PUT", uri, oauth, request.url.query.decode())
    assert oauth["oauth_signature"] == hmac_sha256(base, "cs", "ts")
    assert "HMAC-SHA256" not in ClientAuth.SIGNATURE_METHODS  # authlib's shared table is left alone
