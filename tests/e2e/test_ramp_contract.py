"""The seed's contract, whole: a three-year CPQ ramp with a seat phase-in and usage overages, driven
across a Stripe test clock advanced three years, with an upsell in year 2.

Salesforce holds the contract as CPQ does (one subscription record per segment, the usage line's
consumption rates); revbridge turns it into a subscription schedule; usage goes in through the
gateway each month; every invoice of every phase must bill the right lines and amounts and reach
NetSuite once; the revenue NetSuite recognises over the term must equal the contract value plus
the billed overages to the cent. Every assertion reads the platforms themselves.
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from scripts import seed
from scripts.ramp_contract import (
    INCLUDED_CALLS,
    METER_EVENT,
    METER_PRICE,
    TERM_MONTHS,
    add_months,
    seed_ramp_contract,
    seed_stripe_meter,
)
from scripts.stack import Stack
from tests.e2e import money
from tests.support.procs import wait_until

UPSELL_AT = 15
"""Month index (from 0) the year-2 upsell of 50 seats takes effect, for the rest of the term."""
UPSELL_SEATS = 50
DEFERRED_REVENUE = "3"  # NetSuite account (config/mappings.yaml ledger)


def ts(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def calls(k: int) -> int:
    """API calls used in month ``k``: under the allowance in even months, over it in odd ones."""
    return 90_000 if k % 2 == 0 else INCLUDED_CALLS + 5_000 * k


def overage_cents(k: int) -> int:
    return int(max(calls(k) - INCLUDED_CALLS, 0) * Decimal("0.2"))  # $0.002 a call


def products(sf: httpx.Client) -> dict[str, str]:
    out = {}
    for code in ("PLAT-ENT", "SEAT", "API-CALLS"):
        rows = sf.get("/query", params={"q": f"SELECT Id FROM Product2 WHERE ProductCode = '{code}'"}).json()
        out[code] = (
            rows["records"][0]["Id"]
            if rows["records"]
            else seed.sf_create(sf, "Product2", {"Name": code, "ProductCode": code, "IsActive": True})
        )
    return out


def send_usage(stack: Stack, token: str, contract_id: str, k: int, at: int) -> dict[str, Any]:
    """Month ``k``'s usage as ten events in one batch, through the gateway."""
    total, parts = calls(k), 10
    events = [
        {
            "event_id": f"{contract_id}-{k}-{i}",
            "contract_id": contract_id,
            "meter": METER_EVENT,
            "quantity": str(total // parts + (total % parts if i == 0 else 0)),
            "timestamp": dt.datetime.fromtimestamp(at, dt.UTC).isoformat(),
        }
        for i in range(parts)
    ]
    response = httpx.post(
        f"{stack.url('gateway')}/process/v1/usage/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"usage-{contract_id}-{k}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def metered_in_stripe(stripe: httpx.Client, meter_id: str, customer: str, start: int, end: int) -> int:
    rows = stripe.get(
        f"/v1/billing/meters/{meter_id}/event_summaries",
        params={"customer": customer, "start_time": start, "end_time": end},
    ).raise_for_status()
    return int(sum(Decimal(str(r["aggregated_value"])) for r in rows.json()["data"]))


def advance(stripe: httpx.Client, clock: str, to: int) -> None:
    stripe.post(f"/v1/test_helpers/test_clocks/{clock}/advance", data={"frozen_time": to}).raise_for_status()
    wait_until(
        lambda: stripe.get(f"/v1/test_helpers/test_clocks/{clock}").json()["status"] == "ready",
        timeout=60,
        message="the test clock to advance",
    )


def upsell(sf: httpx.Client, contract_id: str, account_id: str, seat_product: str, start: dt.date) -> None:
    """CPQ's amendment: a delta subscription of 50 seats per remaining segment, from month 16."""
    for first, stop, price in ((UPSELL_AT, 24, "27.50"), (24, TERM_MONTHS, "30.00")):
        months = stop - first
        seed.sf_create(
            sf,
            "SBQQ__Subscription__c",
            {
                "SBQQ__Contract__c": contract_id,
                "SBQQ__Account__c": account_id,
                "SBQQ__Product__c": seat_product,
                "SBQQ__Quantity__c": UPSELL_SEATS,
                "SBQQ__NetPrice__c": float(Decimal(price) * months),
                "SBQQ__SegmentStartDate__c": add_months(start, first).isoformat(),
                "SBQQ__SegmentEndDate__c": (add_months(start, stop) - dt.timedelta(days=1)).isoformat(),
                "SBQQ__SegmentIndex__c": 1 if first == UPSELL_AT else 2,
                "SBQQ__SegmentKey__c": f"{contract_id}:SEAT:upsell",
                "SBQQ__ChargeType__c": "Recurring",
                "CurrencyIsoCode": "USD",
            },
        )
    # CPQ re-saves the contract on amending: its new version stamp is the amendment's revision
    sf.patch(f"/sobjects/Contract/{contract_id}", json={"ContractTerm": TERM_MONTHS}).raise_for_status()


@pytest.mark.timeout(900)
def test_a_three_year_ramp_with_usage_bills_posts_and_recognises_to_the_cent(stack: Stack) -> None:
    seed.seed_catalogues(stack)
    with money.stripe_http(stack) as stripe:
        seed_stripe_meter(stripe)
        meter_id = next(
            m["id"] for m in stripe.get("/v1/billing/meters").json()["data"] if m["event_name"] == METER_EVENT
        )
        calls_product = stripe.get("/v1/prices", params={"lookup_keys[0]": METER_PRICE}).json()["data"][0][
            "product"
        ]
        # the clock starts five years out, so no other contract of the session shares its months
        # (the waterfall sums every contract of the entity)
        now = int(time.time()) + 5 * 365 * 86_400
        clock = (
            stripe.post("/v1/test_helpers/test_clocks", data={"frozen_time": now}).raise_for_status().json()
        )
        start = dt.datetime.fromtimestamp(now, dt.UTC).date()
        suffix = uuid.uuid4().hex[:6]
        with seed.salesforce_client(stack.url("salesforce")) as sf:
            catalogue = products(sf)
            account = seed.sf_create(
                sf, "Account", {"Name": f"Ramp {suffix}", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
            )
            # a QA customer provisioned on a test clock: onboarding finds it by its CRM account id
            customer = (
                stripe.post(
                    "/v1/customers",
                    data={
                        "name": f"Ramp {suffix}",
                        "test_clock": clock["id"],
                        "metadata[revbridge_crm_account_id]": account,
                        "metadata[revbridge_currency]": "USD",
                    },
                )
                .raise_for_status()
                .json()["id"]
            )
            ramp = seed_ramp_contract(
                lambda sobject, fields: seed.sf_create(sf, sobject, fields),
                account,
                catalogue,
                start,
                f"Ramp {suffix}",
            )
            seed.activate(sf, ramp.contract_id)
            wait_until(
                lambda: (
                    sf.get(f"/sobjects/Contract/{ramp.contract_id}").json().get("Billing_Subscription_Id__c")
                ),
                timeout=60,
                message="the ramp contract to be onboarded",
            )
            schedules = stripe.get("/v1/subscription_schedules", params={"customer": customer}).json()["data"]
            assert len(schedules) == 1 and len(schedules[0]["phases"]) == 4  # one phase per segment boundary
            token = seed.gateway_token(stack.url("gateway"), seed.PARTNER_CLIENT)
            clock_now = now
            for k in range(TERM_MONTHS):
                answer = send_usage(stack, token, ramp.contract_id, k, clock_now)
                assert [e["status"] for e in answer["results"]] == ["accepted"] * 10, answer
                if k == 3:  # the same batch again: every event a duplicate, nothing counted twice
                    again = send_usage(stack, token, ramp.contract_id, k, clock_now)
                    assert answer == again  # replayed under the same Idempotency-Key
                period = (ts(add_months(start, k)), ts(add_months(start, k + 1)))
                wait_until(
                    lambda period=period, k=k: (
                        metered_in_stripe(stripe, meter_id, customer, *period) == calls(k)
                    ),
                    timeout=30,
                    message=f"month {k}'s usage in Stripe",
                )
                if k == UPSELL_AT - 1:
                    upsell(sf, ramp.contract_id, account, catalogue["SEAT"], start)
                    onboarded = httpx.post(
                        f"{stack.url('process')}/v1/onboardings", json={"contract_id": ramp.contract_id}
                    )
                    assert onboarded.status_code == 202, onboarded.text
                    money.drain(stack)
                clock_now = period[1] + 3600
                advance(stripe, clock["id"], clock_now)
                money.drain(stack, timeout=60)
        invoices = sorted(
            stripe.get("/v1/invoices", params={"customer": customer, "limit": 100}).json()["data"],
            key=lambda i: i["created"],
        )
    upsold = [
        UPSELL_SEATS * (2_750 if k < 24 else 3_000) if k >= UPSELL_AT else 0 for k in range(TERM_MONTHS)
    ]
    expected = [
        (ramp.monthly[k] + upsold[k] if k < TERM_MONTHS else 0, overage_cents(k - 1) if k else 0)
        for k in range(TERM_MONTHS + 1)
    ]
    got = []
    for invoice in invoices:
        usage = sum(line["amount"] for line in invoice["lines"]["data"] if _product_of(line) == calls_product)
        got.append((invoice["subtotal"] - usage, usage))
    assert got == expected
    prorations = [
        line["id"]
        for invoice in invoices
        for line in invoice["lines"]["data"]
        if ((line.get("parent") or {}).get("invoice_item_details") or {}).get("proration")
    ]
    assert prorations == []  # the upsell starts on a period boundary: nothing to prorate, no swapped items
    for invoice in invoices:  # NetSuite holds each invoice once, at Stripe's total
        posted = money.netsuite(stack, "invoice", invoice["id"])
        assert len(posted) == 1 and round(posted[0]["total"] * 100) == invoice["total"], invoice["id"]
    process = stack.url("process")
    after_term = add_months(start, TERM_MONTHS + 2).isoformat()
    for invoice in invoices:
        run = {"as_of": after_term, "invoice_id": invoice["id"], "account": "default"}
        assert httpx.post(f"{process}/v1/revenue/recognition-runs", json=run, timeout=120).status_code == 200
    line_ids = {line["id"] for invoice in invoices for line in invoice["lines"]["data"]}
    recognised = sum(
        _signed(j) for j in money.netsuite(stack, "journalEntry") if j["externalId"].split(":")[0] in line_ids
    )
    contract_value = sum(ramp.monthly) + sum(upsold)
    assert recognised == contract_value + sum(overage_cents(k) for k in range(TERM_MONTHS))

    # the waterfall's past months are NetSuite's, to the cent; the schedule forecast what it billed
    posted: dict[str, int] = {}
    for invoice in invoices:
        month = dt.datetime.fromtimestamp(invoice["created"], dt.UTC).strftime("%Y-%m")
        posted[month] = posted.get(month, 0) + invoice["total"]
    journals: dict[str, int] = {}
    for j in money.netsuite(stack, "journalEntry"):
        line_id, _, month = j["externalId"].partition(":")
        if line_id in line_ids:
            journals[month] = journals.get(month, 0) + _signed(j)
    licensed = {
        dt.datetime.fromtimestamp(i["created"], dt.UTC).strftime("%Y-%m"): amount
        for i, (amount, _) in zip(invoices, got, strict=True)
    }
    last = dt.date.fromisoformat(max(posted) + "-01")
    as_of = add_months(last, 1).strftime(
        "%Y-%m"
    )  # the waterfall's past months: the twelve up to the last invoice
    token = seed.gateway_token(stack.url("gateway"))

    def rows() -> dict[str, dict[str, Any]]:
        response = httpx.get(
            f"{stack.url('gateway')}/experience/v2/revenue/waterfall",
            params={"as_of": as_of, "entity": "US", "currency": "USD", "months": 3},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        (series,) = response.json()["series"]
        return {m["period"]: m for m in series["actuals"]}

    def waterfall() -> dict[str, dict[str, Any]] | None:
        months = rows()
        last_year = sorted(posted)[-12:]
        settled = all(
            m in months
            and months[m]["posted_invoices"] == posted[m]
            and months[m]["recognized"] == journals.get(m, 0)
            for m in last_year
        )
        return months if settled else None

    try:
        months = wait_until(
            waterfall, timeout=90, interval=6, message="the waterfall to show NetSuite's figures"
        )
    except TimeoutError:
        shown = rows()
        wanted = {m: (posted[m], journals.get(m, 0)) for m in sorted(posted)[-12:]}
        got_rows = {
            m: (shown[m]["posted_invoices"], shown[m]["recognized"]) if m in shown else None for m in wanted
        }
        raise AssertionError(f"waterfall {got_rows} != NetSuite {wanted}") from None
    for month in sorted(posted)[-12:]:
        row = months[month]
        assert row["scheduled_billings"] == licensed[month]  # the schedule's forecast = the licensed billing
        assert row["billings_variance"] == posted[month] - licensed[month]  # = usage overage billed

    report = httpx.post(
        f"{process}/v1/reconciliations", json={"grace_seconds": 0, "wait": True}, timeout=600
    ).json()
    ours = {i["id"] for i in invoices} | {ramp.contract_id}
    assert [d for d in report["differences"] if d["business_key"] in ours] == []


def _signed(journal: dict[str, Any]) -> int:
    """A revenue journal's cents: + deferred revenue -> revenue, - the reverse (a credit's entry)."""
    cents = round(journal["total"] * 100)
    return cents if journal["line"][0]["account"] == DEFERRED_REVENUE else -cents


def _product_of(line: dict[str, Any]) -> str | None:
    return ((line.get("pricing") or {}).get("price_details") or {}).get("product")
