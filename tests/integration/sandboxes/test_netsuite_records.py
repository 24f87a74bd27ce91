"""Credit memos, refunds, journal entries and sale items in the sandbox process, and the SuiteQL
tables and joins a reconciliation runs over them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.sandboxes.test_netsuite_sandbox import (
    REC,
    create,
    customer,
    error_code,
    invoice,
    pay,
    shared_sandbox,
    suiteql,
    tba,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base() -> str:
    return shared_sandbox()


@pytest.fixture
def ns(base: str) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    headers = {"X-NetSuite-PropertyNameValidation": "error"}
    with httpx.Client(base_url=base, auth=tba(), headers=headers, timeout=10) as client:
        yield client


def credit_memo(
    ns: httpx.Client, customer_id: str, amount: float, *apply: tuple[str, float], **extra: Any
) -> str:
    body: dict[str, Any] = {
        "entity": {"id": customer_id},
        "item": {"items": [{"item": {"id": "103"}, "quantity": 1, "amount": amount}]},
        **extra,
    }
    if apply:
        body["apply"] = {"items": [{"doc": {"id": doc}, "apply": True, "amount": a} for doc, a in apply]}
    return create(ns, "creditmemo", body)


def refund(ns: httpx.Client, customer_id: str, doc: str, amount: float) -> httpx.Response:
    apply = {"items": [{"doc": {"id": doc}, "apply": True, "amount": amount}]}
    return ns.post(f"{REC}/customerrefund", json={"customer": {"id": customer_id}, "apply": apply})


def test_credit_memo_applied_to_an_invoice_reduces_what_it_owes(ns: httpx.Client) -> None:
    cid = customer(ns)
    iid = invoice(ns, cid, 500.0)
    cm = credit_memo(ns, cid, 120.0, (iid, 120.0), externalId="cm_1")
    owed = ns.get(f"{REC}/invoice/{iid}").json()
    assert (owed["amountPaid"], owed["amountRemaining"], owed["status"]) == (120.0, 380.0, "Open")
    memo = ns.get(f"{REC}/creditMemo/eid:cm_1", params={"expandSubResources": "true"}).json()
    assert (memo["id"], memo["total"], memo["applied"], memo["unapplied"]) == (cm, 120.0, 120.0, 0.0)
    assert memo["status"] == "Fully Applied" and memo["tranId"].startswith("CM")
    assert memo["apply"]["items"][0]["doc"]["refName"].startswith("Invoice #")
    too_much = credit_memo_response(ns, cid, 400.0, (iid, 400.0))
    assert too_much.status_code == 400 and error_code(too_much) == "USER_ERROR"
    assert ns.delete(f"{REC}/creditmemo/{cm}").status_code == 204
    assert ns.get(f"{REC}/invoice/{iid}").json()["amountRemaining"] == 500.0


def credit_memo_response(
    ns: httpx.Client, cid: str, amount: float, *apply: tuple[str, float]
) -> httpx.Response:
    lines = [{"doc": {"id": doc}, "apply": True, "amount": a} for doc, a in apply]
    return ns.post(
        f"{REC}/creditMemo",
        json={
            "entity": {"id": cid},
            "item": {"items": [{"item": {"id": "101"}, "amount": amount}]},
            "apply": {"items": lines},
        },
    )


def test_refund_draws_on_a_credit_memo_or_a_payment_and_no_more_than_is_left(ns: httpx.Client) -> None:
    cid = customer(ns)
    cm = credit_memo(ns, cid, 80.0)
    assert refund(ns, cid, cm, 50.0).status_code == 204
    memo = ns.get(f"{REC}/creditmemo/{cm}").json()
    assert (memo["unapplied"], memo["status"]) == (30.0, "Open")
    over = refund(ns, cid, cm, 31.0)
    assert over.status_code == 400 and error_code(over) == "USER_ERROR"
    iid = invoice(ns, cid, 100.0)
    assert pay(ns, cid, iid, 60.0, payment=100.0).status_code == 204
    payment_id = ns.get(f"{REC}/customerpayment").json()["items"][0]["id"]
    assert refund(ns, cid, payment_id, 40.0).status_code == 204
    assert ns.get(f"{REC}/customerpayment/{payment_id}").json()["unapplied"] == 0.0
    refunds = ns.get(f"{REC}/customerRefund").json()
    assert refunds["totalResults"] == 2
    first = ns.get(f"{REC}/customerrefund/{refunds['items'][0]['id']}").json()
    assert (first["total"], first["customer"]["id"], first["account"]["refName"]) == (50.0, cid, "Checking")
    other = customer(ns, "Other Co")
    wrong = refund(ns, other, cm, 10.0)
    assert wrong.status_code == 400 and error_code(wrong) == "USER_ERROR"
    missing = ns.post(f"{REC}/customerrefund", json={"customer": {"id": cid}})
    assert missing.status_code == 400 and error_code(missing) == "USER_ERROR"


def journal_body(*lines: tuple[str, str, float], **extra: Any) -> dict[str, Any]:
    items = [
        {"account": {"id": acct}, side: amount, "memo": f"{side} {acct}"} for acct, side, amount in lines
    ]
    return {"subsidiary": {"id": "1"}, "line": {"items": items}, **extra}


def test_journal_entry_must_balance_and_supports_upsert_patch_delete(ns: httpx.Client) -> None:
    unbalanced = ns.post(
        f"{REC}/journalentry", json=journal_body(("3", "debit", 100.0), ("4", "credit", 90.0))
    )
    assert unbalanced.status_code == 400 and error_code(unbalanced) == "USER_ERROR"
    bad_account = ns.post(
        f"{REC}/journalEntry", json=journal_body(("99", "debit", 1.0), ("4", "credit", 1.0))
    )
    assert bad_account.status_code == 400 and error_code(bad_account) == "INVALID_CONTENT"
    no_sub = ns.post(f"{REC}/journalEntry", json={"line": journal_body(("3", "debit", 1.0))["line"]})
    assert no_sub.status_code == 400 and error_code(no_sub) == "USER_ERROR"
    upsert = ns.put(
        f"{REC}/journalEntry/eid:je_1", json=journal_body(("3", "debit", 100.0), ("4", "credit", 100.0))
    )
    assert upsert.status_code == 204
    jid = upsert.headers["location"].rsplit("/", 1)[1]
    assert ns.patch(f"{REC}/journalEntry/{jid}", json={"memo": "rev rec"}).status_code == 204
    entry = ns.get(f"{REC}/journalEntry/{jid}", params={"expandSubResources": "true"}).json()
    assert (entry["memo"], entry["total"], entry["currency"]["refName"]) == ("rev rec", 100.0, "US Dollar")
    assert [line["account"]["refName"] for line in entry["line"]["items"]] == ["Deferred Revenue", "Revenue"]
    assert ns.delete(f"{REC}/journalEntry/eid:je_1").status_code == 204
    assert ns.get(f"{REC}/journalEntry/{jid}").status_code == 404


def test_sale_items_are_creatable_and_usable_on_invoices(ns: httpx.Client) -> None:
    service = create(ns, "serviceSaleItem", {"itemId": "ONBOARD", "displayName": "Onboarding"})
    part = create(ns, "noninventorysaleitem", {"itemId": "HW-KEY", "incomeAccount": {"id": "4"}})
    duplicate = ns.post(f"{REC}/nonInventorySaleItem", json={"itemId": "ONBOARD"})
    assert duplicate.status_code == 400
    required = ns.post(f"{REC}/serviceSaleItem", json={"displayName": "No id"})
    assert required.status_code == 400 and error_code(required) == "USER_ERROR"
    cid = customer(ns)
    lines = [{"item": {"id": service}, "amount": 10.0}, {"item": {"id": part}, "amount": 5.0}]
    iid = create(ns, "invoice", {"entity": {"id": cid}, "item": {"items": lines}})
    expanded = ns.get(f"{REC}/invoice/{iid}", params={"expandSubResources": "true"}).json()
    assert [line["item"]["refName"] for line in expanded["item"]["items"]] == ["ONBOARD", "HW-KEY"]
    blocked = ns.delete(f"{REC}/noninventorysaleitem/{part}")
    assert blocked.status_code == 400 and error_code(blocked) == "USER_ERROR"
    assert ns.get(f"{REC}/account/5").json()["acctType"] == "Bank"
    assert ns.post(f"{REC}/account", json={"acctName": "New"}).status_code == 403


def test_suiteql_transaction_types_lines_and_reconciliation_joins(ns: httpx.Client) -> None:
    acme, beta = customer(ns, "Acme"), customer(ns, "Beta")
    inv = invoice(ns, acme, 300.0, 200.0)
    cm = credit_memo(ns, acme, 50.0, (inv, 50.0))
    beta_cm = credit_memo(ns, beta, 40.0)
    assert refund(ns, beta, beta_cm, 40.0).status_code == 204
    create(ns, "journalEntry", journal_body(("3", "debit", 75.0), ("4", "credit", 75.0)))
    types = suiteql(ns, "SELECT type, COUNT(*) AS n FROM transaction GROUP BY type ORDER BY type").json()
    assert [(r["type"], r["n"]) for r in types["items"]] == [
        ("CustCred", "2"),
        ("CustInvc", "1"),
        ("CustRfnd", "1"),
        ("Journal", "1"),
    ]
    joined = suiteql(
        ns,
        "SELECT t.id, t.type, c.companyname, t.foreigntotal, t.foreignamountunpaid FROM transaction t "
        "JOIN customer c ON t.entity = c.id WHERE t.type IN ('CustInvc', 'CustCred') ORDER BY t.id",
    ).json()["items"]
    assert [(r["type"], r["companyname"], r["foreigntotal"], r["foreignamountunpaid"]) for r in joined] == [
        ("CustInvc", "Acme", "500", "450"),
        ("CustCred", "Acme", "50", "0"),
        ("CustCred", "Beta", "40", "0"),
    ]
    lines = suiteql(
        ns,
        "SELECT tl.transaction, tl.item, tl.amount, tl.account, t.tranid FROM transactionline tl "
        f"JOIN transaction t ON tl.transaction = t.id WHERE tl.mainline = 'F' AND t.id IN ({inv}, {cm}) "
        "ORDER BY tl.transaction, tl.linesequencenumber",
    ).json()["items"]
    assert [(r["transaction"], r["item"], r["amount"], r["account"]) for r in lines] == [
        (inv, "101", "300", "4"),
        (inv, "101", "200", "4"),
        (cm, "103", "50", "4"),
    ]
    journal = suiteql(
        ns,
        "SELECT tl.account, tl.debit, tl.credit, tl.amount FROM transactionline tl JOIN transaction t "
        "ON tl.transaction = t.id WHERE t.type = 'Journal' ORDER BY tl.linesequencenumber",
    ).json()["items"]
    assert [(r["account"], r.get("debit"), r.get("credit"), r["amount"]) for r in journal] == [
        ("3", "75", None, "75"),
        ("4", None, "75", "-75"),
    ]


def test_external_ids_and_applied_amounts_follow_updates_and_deletes(ns: httpx.Client) -> None:
    """Look-ups by external id and what an invoice has been paid are indexed, not scanned: the
    answers must follow a record that changes its external id, moves its apply lines or is deleted."""
    cid = customer(ns)
    first, second = invoice(ns, cid, 100.0, externalId="inv_a"), invoice(ns, cid, 100.0)
    assert ns.patch(f"{REC}/invoice/{first}", json={"externalId": "inv_b"}).status_code == 204
    assert ns.get(f"{REC}/invoice/eid:inv_a").status_code == 404
    assert ns.get(f"{REC}/invoice/eid:inv_b").json()["id"] == first
    taken = ns.patch(f"{REC}/invoice/{second}", json={"externalId": "inv_b"})
    assert taken.status_code == 400 and error_code(taken) == "DUP_RCRD"
    assert ns.patch(f"{REC}/invoice/{second}", json={"externalId": "inv_a"}).status_code == 204
    assert ns.get(f"{REC}/invoice/eid:inv_a").json()["id"] == second  # a freed id is reusable

    paid = pay(ns, cid, first, 60.0, externalId="pay_1")
    payment = paid.headers["location"].rsplit("/", 1)[1]
    assert ns.get(f"{REC}/invoice/{first}").json()["amountRemaining"] == 40.0
    moved = {"items": [{"doc": {"id": second}, "apply": True, "amount": 60.0}]}
    assert ns.patch(f"{REC}/customerpayment/{payment}", json={"apply": moved}).status_code == 204
    assert ns.get(f"{REC}/invoice/{first}").json()["amountRemaining"] == 100.0
    assert ns.get(f"{REC}/invoice/{second}").json()["amountRemaining"] == 40.0
    assert ns.delete(f"{REC}/customerpayment/{payment}").status_code == 204
    assert ns.get(f"{REC}/invoice/{second}").json()["amountRemaining"] == 100.0
    assert ns.get(f"{REC}/customerpayment/eid:pay_1").status_code == 404
    assert pay(ns, cid, second, 100.0, externalId="pay_1").status_code == 204  # its id is free again
    assert ns.get(f"{REC}/invoice/{second}").json()["status"] == "Paid In Full"
