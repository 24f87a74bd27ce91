"""Credit notes, refunds and revenue recognition through the whole stack, in any order.

A pre-payment credit note is applied to the ERP invoice; a post-payment one is a customer credit
that its refund is paid out of; a refund without a credit note draws on a credit of its own. The
refund-before-credit-note and duplicated cases must leave exactly the same NetSuite records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from scripts import seed
from scripts.stack import Stack
from tests.e2e import money

VISA = "pm_card_visa"


def _invoice(billing: httpx.Client, invoice_id: str) -> dict[str, Any]:
    return dict(billing.get(f"/v1/invoices/{invoice_id}").raise_for_status().json())


def test_pre_payment_credit_note_is_applied_and_the_rest_is_paid(stack: Stack) -> None:
    deal = money.onboard(stack, "uk")
    with money.stripe_http(stack, "uk") as billing:
        seats = _invoice(billing, deal.invoice_id)["lines"]["data"][1]
        note = (
            billing.post(
                "/v1/credit_notes",
                data={
                    "invoice": deal.invoice_id,
                    "lines[0][type]": "invoice_line_item",
                    "lines[0][invoice_line_item]": seats["id"],
                    "lines[0][quantity]": 2,
                },
            )
            .raise_for_status()
            .json()
        )
        billing.post(f"/v1/invoices/{deal.invoice_id}/pay", data={"payment_method": VISA}).raise_for_status()
        paid = _invoice(billing, deal.invoice_id)
    money.drain(stack)
    money.redeliver(
        stack, "uk", ("billing.credit_note.created", note["id"]), ("billing.invoice.paid", deal.invoice_id)
    )
    money.drain(stack)
    memo = money.one(stack, "creditMemo", note["id"])
    assert note["type"] == "pre_payment" and round(memo["applied"] * 100) == note["amount"]
    assert [line["item"] for line in memo["item"]] == ["102"]  # the seats line it credits
    erp_invoice = money.one(stack, "invoice", deal.invoice_id)
    assert erp_invoice["status"] == "Paid In Full"
    assert round(erp_invoice["amountPaid"] * 100) == paid["amount_paid"] + note["amount"] == paid["total"]
    assert money.facts(stack, "credit.posted", note["id"])


def _paid_deal(stack: Stack) -> tuple[money.Onboarded, str]:
    deal = money.onboard(stack, "default")
    with money.stripe_http(stack) as billing:
        billing.post(f"/v1/invoices/{deal.invoice_id}/pay", data={"payment_method": VISA}).raise_for_status()
        customer = _invoice(billing, deal.invoice_id)["customer"]
        charge = billing.get("/v1/charges", params={"customer": customer}).json()["data"][0]["id"]
    money.drain(stack)
    return deal, charge


def _refund_state(stack: Stack, note_id: str, refund_id: str) -> tuple[Any, ...]:
    memo = money.one(stack, "creditMemo", note_id)
    refund = money.one(stack, "customerRefund", refund_id)
    return (
        memo["total"],
        memo["applied"],
        memo["unapplied"],
        refund["total"],
        refund["apply"][0]["doc"] == memo["id"],
    )


def test_refund_seen_before_its_credit_note_converges_like_in_order(stack: Stack) -> None:
    outcomes = []
    for order in ("refund first", "in order"):
        deal, _ = _paid_deal(stack)
        with money.holding(stack):
            with money.stripe_http(stack) as billing:
                note = (
                    billing.post(
                        "/v1/credit_notes",
                        data={"invoice": deal.invoice_id, "amount": 5000, "refund_amount": 3000},
                    )
                    .raise_for_status()
                    .json()
                )
            refund_id = note["refunds"][0]["refund"]
            if order == "refund first":
                assert money.release(stack, "charge.refunded") == [
                    "charge.refunded"
                ]  # no memo in the ERP yet
                assert money.netsuite(stack, "creditMemo", note["id"])  # the refund posted the memo itself
            assert "credit_note.created" in money.release(stack)
        money.redeliver(
            stack,
            "default",
            ("billing.credit_note.created", note["id"]),
            ("billing.charge.refunded", _charge_of(stack, refund_id)),
        )
        money.drain(stack)
        outcomes.append(_refund_state(stack, note["id"], refund_id))
    assert outcomes[0] == outcomes[1] == (50.0, 0, 20.0, 30.0, True)


def _charge_of(stack: Stack, refund_id: str) -> str:
    with money.stripe_http(stack) as billing:
        return str(billing.get(f"/v1/refunds/{refund_id}").raise_for_status().json()["charge"])


def test_refund_without_credit_note_draws_on_its_own_credit_once(stack: Stack) -> None:
    deal, charge = _paid_deal(stack)
    with money.stripe_http(stack) as billing:
        refund = (
            billing.post("/v1/refunds", data={"charge": charge, "amount": 2500}).raise_for_status().json()
        )
    money.drain(stack)
    money.redeliver(
        stack, "default", ("billing.charge.refunded", charge), ("billing.charge.refunded", charge)
    )
    money.drain(stack)
    credit = money.one(stack, "creditMemo", f"{refund['id']}:credit")
    erp_refund = money.one(stack, "customerRefund", refund["id"])
    assert (credit["total"], credit["unapplied"], erp_refund["total"]) == (25.0, 0, 25.0)
    assert erp_refund["apply"][0]["doc"] == credit["id"]
    assert money.one(stack, "invoice", deal.invoice_id)["status"] == "Paid In Full"  # the invoice stays paid
    assert money.facts(stack, "refund.posted", refund["id"])


def test_revenue_is_recognised_month_by_month_once_and_read_back_from_the_erp(stack: Stack) -> None:
    deal = money.onboard(stack, "default")
    with money.stripe_http(stack) as billing:
        lines = _invoice(billing, deal.invoice_id)["lines"]["data"]
    process = stack.url("process")
    later = (dt.date.today() + dt.timedelta(days=62)).isoformat()
    run = {"as_of": later, "invoice_id": deal.invoice_id, "account": "default"}
    first = httpx.post(f"{process}/v1/revenue/recognition-runs", json=run, timeout=120)
    again = httpx.post(f"{process}/v1/revenue/recognition-runs", json=run, timeout=120)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["posted"] >= 1 and again.json()["posted"] == 0 and not again.json()["failed"]
    view = httpx.get(f"{process}/v1/revenue/schedules/{deal.invoice_id}", timeout=60).json()
    assert view["recognized"] == sum(line["amount"] for line in lines) and view["deferred"] == 0
    journals = {j["externalId"]: j for j in money.netsuite(stack, "journalEntry")}
    for schedule in view["schedules"]:
        for entry in schedule["entries"]:
            journal = journals[f"{schedule['invoice_line_id']}:{entry['period']}"]
            assert (
                journal["id"] == entry["journal_entry_id"]
                and round(journal["total"] * 100) == entry["amount"]
            )
            debit, credit = journal["line"]
            assert (debit["account"], credit["account"]) == ("3", "4")  # deferred revenue → revenue
    assert len([k for k in journals if k.split(":")[0] in {line["id"] for line in lines}]) == sum(
        len(s["entries"]) for s in view["schedules"]
    )
    gateway = stack.url("gateway")
    token = seed.gateway_token(gateway)  # internal client: reports:read, exceptions:write
    through = httpx.get(
        f"{gateway}/process/v1/revenue/schedules/{deal.invoice_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert through.status_code == 200 and through.json()["recognized"] == view["recognized"]
    partner = seed.gateway_token(gateway, seed.PARTNER_CLIENT)
    refused = httpx.post(
        f"{gateway}/process/v1/revenue/recognition-runs",
        json={},
        headers={"Authorization": f"Bearer {partner}"},
        timeout=30,
    )
    assert refused.status_code in (401, 403)  # internal operation: partners never reach it
    bad = httpx.post(f"{process}/v1/revenue/recognition-runs", json={"account": "nope"}, timeout=30)
    assert bad.status_code == 422 and bad.json()["invalid_params"][0]["name"] == "account"
