"""A phased contract through the system API: a Stripe subscription schedule, created once per
contract version and converged on an amendment (phases still to come rewritten, past ones kept)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import httpx
from revbridge_process.flows.amendments import add_months

from tests.integration.system.conftest import STRIPE_KEY, Stack


def _stripe(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.stripe, auth=(STRIPE_KEY, ""), timeout=15)


def _catalogue(stripe: httpx.Client, suffix: str) -> tuple[str, str]:
    product = stripe.post(
        "/v1/products", data={"name": "Seat", "metadata[revbridge_product_code]": "SEAT"}
    ).json()
    seat = f"seat-{suffix}"
    stripe.post(
        "/v1/prices",
        data={
            "product": product["id"],
            "currency": "usd",
            "unit_amount": 2500,
            "recurring[interval]": "month",
            "lookup_key": seat,
        },
    ).raise_for_status()
    meter = (
        stripe.post(
            "/v1/billing/meters",
            data={
                "display_name": "calls",
                "event_name": f"calls_{suffix}",
                "default_aggregation[formula]": "sum",
                "customer_mapping[event_payload_key]": "stripe_customer_id",
                "customer_mapping[type]": "by_id",
                "value_settings[event_payload_key]": "value",
            },
        )
        .raise_for_status()
        .json()
    )
    usage = f"calls-{suffix}"
    calls = stripe.post(
        "/v1/products", data={"name": "Calls", "metadata[revbridge_product_code]": "API-CALLS"}
    ).json()
    stripe.post(
        "/v1/prices",
        data={
            "product": calls["id"],
            "currency": "usd",
            "unit_amount_decimal": "0.2",
            "recurring[interval]": "month",
            "recurring[usage_type]": "metered",
            "recurring[meter]": meter["id"],
            "lookup_key": usage,
        },
    ).raise_for_status()
    return seat, usage


def _command(
    customer: str, start: dt.date, seat: str, usage: str, revision: str, upsell: bool = False
) -> dict[str, Any]:
    metered = {
        "billing_price_ref": usage,
        "metered": True,
        "included_quantity": "1000",
        "overage_unit_amount": "0.2",
    }
    phases = [
        {
            "start_date": start,
            "end_date": add_months(start, 3),
            "items": [{"billing_price_ref": seat, "quantity": 100, "unit_amount": 2500}, metered],
        },
        {
            "start_date": add_months(start, 3),
            "end_date": add_months(start, 12),
            "items": [
                {"billing_price_ref": seat, "quantity": 250 + (50 if upsell else 0), "unit_amount": 2500},
                metered,
            ],
        },
    ]
    return {
        "customer_id": customer,
        "currency": "USD",
        "phases": [
            {**p, "start_date": p["start_date"].isoformat(), "end_date": p["end_date"].isoformat()}
            for p in phases
        ],
        "revision": revision,
        "term_end": (add_months(start, 12) - dt.timedelta(days=1)).isoformat(),
        "proration_behavior": "none",
    }


def test_a_phased_contract_becomes_one_schedule_and_an_amendment_rewrites_the_phases_to_come(
    stack: Stack,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    with _stripe(stack) as stripe:
        seat, usage = _catalogue(stripe, suffix)
        now = int(time.time())
        clock = stripe.post("/v1/test_helpers/test_clocks", data={"frozen_time": now}).json()
        crm_account, crm_contract = f"001{suffix}0000000", f"800{suffix}0000000"
        customer = stripe.post(
            "/v1/customers",
            data={
                "name": "Ramp",
                "test_clock": clock["id"],
                "metadata[revbridge_crm_account_id]": crm_account,
            },
        ).json()["id"]
        start = dt.datetime.fromtimestamp(now, dt.UTC).date()
        url = f"{stack.api}/v1/billing/default/subscriptions/{crm_contract}"
        first = httpx.put(url, json=_command(customer, start, seat, usage, "r1"), timeout=30)
        again = httpx.put(url, json=_command(customer, start, seat, usage, "r1"), timeout=30)
        assert first.status_code == again.status_code == 200, first.text
        assert (first.json()["created"], again.json()["created"], again.json()["updated"]) == (
            True,
            False,
            False,
        )
        assert first.json()["schedule_id"] and first.json()["id"].startswith("sub_")
        listed = stripe.get("/v1/subscription_schedules", params={"customer": customer}).json()["data"]
        assert len(listed) == 1  # looked up before it is created: never twice
        schedule = listed[0]
        assert [len(p["items"]) for p in schedule["phases"]] == [2, 2]
        assert schedule["metadata"]["revbridge_crm_contract_id"] == crm_contract
        sub = stripe.get(f"/v1/subscriptions/{first.json()['id']}").json()
        assert sub["collection_method"] == "send_invoice"
        assert sub["metadata"]["revbridge_crm_contract_id"] == crm_contract  # invoices name the contract
        metered = [i for i in sub["items"]["data"] if i["price"]["recurring"]["usage_type"] == "metered"]
        assert metered and metered[0]["price"]["lookup_key"].startswith(f"rb_usage_{crm_contract}_")
        tiers = stripe.get(f"/v1/prices/{metered[0]['price']['id']}", params={"expand[]": "tiers"}).json()[
            "tiers"
        ]
        assert [(t["up_to"], t["unit_amount_decimal"]) for t in tiers] == [(1000, "0"), (None, "0.2")]

        updated = httpx.put(url, json=_command(customer, start, seat, usage, "r2", upsell=True), timeout=30)
        assert updated.status_code == 200 and updated.json()["updated"] is True, updated.text
        schedule = stripe.get(f"/v1/subscription_schedules/{schedule['id']}").json()
        quantities = [[i.get("quantity") for i in p["items"]] for p in schedule["phases"]]
        assert quantities[-1][0] == 300 and schedule["metadata"]["revbridge_contract_revision"] == "r2"
        prices = stripe.get(
            "/v1/prices", params={"lookup_keys[0]": metered[0]["price"]["lookup_key"]}
        ).json()["data"]
        assert len(prices) == 1  # the contract's metered price is found again, not made twice


def test_a_phased_command_must_have_contiguous_phases(stack: Stack) -> None:
    bad = {
        "customer_id": "cus_x",
        "currency": "USD",
        "phases": [
            {
                "start_date": "2027-01-01",
                "end_date": "2027-02-01",
                "items": [{"billing_price_ref": "x", "quantity": 1}],
            },
            {
                "start_date": "2027-03-01",
                "end_date": "2027-04-01",
                "items": [{"billing_price_ref": "x", "quantity": 1}],
            },
        ],
    }
    response = httpx.put(
        f"{stack.api}/v1/billing/default/subscriptions/800000000000001AAA", json=bad, timeout=30
    )
    assert response.status_code == 422 and "phases must follow each other" in response.text
