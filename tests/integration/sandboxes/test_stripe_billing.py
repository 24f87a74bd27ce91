"""The Stripe sandbox's billing depth: object shapes against Stripe's official fixtures, test clocks
driving renewals, refunds and credit notes, invoice items, prorations, schedules and meters.

One sandbox process serves the module (starting one costs seconds); a local receiver collects its
signed webhooks.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.support.procs import free_port, sandbox, wait_until

pytestmark = pytest.mark.integration

KEY = "sk_test_revbridge_demo"
FIXTURES = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "stripe-fixtures3-subset.json").read_text()
)["resources"]
T0 = 1767225600  # 2026-01-01T00:00:00Z
YEAR_LATER = 1798761600  # 2027-01-01T00:00:00Z


class Receiver:
    """Collects verified webhook events (``stripe.Webhook.construct_event``) from the sandbox."""

    def __init__(self) -> None:
        self.events: list[stripe.Event] = []
        self.lock = threading.Lock()
        self.url = ""
        self.secret = ""

    def of_type(self, event_type: str) -> list[stripe.Event]:
        with self.lock:
            return [e for e in self.events if e.type == event_type]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
            event = stripe.Webhook.construct_event(body, self.headers["Stripe-Signature"], rec.secret)
            with rec.lock:
                rec.events.append(event)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base(receiver: Receiver) -> Iterator[str]:
    """The sandbox, with the receiver subscribed to ``invoice.paid`` only (fewer deliveries, faster)."""
    with sandbox("stripe") as url:
        endpoint = httpx.post(
            f"{url}/v1/webhook_endpoints",
            data={"url": receiver.url, "enabled_events[0]": "invoice.paid"},
            auth=(KEY, ""),
        ).json()
        receiver.secret = endpoint["secret"]
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": base})


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, auth=(KEY, "")) as session:
        yield session


def call(http: httpx.Client, method: str, path: str, **params: Any) -> dict[str, Any]:
    """One raw API call with form params (nested dicts/lists flattened Stripe's way)."""
    flat = list(_flatten(params))
    if method == "GET":
        response = http.request(method, path, params=flat)
    else:
        response = http.request(method, path, data=dict(flat))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}[{k}]" if prefix else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{prefix}[{i}]")
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    else:
        yield prefix, str(value)


def monthly_price(http: httpx.Client, amount: int = 1500, **recurring: str) -> dict[str, Any]:
    product = call(http, "POST", "/v1/products", name=f"Plan {uuid.uuid4().hex[:6]}")
    return call(
        http,
        "POST",
        "/v1/prices",
        product=product["id"],
        currency="usd",
        unit_amount=amount,
        recurring={"interval": "month", **recurring},
    )


# --- shapes ---------------------------------------------------------------------------------------

# Fields Stripe's spec marks nullable where the fixture shows a value; null is a correct answer.
NULLABLE = {
    "customer": {"address", "currency", "discount", "invoice_settings.rendering_options", "shipping"},
    "product": {"default_price", "description", "package_dimensions"},
    "price": {"custom_unit_amount", "transform_quantity"},
    "subscription": {
        "automatic_tax.liability",
        "billing_cycle_anchor_config",
        "billing_mode.flexible",
        "billing_thresholds",
        "cancel_at",
        "canceled_at",
        "ended_at",
        "items.data.billing_thresholds",
        "items.data.price.custom_unit_amount",
        "items.data.price.transform_quantity",
        "items.data.plan.transform_usage",
        "next_pending_invoice_item_invoice",
        "pause_collection",
        "payment_settings.payment_method_options",
        "payment_settings.save_default_payment_method",
        "pending_invoice_item_interval",
        "pending_update",
        "transfer_data",
        "trial_end",
        "trial_start",
    },
    "invoice": {
        "automatic_tax.liability",
        "customer_address",
        "customer_shipping",
        "due_date",
        "from_invoice",
        "last_finalization_error",
        "lines.data.parent.invoice_item_details",
        "lines.data.parent.subscription_item_details.proration_details.credited_items",
        "next_payment_attempt",
        "parent.quote_details",
        "payment_settings.payment_method_options",
        "rendering",
        "shipping_cost",
        "shipping_details",
        "webhooks_delivered_at",
    },
    "event": set(),
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def shape_differences(fixture: Any, actual: Any, nullable: set[str], path: str = "") -> list[str]:
    """Fixture fields missing from ``actual`` or of another JSON type (lists: every element)."""
    problems: list[str] = []
    for key, expected in fixture.items():
        where = f"{path}.{key}" if path else key
        if key not in actual:
            problems.append(f"missing {where}")
            continue
        value = actual[key]
        if expected is None or (value is None and where in nullable):
            continue
        if _json_type(expected) != _json_type(value):
            problems.append(f"{where}: {_json_type(value)}, fixture has {_json_type(expected)}")
        elif isinstance(expected, dict) and where != "data.object":
            problems += shape_differences(expected, value, nullable, where)
        elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
            for element in value:
                problems += shape_differences(expected[0], element, nullable, where)
    return problems


def test_objects_have_every_fixture_field_with_its_json_type(http: httpx.Client) -> None:
    customer = call(http, "POST", "/v1/customers", email="shape@acme.test")
    price = monthly_price(http)
    product = call(http, "GET", f"/v1/products/{price['product']}")
    sub = call(
        http,
        "POST",
        "/v1/subscriptions",
        customer=customer["id"],
        items=[{"price": price["id"]}],
        default_payment_method=attached(http, "pm_card_visa", customer["id"]),
    )
    invoice = call(http, "GET", f"/v1/invoices/{sub['latest_invoice']}")
    event = call(http, "GET", "/v1/events", limit=1)["data"][0]
    produced = {
        "customer": customer,
        "product": product,
        "price": price,
        "subscription": sub,
        "invoice": invoice,
        "event": event,
    }

    problems = {
        name: shape_differences(FIXTURES[name], obj, NULLABLE[name]) for name, obj in produced.items()
    }

    assert problems == {name: [] for name in produced}
    assert {name: obj["object"] for name, obj in produced.items()} == {
        name: FIXTURES[name]["object"] for name in produced
    }


# --- test clocks ----------------------------------------------------------------------------------


def advance(http: httpx.Client, clock_id: str, to: int) -> dict[str, Any]:
    started = call(http, "POST", f"/v1/test_helpers/test_clocks/{clock_id}/advance", frozen_time=to)
    assert started["status"] == "advancing"
    assert started["status_details"]["advancing"]["target_frozen_time"] == to

    def ready() -> dict[str, Any] | None:
        clock = call(http, "GET", f"/v1/test_helpers/test_clocks/{clock_id}")
        return clock if clock["status"] == "ready" else None

    clock: dict[str, Any] = wait_until(ready, timeout=20, message="test clock ready")
    return clock


def attached(http: httpx.Client, test_card: str, customer_id: str) -> str:
    """A card of the customer's own made from one of Stripe's test cards."""
    return str(call(http, "POST", f"/v1/payment_methods/{test_card}/attach", customer=customer_id)["id"])


def clock_customer(http: httpx.Client, pm: str | None = "pm_card_visa") -> tuple[str, dict[str, Any]]:
    clock = call(http, "POST", "/v1/test_helpers/test_clocks", frozen_time=T0, name="renewals")
    params: dict[str, Any] = {"email": "clock@acme.test", "test_clock": clock["id"]}
    if pm:  # as Stripe's docs do: attach the test card and make it the default in one call
        params["payment_method"] = pm
        params["invoice_settings"] = {"default_payment_method": pm}
    return clock["id"], call(http, "POST", "/v1/customers", **params)


def test_a_year_on_the_clock_renews_monthly_twelve_times_and_delivers_invoice_paid(
    http: httpx.Client, receiver: Receiver
) -> None:
    clock_id, customer = clock_customer(http)
    price = monthly_price(http)
    sub = call(http, "POST", "/v1/subscriptions", customer=customer["id"], items=[{"price": price["id"]}])

    clock = advance(http, clock_id, YEAR_LATER)
    invoices = call(http, "GET", "/v1/invoices", subscription=sub["id"], limit=100)["data"]
    renewed = call(http, "GET", f"/v1/subscriptions/{sub['id']}")
    ids = {i["id"] for i in invoices}

    def all_paid_delivered() -> list[stripe.Event] | None:
        paid = [e for e in receiver.of_type("invoice.paid") if e.data.object["id"] in ids]
        return paid if len(paid) == 13 else None

    paid_events = wait_until(all_paid_delivered, timeout=20, message="13 invoice.paid webhooks")
    clock_events = call(http, "GET", "/v1/events", type="test_helpers.test_clock.*", limit=100)["data"]

    assert sub["created"] == T0 and clock["frozen_time"] == YEAR_LATER
    assert [i["billing_reason"] for i in invoices] == ["subscription_cycle"] * 12 + ["subscription_create"]
    assert {i["status"] for i in invoices} == {"paid"} and {i["amount_paid"] for i in invoices} == {1500}
    assert sorted(i["period_start"] for i in invoices)[1] == 1769904000  # 2026-02-01: anchored months
    assert renewed["status"] == "active" and renewed["items"]["data"][0]["current_period_start"] == YEAR_LATER
    assert len({e.id for e in paid_events}) == 13
    assert {e["type"] for e in clock_events if e["data"]["object"]["id"] == clock_id} >= {
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.ready",
    }


def test_declining_card_fails_the_renewal_and_the_subscription_goes_past_due(http: httpx.Client) -> None:
    clock_id, customer = clock_customer(http)
    price = monthly_price(http, 900)
    sub = call(
        http,
        "POST",
        "/v1/subscriptions",
        customer=customer["id"],
        items=[{"price": price["id"]}],
        default_payment_method=attached(http, "pm_card_visa", customer["id"]),
    )
    declining = attached(http, "pm_card_chargeDeclined", customer["id"])
    call(http, "POST", f"/v1/subscriptions/{sub['id']}", default_payment_method=declining)

    advance(http, clock_id, T0 + 32 * 86400)
    latest = call(http, "GET", f"/v1/subscriptions/{sub['id']}", **{"expand[]": "latest_invoice"})
    failed = call(http, "GET", "/v1/events", type="invoice.payment_failed", limit=10)["data"]

    assert latest["status"] == "past_due"
    assert latest["latest_invoice"]["status"] == "open"
    assert latest["latest_invoice"]["billing_reason"] == "subscription_cycle"
    assert latest["latest_invoice"]["id"] in [e["data"]["object"]["id"] for e in failed]


def test_advancing_backwards_is_400_and_delete_removes_the_clocks_customers(http: httpx.Client) -> None:
    clock_id, customer = clock_customer(http, pm=None)
    backwards = http.post(f"/v1/test_helpers/test_clocks/{clock_id}/advance", data={"frozen_time": T0 - 1})
    deleted = http.delete(f"/v1/test_helpers/test_clocks/{clock_id}")

    assert backwards.status_code == 400 and backwards.json()["error"]["param"] == "frozen_time"
    assert deleted.json() == {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}
    assert http.get(f"/v1/customers/{customer['id']}").status_code == 404


# --- charges, refunds, credit notes ---------------------------------------------------------------


def subscribe(http: httpx.Client, amount: int = 3000, **params: Any) -> dict[str, Any]:
    customer = call(http, "POST", "/v1/customers", email="money@acme.test")
    price = monthly_price(http, amount)
    if "default_payment_method" in params:  # Stripe's rule: attached to the customer first
        params["default_payment_method"] = attached(http, params["default_payment_method"], customer["id"])
    return call(
        http,
        "POST",
        "/v1/subscriptions",
        customer=customer["id"],
        items=[{"price": price["id"]}],
        expand=["latest_invoice.payments"],
        **params,
    )


def test_refunds_partial_then_full_update_the_charge_and_emit_events(http: httpx.Client) -> None:
    sub = subscribe(http, default_payment_method="pm_card_visa")
    intent_id = sub["latest_invoice"]["payments"]["data"][0]["payment"]["payment_intent"]
    charge_id = call(http, "GET", f"/v1/payment_intents/{intent_id}")["latest_charge"]

    partial = call(http, "POST", "/v1/refunds", payment_intent=intent_id, amount=1000)
    rest = call(http, "POST", "/v1/refunds", charge=charge_id, reason="requested_by_customer")
    charge = call(http, "GET", f"/v1/charges/{charge_id}")
    too_much = http.post("/v1/refunds", data={"charge": charge_id, "amount": 1})
    events = call(http, "GET", "/v1/events", types=["refund.created", "charge.refunded"], limit=10)["data"]

    assert charge_id.startswith("ch_") and charge["status"] == "succeeded" and charge["paid"] is True
    assert (partial["amount"], rest["amount"]) == (1000, 2000)
    assert partial["charge"] == charge_id and rest["payment_intent"] == intent_id
    assert charge["amount_refunded"] == 3000 and charge["refunded"] is True
    assert [r["id"] for r in charge["refunds"]["data"]] == [rest["id"], partial["id"]]
    assert too_much.status_code == 400 and too_much.json()["error"]["type"] == "invalid_request_error"
    assert [e["type"] for e in events][:4] == ["charge.refunded", "refund.created"] * 2
    assert [r["id"] for r in call(http, "GET", "/v1/refunds", charge=charge_id)["data"]] == [
        rest["id"],
        partial["id"],
    ]


def test_credit_note_on_an_open_invoice_reduces_what_is_due_and_void_restores_it(
    http: httpx.Client,
) -> None:
    sub = subscribe(http, collection_method="send_invoice", days_until_due=30)
    invoice = sub["latest_invoice"]
    line_id = invoice["lines"]["data"][0]["id"]

    note = call(
        http,
        "POST",
        "/v1/credit_notes",
        invoice=invoice["id"],
        lines=[{"type": "invoice_line_item", "invoice_line_item": line_id, "amount": 1200}],
        reason="order_change",
    )
    credited = call(http, "GET", f"/v1/invoices/{invoice['id']}")
    voided = call(http, "POST", f"/v1/credit_notes/{note['id']}/void")
    restored = call(http, "GET", f"/v1/invoices/{invoice['id']}")
    events = call(http, "GET", "/v1/events", type="credit_note.*", limit=10)["data"]

    assert note["type"] == "pre_payment" and note["amount"] == 1200 and note["status"] == "issued"
    assert note["lines"]["data"][0]["invoice_line_item"] == line_id
    assert credited["pre_payment_credit_notes_amount"] == 1200 and credited["amount_remaining"] == 1800
    assert voided["status"] == "void" and voided["voided_at"] is not None
    assert restored["pre_payment_credit_notes_amount"] == 0 and restored["amount_remaining"] == 3000
    assert [e["type"] for e in events][:2] == ["credit_note.voided", "credit_note.created"]
    assert call(http, "GET", "/v1/credit_notes", invoice=invoice["id"])["data"][0]["id"] == note["id"]


def test_credit_note_on_a_paid_invoice_is_post_payment_and_can_refund(http: httpx.Client) -> None:
    sub = subscribe(http, default_payment_method="pm_card_visa")
    invoice = sub["latest_invoice"]

    note = call(http, "POST", "/v1/credit_notes", invoice=invoice["id"], amount=500, refund_amount=500)
    credited = call(http, "GET", f"/v1/invoices/{invoice['id']}")
    refund = call(http, "GET", f"/v1/refunds/{note['refunds'][0]['refund']}")
    over = http.post("/v1/credit_notes", data={"invoice": invoice["id"], "amount": 2600})

    assert note["type"] == "post_payment" and note["post_payment_amount"] == 500
    assert credited["post_payment_credit_notes_amount"] == 500 and credited["status"] == "paid"
    assert refund["amount"] == 500
    assert over.status_code == 400 and over.json()["error"]["param"] == "amount"


# --- invoice items, manual invoices, prorations, schedules, meters -------------------------------


def test_manual_invoice_sweeps_pending_items_only_when_asked_and_drafts_can_be_deleted(
    http: httpx.Client,
) -> None:
    customer = call(http, "POST", "/v1/customers", email="manual@acme.test")
    product = call(http, "POST", "/v1/products", name="Setup fee")
    one_time = call(http, "POST", "/v1/prices", product=product["id"], currency="usd", unit_amount=700)
    flat = call(http, "POST", "/v1/invoiceitems", customer=customer["id"], amount=500, currency="usd")
    priced = call(
        http,
        "POST",
        "/v1/invoiceitems",
        customer=customer["id"],
        pricing={"price": one_time["id"]},
        quantity=2,
    )

    swept = call(
        http, "POST", "/v1/invoices", customer=customer["id"], pending_invoice_items_behavior="include"
    )
    empty = call(http, "POST", "/v1/invoices", customer=customer["id"])
    deleted = http.delete(f"/v1/invoices/{swept['id']}")
    pending = call(http, "GET", "/v1/invoiceitems", customer=customer["id"], pending=True)["data"]
    call(
        http,
        "POST",
        "/v1/invoiceitems",
        customer=customer["id"],
        amount=250,
        currency="usd",
        invoice=empty["id"],
    )
    finalized = call(http, "POST", f"/v1/invoices/{empty['id']}/finalize")

    assert (flat["amount"], priced["amount"]) == (500, 1400)
    assert swept["status"] == "draft" and swept["billing_reason"] == "manual" and swept["total"] == 1900
    assert {li["parent"]["invoice_item_details"]["invoice_item"] for li in swept["lines"]["data"]} == {
        flat["id"],
        priced["id"],
    }
    assert empty["lines"]["data"] == [] and empty["total"] == 0 and empty["auto_advance"] is False
    assert deleted.json() == {"id": swept["id"], "object": "invoice", "deleted": True}
    assert {i["id"] for i in pending} == {flat["id"], priced["id"]}
    assert finalized["status"] == "open" and finalized["amount_due"] == 250
    assert http.delete(f"/v1/invoices/{empty['id']}").status_code == 400


def test_proration_always_invoice_bills_the_difference_and_create_prorations_waits_for_renewal(
    http: httpx.Client,
) -> None:
    clock_id, customer = clock_customer(http)
    price = monthly_price(http, 3100)
    sub = call(http, "POST", "/v1/subscriptions", customer=customer["id"], items=[{"price": price["id"]}])
    item_id = sub["items"]["data"][0]["id"]
    advance(http, clock_id, T0 + 15 * 86400)  # 16 of January's 31 days left

    upgraded = call(
        http,
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        items=[{"id": item_id, "quantity": 2}],
        proration_behavior="always_invoice",
        expand=["latest_invoice"],
    )
    call(http, "POST", f"/v1/subscriptions/{sub['id']}", items=[{"id": item_id, "quantity": 3}])
    pending = call(http, "GET", "/v1/invoiceitems", customer=customer["id"], pending=True)["data"]
    call(
        http,
        "POST",
        f"/v1/subscriptions/{sub['id']}",
        metadata={"note": "no change"},
        proration_behavior="none",
    )
    advance(http, clock_id, T0 + 32 * 86400)
    renewal = call(http, "GET", "/v1/invoices", subscription=sub["id"], limit=1)["data"][0]

    invoice = upgraded["latest_invoice"]
    assert invoice["billing_reason"] == "subscription_update" and invoice["status"] == "paid"
    assert sorted(li["amount"] for li in invoice["lines"]["data"]) == [-1600, 3200]
    assert sorted(i["amount"] for i in pending) == [-3200, 4800] and all(i["proration"] for i in pending)
    assert renewal["billing_reason"] == "subscription_cycle"
    assert renewal["total"] == 3 * 3100 + 1600 and renewal["status"] == "paid"


def test_schedule_phases_follow_the_clock_and_end_by_cancelling(http: httpx.Client) -> None:
    clock_id, customer = clock_customer(http)
    starter, pro = monthly_price(http, 1000), monthly_price(http, 2500)
    schedule = call(
        http,
        "POST",
        "/v1/subscription_schedules",
        customer=customer["id"],
        end_behavior="cancel",
        phases=[
            {"items": [{"price": starter["id"], "quantity": 1}], "iterations": 2},
            {"items": [{"price": pro["id"], "quantity": 2}], "iterations": 1},
        ],
    )
    advance(http, clock_id, T0 + 100 * 86400)
    done = call(http, "GET", f"/v1/subscription_schedules/{schedule['id']}")
    sub = call(http, "GET", f"/v1/subscriptions/{schedule['subscription']}")
    invoices = call(http, "GET", "/v1/invoices", subscription=sub["id"], limit=10)["data"]

    assert schedule["status"] == "active" and schedule["phases"][1]["start_date"] == 1772323200  # 2026-03-01
    assert [i["total"] for i in reversed(invoices)] == [1000, 1000, 5000]
    assert done["status"] == "completed" and sub["status"] == "canceled"
    assert sub["ended_at"] == schedule["phases"][1]["end_date"]


def test_metered_price_bills_summed_meter_events_once_per_identifier(http: httpx.Client) -> None:
    clock_id, customer = clock_customer(http)
    event_name = f"api_calls_{uuid.uuid4().hex[:6]}"
    meter = call(
        http,
        "POST",
        "/v1/billing/meters",
        display_name="API calls",
        event_name=event_name,
        default_aggregation={"formula": "sum"},
    )
    product = call(http, "POST", "/v1/products", name="API")
    price = call(
        http,
        "POST",
        "/v1/prices",
        product=product["id"],
        currency="usd",
        unit_amount=3,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter["id"]},
    )
    sub = call(http, "POST", "/v1/subscriptions", customer=customer["id"], items=[{"price": price["id"]}])
    for identifier, value in (("u-1", 5), ("u-2", 7), ("u-1", 5)):
        call(
            http,
            "POST",
            "/v1/billing/meter_events",
            event_name=event_name,
            identifier=f"{sub['id']}-{identifier}",
            payload={"stripe_customer_id": customer["id"], "value": value},
        )
    advance(http, clock_id, T0 + 32 * 86400)
    invoices = call(http, "GET", "/v1/invoices", subscription=sub["id"], limit=10)["data"]
    unmetered = http.post(
        "/v1/prices",
        data={
            "currency": "usd",
            "unit_amount": 1,
            "product": product["id"],
            "recurring[interval]": "month",
            "recurring[usage_type]": "metered",
        },
    )

    assert meter["id"].startswith("mtr_") and price["recurring"]["meter"] == meter["id"]
    assert [i["total"] for i in reversed(invoices)] == [0, 36]
    assert invoices[0]["lines"]["data"][0]["quantity"] == 12
    assert unmetered.status_code == 400 and unmetered.json()["error"]["param"] == "recurring[meter]"
