"""What the Stripe sandbox keeps of what grows with traffic: events and idempotency keys within
their retention limits (the oldest dropped, the business objects kept), and the bulky objects
(invoices with their lines, payment intents, charges) archived compactly beyond the most recently
used ones yet served, listed, searched and changed exactly as live ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.support.procs import sandbox, wait_until
from tests.support.stripe_sdk import DEMO_KEY, all_event_ids, sdk_client

pytestmark = pytest.mark.integration

KEY = DEMO_KEY


def _raw(base: str, path: str, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {KEY}"}
    return httpx.get(f"{base}{path}", params=params, headers=headers).raise_for_status().json()


def _retention(base: str) -> dict[str, Any]:
    row: dict[str, Any] = httpx.get(f"{base}/__sandbox/retention").json()["data"][0]
    return row


def test_events_and_idempotency_keys_are_kept_within_their_limits() -> None:
    env = {
        "STRIPE_SANDBOX_SECRET_KEYS": KEY,
        "STRIPE_SANDBOX_EVENT_RETENTION_COUNT": "5",
        "STRIPE_SANDBOX_IDEMPOTENCY_RETENTION_COUNT": "3",
    }
    with sandbox("stripe", env=env) as base:
        client = sdk_client(base)
        keys = [f"create-{uuid.uuid4().hex}" for _ in range(8)]
        customers = [
            client.v1.customers.create(params={"name": f"Kept {i}"}, options={"idempotency_key": key}).id
            for i, key in enumerate(keys)
        ]
        events = client.v1.events.list(params={"limit": 100})
        retention = httpx.get(f"{base}/__sandbox/retention").json()["data"][0]

        # the 5 newest events, newest first; the older ones are gone, their objects are not
        assert [e.data.object["id"] for e in events.data] == customers[:2:-1]
        assert retention == {**retention, "events": 5, "events_dropped": 3, "idempotency_keys": 3}
        newest = httpx.get(
            f"{base}/v1/events", params={"limit": 1}, headers={"Authorization": f"Bearer {KEY}"}
        ).json()["data"][0]
        assert newest["object"] == "event" and newest["data"]["object"]["id"] == customers[-1]
        assert all(client.v1.customers.retrieve(c).id == c for c in customers)

        def replay(i: int) -> httpx.Response:
            return httpx.post(
                f"{base}/v1/customers",
                data={"name": f"Kept {i}"},
                headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": keys[i]},
            )

        kept = replay(7)
        assert kept.headers.get("Idempotent-Replayed") == "true" and kept.json()["id"] == customers[7]
        forgotten = replay(0)  # past the limit the key is forgotten, as Stripe forgets it after 24 h
        assert "Idempotent-Replayed" not in forgotten.headers and forgotten.json()["id"] != customers[0]


def test_events_older_than_the_retention_window_are_dropped() -> None:
    env = {"STRIPE_SANDBOX_SECRET_KEYS": KEY, "STRIPE_SANDBOX_EVENT_RETENTION_SECONDS": "2"}
    with sandbox("stripe", env=env) as base:
        client = sdk_client(base)
        first = client.v1.customers.create(params={"name": "Aged"})
        first_event = client.v1.events.list(params={"limit": 1}).data[0]
        assert first_event.data.object["id"] == first.id

        def aged_out() -> bool:
            client.v1.customers.create(params={"name": "Later"})  # recording an event trims
            return first_event.id not in all_event_ids(client)

        wait_until(aged_out, timeout=15, interval=0.3, message="the first event to age out")
        with pytest.raises(stripe.InvalidRequestError) as missing:
            client.v1.events.retrieve(first_event.id)
        assert missing.value.code == "resource_missing"
        assert client.v1.customers.retrieve(first.id).id == first.id  # the data itself is kept


@pytest.fixture(scope="module")
def archiving() -> Iterator[str]:
    """A sandbox keeping only 2 live objects per archivable kind: nearly everything is archived."""
    env = {"STRIPE_SANDBOX_SECRET_KEYS": KEY, "STRIPE_SANDBOX_HOT_OBJECTS_PER_KIND": "2"}
    with sandbox("stripe", env=env) as base:
        yield base


def test_archived_invoices_are_listed_retrieved_and_changed_like_live_ones(archiving: str) -> None:
    client = sdk_client(archiving)
    product = client.v1.products.create(params={"name": "Platform"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 5000,
            "recurring": {"interval": "month"},
        }
    )
    batch = uuid.uuid4().hex
    customers = [
        client.v1.customers.create(params={"name": f"Archived {i}", "metadata": {"batch": batch}}).id
        for i in range(4)
    ]
    subs = [
        client.v1.subscriptions.create(
            params={
                "customer": c,
                "items": [{"price": price.id, "quantity": 2}],
                "collection_method": "send_invoice",
                "days_until_due": 30,
            }
        )
        for c in customers
    ]
    invoice_ids = [str(s.latest_invoice) for s in subs]
    first = invoice_ids[0]
    assert _retention(archiving)["archived"]["invoice"] >= 2  # only two of four are live

    # listed (filtered by customer and status) while archived: the whole object, lines included
    listed = _raw(archiving, "/v1/invoices", customer=customers[0], status="open")["data"]
    assert [i["id"] for i in listed] == [first]
    assert listed[0]["lines"]["data"][0]["quantity"] == 2 and listed[0]["amount_due"] == 10000
    by_subscription = _raw(archiving, "/v1/invoices", subscription=subs[0].id)["data"]
    assert [i["id"] for i in by_subscription] == [first]
    found = client.v1.invoices.search(params={"query": f"customer:'{customers[0]}'"}).data
    assert [i.id for i in found] == [first]
    # retrieving inflates it back: the same object as listed
    assert _raw(archiving, f"/v1/invoices/{first}") == listed[0]
    lines = _raw(archiving, f"/v1/invoices/{first}/lines")["data"]
    assert [line["id"] for line in lines] == [line["id"] for line in listed[0]["lines"]["data"]]

    # changed after being archived, then archived again (others used meanwhile): the change stays
    client.v1.invoices.pay(first, params={"payment_method": "pm_card_visa"})
    for other in invoice_ids[1:]:
        client.v1.invoices.retrieve(other)
    assert _retention(archiving)["archived"]["invoice"] >= 2
    paid = _raw(archiving, "/v1/invoices", customer=customers[0], expand=["data.customer"])["data"][0]
    assert (
        paid["status"] == "paid" and paid["amount_paid"] == 10000 and paid["customer"]["id"] == customers[0]
    )
    payment = paid["payments"]["data"][0]
    assert payment["status"] == "paid"
    payments = _raw(archiving, "/v1/invoice_payments", invoice=first)["data"]
    assert [p["id"] for p in payments] == [payment["id"]] and payments[0]["status"] == "paid"

    # the payment intent and charge, archived too, are found by filter and by id, and refundable
    intent_id = payment["payment"]["payment_intent"]
    for other in invoice_ids[1:3]:
        client.v1.invoices.pay(other, params={"payment_method": "pm_card_visa"})
    assert _retention(archiving)["archived"]["charge"] >= 1
    charges = _raw(archiving, "/v1/charges", payment_intent=intent_id)["data"]
    assert len(charges) == 1 and charges[0]["amount"] == 10000
    client.v1.refunds.create(params={"charge": charges[0]["id"], "amount": 2500})
    for other in invoice_ids[1:3]:
        client.v1.charges.list(params={"customer": customers[invoice_ids.index(other)]})
        client.v1.payment_intents.list(params={"customer": customers[invoice_ids.index(other)]})
    charge = client.v1.charges.retrieve(charges[0]["id"])
    assert charge.amount_refunded == 2500 and [r.amount for r in charge.refunds.data] == [2500]
    assert client.v1.payment_intents.retrieve(intent_id).status == "succeeded"


def test_the_archive_never_leaves_more_live_objects_than_the_limit(archiving: str) -> None:
    client = sdk_client(archiving)
    customer = client.v1.customers.create(params={"name": "Many invoices"})
    for i in range(6):
        invoice = client.v1.invoices.create(params={"customer": customer.id})
        client.v1.invoice_items.create(
            params={"customer": customer.id, "invoice": invoice.id, "amount": 100 + i, "currency": "usd"}
        )
        client.v1.invoices.finalize_invoice(invoice.id)

    row = _retention(archiving)
    total = len(_raw(archiving, "/v1/invoices", limit=100)["data"])
    listed = _raw(archiving, "/v1/invoices", customer=customer.id, limit=100)["data"]

    assert total >= 6 and total - row["archived"]["invoice"] == 2
    assert sorted(i["amount_due"] for i in listed) == [100, 101, 102, 103, 104, 105]
    assert all(i["status"] == "open" and len(i["lines"]["data"]) == 1 for i in listed)
