"""The system API's new writes never duplicate money, even when the platform's answer is lost.

Credit memos, customer refunds and journal entries are upserted by external id and read back
after an ambiguous failure (the sandbox commits the write, then drops the answer); an amended
subscription is re-read before it is updated, so a retry after a lost answer changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.system.conftest import STRIPE_KEY, Stack


def _put(stack: Stack, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.put(f"{stack.api}/v1/erp/{path}", json=body, timeout=30)


def _rows(stack: Stack, record_type: str, external_id: str) -> list[dict[str, Any]]:
    rows = httpx.get(f"{stack.netsuite}/__sandbox/records/{record_type}", timeout=30).json()
    return [r for r in rows if r.get("externalId") == external_id]


def _drop_next(stack: Stack, base: str, path: str, method: str) -> None:
    fault = {"path": path, "method": method, "kind": "commit_then_drop", "status": 500, "count": 1}
    httpx.post(f"{base}/__sandbox/faults", json=fault, timeout=30).raise_for_status()


def _dropped(base: str) -> bool:
    """The lost answer happened: the one-shot rule has fired and is gone."""
    return httpx.get(f"{base}/__sandbox/faults", timeout=30).json()["data"] == []


@pytest.fixture
def paid_invoice(stack: Stack) -> tuple[str, str]:
    """An ERP customer and a 100.00 GBP invoice paid in full (in subsidiary 2)."""
    cust, inv = f"001{uuid.uuid4().hex[:12]}", f"in_{uuid.uuid4().hex[:12]}"
    customer = {"name": "Refund Ltd", "subsidiary_id": "2", "currency": "GBP", "crm_account_id": cust}
    assert _put(stack, f"customers/{cust}", customer).status_code == 200
    line = {
        "item_id": "101",
        "quantity": 1,
        "amount": 10000,
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
    }
    invoice = {"customer_external_id": cust, "currency": "GBP", "tran_date": "2026-03-01", "lines": [line]}
    assert _put(stack, f"invoices/{inv}", invoice).status_code == 200
    payment = {
        "customer_external_id": cust,
        "invoice_external_id": inv,
        "currency": "GBP",
        "amount": 10000,
        "tran_date": "2026-03-02",
    }
    assert _put(stack, f"payments/pi_{uuid.uuid4().hex[:12]}", payment).status_code == 200
    return cust, inv


def test_credit_memo_and_refund_whose_answers_were_lost_exist_once(
    stack: Stack, paid_invoice: tuple[str, str]
) -> None:
    cust, _ = paid_invoice
    memo_id, refund_id = f"cn_{uuid.uuid4().hex[:12]}", f"re_{uuid.uuid4().hex[:12]}"
    memo = {
        "customer_external_id": cust,
        "currency": "GBP",
        "tran_date": "2026-03-05",
        "lines": [{"item_id": "101", "amount": 2500}],
    }
    _drop_next(stack, stack.netsuite, "/services/rest/record/v1/creditMemo", "POST")
    first = _put(stack, f"credit-memos/{memo_id}", memo)
    assert first.status_code == 200, first.text  # recovered by reading it back by external id
    assert _dropped(stack.netsuite)
    assert _put(stack, f"credit-memos/{memo_id}", memo).json() == first.json()
    assert len(_rows(stack, "creditMemo", memo_id)) == 1

    refund = {
        "customer_external_id": cust,
        "credit_memo_external_id": memo_id,
        "currency": "GBP",
        "amount": 1500,
        "tran_date": "2026-03-06",
    }
    _drop_next(stack, stack.netsuite, "/services/rest/record/v1/customerRefund", "POST")
    assert _put(stack, f"refunds/{refund_id}", refund).status_code == 200
    assert _dropped(stack.netsuite)
    assert _put(stack, f"refunds/{refund_id}", refund).status_code == 200
    assert len(_rows(stack, "customerRefund", refund_id)) == 1
    read = httpx.get(f"{stack.api}/v1/erp/credit-memos/{memo_id}", timeout=30).json()
    assert (read["total"], read["currency"]) == (2500, "GBP")
    assert _rows(stack, "creditMemo", memo_id)[0]["unapplied"] == 10.0  # 25.00 credit less 15.00 refunded

    other = _put(stack, f"refunds/{refund_id}", {**refund, "amount": 1600})
    assert other.status_code == 409  # the same key with another amount is never a second refund


def test_writes_that_reference_missing_records_wait_as_conflicts(
    stack: Stack, paid_invoice: tuple[str, str]
) -> None:
    cust, _ = paid_invoice
    memo = {
        "customer_external_id": cust,
        "currency": "GBP",
        "tran_date": "2026-03-05",
        "lines": [{"item_id": "101", "amount": 100}],
        "apply": [{"invoice_external_id": "in_not_posted_yet", "amount": 100}],
    }
    response = _put(stack, f"credit-memos/cn_{uuid.uuid4().hex[:12]}", memo)
    assert response.status_code == 409
    assert response.json()["invalid_params"][0]["name"] == "apply[0].invoice_external_id"
    refund = {
        "customer_external_id": cust,
        "credit_memo_external_id": "cn_missing",
        "currency": "GBP",
        "amount": 100,
        "tran_date": "2026-03-06",
    }
    assert _put(stack, f"refunds/re_{uuid.uuid4().hex[:12]}", refund).status_code == 409


def test_write_off_credit_memo_closes_the_invoice_and_can_be_removed_once(stack: Stack) -> None:
    cust, inv = f"001{uuid.uuid4().hex[:12]}", f"in_{uuid.uuid4().hex[:12]}"
    customer = {"name": "Void Inc", "subsidiary_id": "1", "currency": "USD", "crm_account_id": cust}
    assert _put(stack, f"customers/{cust}", customer).status_code == 200
    line = {
        "item_id": "102",
        "quantity": 4,
        "amount": 4000,
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
    }
    assert (
        _put(
            stack,
            f"invoices/{inv}",
            {"customer_external_id": cust, "currency": "USD", "tran_date": "2026-03-01", "lines": [line]},
        ).status_code
        == 200
    )
    memo = {
        "customer_external_id": cust,
        "currency": "USD",
        "tran_date": "2026-03-09",
        "lines": [{"item_id": "102", "amount": 4000}],
        "apply": [{"invoice_external_id": inv, "amount": 4000}],
    }
    assert _put(stack, f"credit-memos/{inv}:writeoff", memo).status_code == 200
    erp_invoice = httpx.get(f"{stack.api}/v1/erp/invoices/{inv}", timeout=30).json()
    assert erp_invoice["amount_paid"] == 4000 and erp_invoice["status"] == "Paid In Full"
    for _ in range(2):
        assert httpx.delete(f"{stack.api}/v1/erp/credit-memos/{inv}:writeoff", timeout=30).status_code == 204
    assert httpx.get(f"{stack.api}/v1/erp/invoices/{inv}", timeout=30).json()["status"] == "Open"


def test_journal_entry_posts_once_and_an_unbalanced_one_is_refused(stack: Stack) -> None:
    key = f"il_{uuid.uuid4().hex[:12]}:2026-03"
    journal = {
        "subsidiary_id": "2",
        "currency": "GBP",
        "tran_date": "2026-03-01",
        "lines": [{"account_id": "3", "debit": 3333}, {"account_id": "4", "credit": 3333}],
    }
    _drop_next(stack, stack.netsuite, "/services/rest/record/v1/journalEntry", "POST")
    assert _put(stack, f"journal-entries/{key}", journal).status_code == 200
    assert _dropped(stack.netsuite)
    assert _put(stack, f"journal-entries/{key}", journal).status_code == 200
    [row] = _rows(stack, "journalEntry", key)
    assert (row["subsidiary"], row["currency"], row["total"]) == ("2", "2", 33.33)
    listed = httpx.get(
        f"{stack.api}/v1/erp/transactions", params={"record_type": "journal_entry"}, timeout=30
    )
    assert [t["total"] for t in listed.json()["items"] if t["external_id"] == key] == [3333]
    unbalanced = {**journal, "lines": [{"account_id": "3", "debit": 10}, {"account_id": "4", "credit": 9}]}
    response = _put(stack, f"journal-entries/{key}x", unbalanced)
    assert response.status_code == 422 and "balance" in response.text


def test_amended_subscription_whose_answer_was_lost_is_updated_once(stack: Stack) -> None:
    stripe = httpx.Client(base_url=stack.stripe, auth=(STRIPE_KEY, ""), timeout=30)
    lookup = f"seat-{uuid.uuid4().hex[:8]}"
    product = stripe.post(
        "/v1/products", data={"name": "Seat", "metadata[revbridge_product_code]": "SEAT"}
    ).json()
    stripe.post(
        "/v1/prices",
        data={
            "product": product["id"],
            "currency": "usd",
            "unit_amount": 1000,
            "recurring[interval]": "month",
            "lookup_key": lookup,
        },
    ).raise_for_status()
    account, contract = f"001{uuid.uuid4().hex[:15]}", f"800{uuid.uuid4().hex[:15]}"
    customer = httpx.put(
        f"{stack.api}/v1/billing/default/customers/{account}",
        json={"name": "Amend Co", "currency": "USD"},
        timeout=30,
    ).json()
    url = f"{stack.api}/v1/billing/default/subscriptions/{contract}"
    body = {
        "customer_id": customer["id"],
        "currency": "USD",
        "items": [{"billing_price_ref": lookup, "quantity": 3}],
        "revision": "r1",
    }
    created = httpx.put(url, json=body, timeout=30).json()
    amended = {**body, "items": [{"billing_price_ref": lookup, "quantity": 5}], "revision": "r2"}
    _drop_next(stack, stack.stripe, f"/v1/subscriptions/{created['id']}", "POST")
    lost = httpx.put(url, json=amended, timeout=30)
    assert lost.status_code == 503  # the update happened, its answer was lost
    again = httpx.put(url, json=amended, timeout=30)
    assert again.status_code == 200 and again.json()["updated"] is False  # nothing left to change
    assert again.json()["items"] == [{"billing_price_ref": lookup, "quantity": 5}]
    pending = stripe.get("/v1/invoiceitems", params={"customer": customer["id"]}).json()["data"]
    assert len([i for i in pending if i.get("proration")]) == 2  # one update: one credit, one charge
    sub = stripe.get(f"/v1/subscriptions/{created['id']}").json()
    assert sub["metadata"]["revbridge_contract_revision"] == "r2"


def test_a_customers_internal_id_is_looked_up_once_for_many_money_writes(stack: Stack) -> None:
    """Every invoice names its customer; the system API reuses the customer's internal id instead of
    asking NetSuite for it before each write (a quarter of the calls an invoice made)."""
    cust = f"001{uuid.uuid4().hex[:12]}"
    customer = {"name": "Cache Ltd", "subsidiary_id": "2", "currency": "GBP", "crm_account_id": cust}
    assert _put(stack, f"customers/{cust}", customer).status_code == 200
    line = {"item_id": "101", "quantity": 1, "amount": 10000, "period_start": "2026-03-01"}
    invoice = {
        "customer_external_id": cust,
        "currency": "GBP",
        "tran_date": "2026-03-01",
        "lines": [{**line, "period_end": "2026-03-31"}],
    }
    ids = [f"in_{uuid.uuid4().hex[:12]}" for _ in range(3)]
    for inv in ids:
        assert _put(stack, f"invoices/{inv}", invoice).status_code == 200
    log = httpx.get(f"{stack.netsuite}/__sandbox/requests", params={"limit": 1000}, timeout=30).json()
    customer_reads = [e for e in log if e["method"] == "GET" and e["path"].endswith(f"/customer/eid:{cust}")]
    assert customer_reads == []  # the upsert's answer named its internal id
    assert all(len(_rows(stack, "invoice", inv)) == 1 for inv in ids)
    for inv in ids:  # each invoice refers to that customer
        [row] = _rows(stack, "invoice", inv)
        assert str(row["entity"]) == str(_rows(stack, "customer", cust)[0]["id"])


def test_a_second_write_of_a_key_with_another_amount_is_a_conflict_not_a_second_record(stack: Stack) -> None:
    """NetSuite refuses a second create under the same external id; the system API then reads the
    record: the same amount is the earlier write (200, same answer), another amount is a 409."""
    cust = f"001{uuid.uuid4().hex[:12]}"
    customer = {"name": "Twice Ltd", "subsidiary_id": "2", "currency": "GBP", "crm_account_id": cust}
    assert _put(stack, f"customers/{cust}", customer).status_code == 200
    line = {"item_id": "101", "quantity": 1, "period_start": "2026-03-01", "period_end": "2026-03-31"}
    invoice = {"customer_external_id": cust, "currency": "GBP", "tran_date": "2026-03-01"}
    inv = f"in_{uuid.uuid4().hex[:12]}"
    first = _put(stack, f"invoices/{inv}", {**invoice, "lines": [{**line, "amount": 10000}]})
    same = _put(stack, f"invoices/{inv}", {**invoice, "lines": [{**line, "amount": 10000}]})
    other = _put(stack, f"invoices/{inv}", {**invoice, "lines": [{**line, "amount": 12000}]})
    assert first.status_code == same.status_code == 200 and same.json() == first.json()
    assert other.status_code == 409 and "already exists with amount" in other.text
    [row] = _rows(stack, "invoice", inv)
    assert row["total"] == 100.0
