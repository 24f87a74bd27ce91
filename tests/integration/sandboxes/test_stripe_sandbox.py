"""The Stripe sandbox, run as a real process and driven by the official stripe-python SDK.

Proves the wire behaviour revbridge's Stripe adapter relies on: form encoding, paging, search,
the invoice state machine, card declines, events, idempotency, auth, accounts per key, signed
webhooks with retries, and the admin fault injection.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

from tests.support.procs import free_port, sandbox, wait_until
from tests.support.stripe_sdk import sdk_client

pytestmark = pytest.mark.integration

KEY = "sk_test_revbridge_demo"
SECOND_KEY = "sk_test_revbridge_second"
WEBHOOK_SECRET = "whsec_revbridge_demo"


@dataclass
class Receiver:
    """A tiny webhook receiver: records every POST; answers the queued statuses, then 200."""

    url: str = ""
    posts: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, event_type: str | None = None) -> list[stripe.Event]:
        with self.lock:
            posts = list(self.posts)
        events = [stripe.Event.construct_from(httpx.Response(200, content=b).json(), KEY) for b, _ in posts]
        return [e for e in events if event_type is None or e.type == event_type]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver())


@pytest.fixture
def flaky_receiver() -> Iterator[Receiver]:
    yield from _serve(Receiver(statuses=deque([500])))


def _serve(rec: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                rec.posts.append((body, {k.lower(): v for k, v in self.headers.items()}))
                status = rec.statuses.popleft() if rec.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base(receiver: Receiver) -> Iterator[str]:
    env = {
        "STRIPE_SANDBOX_SECRET_KEYS": f"{KEY},{SECOND_KEY}",
        "STRIPE_SANDBOX_WEBHOOK_URL": receiver.url,
        "STRIPE_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_SANDBOX_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    }
    with sandbox("stripe", env=env) as url:
        yield url


def make_client(base: str, key: str = KEY) -> stripe.StripeClient:
    return sdk_client(base, key)


@pytest.fixture(scope="module")
def client(base: str) -> stripe.StripeClient:
    return make_client(base)


@pytest.fixture
def monthly_price(client: stripe.StripeClient) -> stripe.Price:
    product = client.v1.products.create(params={"id": f"prod_{uuid.uuid4().hex[:10]}", "name": "Gold plan"})
    return client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
        }
    )


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": f"{uuid.uuid4().hex[:8]}@example.com", "name": "Acme"})


def deliveries(base: str) -> list[dict[str, Any]]:
    return httpx.get(f"{base}/__sandbox/webhooks/deliveries").json()["data"]


# --- customers, paging, search -------------------------------------------------------------------


def test_customers_page_newest_first_through_auto_paging_iter(client: stripe.StripeClient) -> None:
    batch = uuid.uuid4().hex
    created = [client.v1.customers.create(params={"metadata": {"batch": batch}}).id for _ in range(13)]

    first_page = client.v1.customers.list(params={"limit": 5})
    seen = [c.id for c in client.v1.customers.list(params={"limit": 5}).auto_paging_iter()]

    assert first_page.url == "/v1/customers" and first_page.has_more is True
    assert [c.id for c in first_page.data] == created[::-1][:5]
    assert len(seen) == len(set(seen)) and set(created) <= set(seen)
    assert client.v1.customers.retrieve(created[0]).metadata["batch"] == batch


def test_customer_search_by_metadata_and_email(client: stripe.StripeClient) -> None:
    crm_id = uuid.uuid4().hex
    wanted = client.v1.customers.create(params={"email": "buyer@acme.test", "metadata": {"crm_id": crm_id}})
    client.v1.customers.create(params={"email": "other@acme.test", "metadata": {"crm_id": crm_id}})

    result = client.v1.customers.search(
        params={"query": f"metadata['crm_id']:'{crm_id}' AND email:'buyer@acme.test'"}
    )

    assert result.object == "search_result"
    assert [c.id for c in result.data] == [wanted.id]
    assert len(client.v1.customers.search(params={"query": f"metadata['crm_id']:'{crm_id}'"}).data) == 2


def test_missing_customer_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.retrieve("cus_nope")
    assert err.value.http_status == 404 and err.value.code == "resource_missing"
    assert err.value.error is not None and err.value.error.param == "id"


# --- catalog ---------------------------------------------------------------------------------------


def test_price_lookup_key_is_listed_by_lookup_keys_and_unique(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"id": f"prod_{uuid.uuid4().hex[:10]}", "name": "Silver"})
    key = f"silver_{uuid.uuid4().hex[:6]}"
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 900,
            "lookup_key": key,
            "recurring": {"interval": "year"},
        }
    )

    listed = client.v1.prices.list(params={"lookup_keys": [key], "active": True})

    assert [p.id for p in listed.data] == [price.id]
    assert price.recurring is not None and price.recurring.interval == "year" and price.type == "recurring"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.prices.create(
            params={"product": product.id, "currency": "usd", "unit_amount": 1, "lookup_key": key}
        )
    assert err.value.http_status == 400


# --- subscriptions and invoices --------------------------------------------------------------------


def test_send_invoice_subscription_opens_first_invoice_then_pays_with_visa(
    client: stripe.StripeClient, customer: stripe.Customer, monthly_price: stripe.Price
) -> None:
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price.id, "quantity": 3}],
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "metadata": {"deal_id": "D-42"},
            "expand": ["latest_invoice"],
        }
    )
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    item = sub["items"].data[0]
    lines = client.v1.invoices.line_items.list(invoice.id)

    assert sub.status == "active" and item.quantity == 3
    assert item.current_period_end - item.current_period_start in range(28 * 86400, 31 * 86400 + 1)
    assert invoice.status == "open" and invoice.billing_reason == "subscription_create"
    assert (
        invoice.amount_due == invoice.amount_remaining == invoice.total == 6000 and invoice.amount_paid == 0
    )
    assert invoice.number and invoice.status_transitions.finalized_at is not None
    assert invoice.due_date == invoice.created + 14 * 86400
    assert invoice.parent is not None and invoice.parent.subscription_details is not None
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {"deal_id": "D-42"}
    line = lines.data[0]
    assert line.amount == 6000 and line.period.start == item.current_period_start
    assert line.period.end == item.current_period_end
    assert line.pricing is not None and line.pricing.price_details is not None
    assert line.pricing.price_details.price == monthly_price.id

    paid = client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_visa"})

    assert paid.status == "paid" and paid.amount_paid == 6000 and paid.amount_remaining == 0
    assert paid.status_transitions.paid_at is not None
    payment = paid.payments.data[0]
    assert payment.object == "invoice_payment" and payment.status == "paid" and payment.amount_paid == 6000
    intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert intent.id.startswith("pi_") and intent.status == "succeeded" and intent.amount_received == 6000


def test_charge_automatically_with_visa_is_paid_at_once(
    client: stripe.StripeClient, customer: stripe.Customer, monthly_price: stripe.Price
) -> None:
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price.id}],
            "default_payment_method": client.v1.payment_methods.attach(
                "pm_card_visa", {"customer": customer.id}
            ).id,
            "expand": ["latest_invoice.payments"],
        }
    )

    assert sub.status == "active"
    assert sub.latest_invoice.status == "paid" and sub.latest_invoice.attempt_count == 1
    assert sub.latest_invoice.payments.data[0].status == "paid"


def test_declined_card_leaves_invoice_open_and_direct_pay_raises_card_error(
    client: stripe.StripeClient, customer: stripe.Customer, monthly_price: stripe.Price
) -> None:
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price.id}],
            "default_payment_method": client.v1.payment_methods.attach(
                "pm_card_chargeDeclined", {"customer": customer.id}
            ).id,
        }
    )
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice))

    assert sub.status == "incomplete"
    assert invoice.status == "open" and invoice.attempt_count == 1 and invoice.attempted is True
    failed = client.v1.events.list(params={"type": "invoice.payment_failed", "limit": 100})
    assert invoice.id in [e.data.object["id"] for e in failed.data]

    with pytest.raises(stripe.CardError) as err:
        client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert err.value.http_status == 402 and err.value.code == "card_declined"
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 2

    client.v1.invoices.pay(invoice.id, params={"payment_method": "pm_card_visa"})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def _open_invoice(client: stripe.StripeClient, customer: stripe.Customer, price: stripe.Price) -> str:
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    return str(sub.latest_invoice)


def test_mark_uncollectible_then_void_and_invalid_transitions_are_400(
    client: stripe.StripeClient, customer: stripe.Customer, monthly_price: stripe.Price
) -> None:
    invoice_id = _open_invoice(client, customer, monthly_price)

    with pytest.raises(stripe.InvalidRequestError) as refinalize:
        client.v1.invoices.finalize_invoice(invoice_id)
    uncollectible = client.v1.invoices.mark_uncollectible(invoice_id)
    voided = client.v1.invoices.void_invoice(invoice_id)

    assert refinalize.value.http_status == 400
    assert (
        uncollectible.status == "uncollectible" and uncollectible.status_transitions.marked_uncollectible_at
    )
    assert voided.status == "void" and voided.status_transitions.voided_at
    for attempt in (
        lambda: client.v1.invoices.pay(invoice_id, params={"payment_method": "pm_card_visa"}),
        lambda: client.v1.invoices.mark_uncollectible(invoice_id),
        lambda: client.v1.invoices.void_invoice(invoice_id),
    ):
        with pytest.raises(stripe.InvalidRequestError) as err:
            attempt()
        assert err.value.http_status == 400
    types = [
        e.type for e in client.v1.events.list(params={"limit": 100}).data if e.data.object["id"] == invoice_id
    ]
    assert "invoice.voided" in types and "invoice.marked_uncollectible" in types


def test_paid_out_of_band_marks_paid_without_payment_intent(
    client: stripe.StripeClient, customer: stripe.Customer, monthly_price: stripe.Price
) -> None:
    invoice_id = _open_invoice(client, customer, monthly_price)

    paid = client.v1.invoices.pay(invoice_id, params={"paid_out_of_band": True})

    assert paid.status == "paid" and paid.payments.data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(invoice_id)


def test_subscription_update_quantity_and_cancel_emit_events(
    client: stripe.StripeClient, customer: stripe.Customer, monthly_price: stripe.Price
) -> None:
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": monthly_price.id}],
            "collection_method": "send_invoice",
            "days_until_due": 7,
        }
    )
    item_id = sub["items"].data[0].id

    updated = client.v1.subscriptions.update(sub.id, params={"items": [{"id": item_id, "quantity": 5}]})
    canceled = client.v1.subscriptions.cancel(sub.id)

    assert updated["items"].data[0].quantity == 5
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    events = client.v1.events.list(
        params={"types": ["customer.subscription.updated", "customer.subscription.deleted"]}
    )
    mine = [e for e in events.data if e.data.object["id"] == sub.id]
    assert [e.type for e in mine] == ["customer.subscription.deleted", "customer.subscription.updated"]
    assert mine[1].data.previous_attributes["items"]["data"][0]["quantity"] == 1
    assert sub.id not in [s.id for s in client.v1.subscriptions.list(params={"customer": customer.id}).data]
    listed = client.v1.subscriptions.list(params={"customer": customer.id, "status": "canceled"})
    assert [s.id for s in listed.data] == [sub.id]


# --- events, idempotency, auth, accounts ---------------------------------------------------------


def test_events_carry_snapshot_request_and_previous_attributes(client: stripe.StripeClient) -> None:
    key = f"idem-{uuid.uuid4()}"
    created = client.v1.customers.create(params={"name": "Before"}, options={"idempotency_key": key})
    client.v1.customers.update(created.id, params={"name": "After"})

    events = client.v1.events.list(params={"types": ["customer.created", "customer.updated"], "limit": 100})
    mine = {e.type: e for e in events.data if e.data.object["id"] == created.id}

    assert mine["customer.created"].request.idempotency_key == key
    assert mine["customer.created"].request.id.startswith("req_")
    assert mine["customer.created"].data.object["name"] == "Before"
    assert mine["customer.updated"].data.previous_attributes.to_dict() == {"name": "Before"}
    assert mine["customer.updated"].api_version == "2026-10-28.endive"
    assert client.v1.events.retrieve(mine["customer.updated"].id).type == "customer.updated"
    since = client.v1.events.list(params={"created": {"gte": mine["customer.updated"].created}, "limit": 100})
    assert mine["customer.updated"].id in [e.id for e in since.data]


def test_idempotency_key_replays_and_rejects_different_params(client: stripe.StripeClient, base: str) -> None:
    key = f"idem-{uuid.uuid4()}"
    first = client.v1.customers.create(params={"email": "same@acme.test"}, options={"idempotency_key": key})
    again = client.v1.customers.create(params={"email": "same@acme.test"}, options={"idempotency_key": key})

    assert again.id == first.id
    assert again.last_response.headers.get("idempotent-replayed") == "true"
    assert again.last_response.headers.get("idempotency-key") == key
    assert again.last_response.request_id.startswith("req_")
    with pytest.raises(stripe.IdempotencyError) as err:
        client.v1.customers.create(params={"email": "different@acme.test"}, options={"idempotency_key": key})
    assert err.value.http_status == 400
    # keys are per account: the same key on the second account is a fresh request
    other = make_client(base, SECOND_KEY).v1.customers.create(
        params={"email": "same@acme.test"}, options={"idempotency_key": key}
    )
    assert other.id != first.id


def test_errors_are_replayed_too(client: stripe.StripeClient) -> None:
    key = f"idem-{uuid.uuid4()}"
    for _ in range(2):
        with pytest.raises(stripe.InvalidRequestError) as err:
            client.v1.customers.update("cus_missing", params={"name": "x"}, options={"idempotency_key": key})
        assert err.value.http_status == 404
    assert err.value.headers is not None and err.value.headers.get("idempotent-replayed") == "true"


def test_bad_or_missing_key_is_401(base: str) -> None:
    with pytest.raises(stripe.AuthenticationError) as err:
        make_client(base, "sk_test_wrong").v1.customers.list()
    missing = httpx.get(f"{base}/v1/customers")

    assert err.value.http_status == 401
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{base}/v1/customers", auth=(KEY, "")).status_code == 200


def test_two_keys_are_separate_accounts(client: stripe.StripeClient, base: str) -> None:
    mine = client.v1.customers.create(params={"email": "first-account@acme.test"})
    other = make_client(base, SECOND_KEY)

    with pytest.raises(stripe.InvalidRequestError) as err:
        other.v1.customers.retrieve(mine.id)
    assert err.value.http_status == 404
    assert mine.id not in [c.id for c in other.v1.customers.list(params={"limit": 100}).auto_paging_iter()]


def test_form_decoding_accepts_percent_encoded_and_empty_brackets(
    base: str, customer: stripe.Customer
) -> None:
    body = "metadata%5Bsource%5D=curl&metadata[tier]=gold&expand[]=invoice_settings&preferred_locales[]=en"
    response = httpx.post(
        f"{base}/v1/customers/{customer.id}",
        content=body,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"source": "curl", "tier": "gold"}
    assert response.json()["preferred_locales"] == ["en"]
    assert response.headers["request-id"].startswith("req_")


# --- webhooks -------------------------------------------------------------------------------------


def test_configured_endpoint_receives_signed_events(client: stripe.StripeClient, receiver: Receiver) -> None:
    created = client.v1.customers.create(params={"email": "webhook@acme.test"})

    def delivered() -> tuple[bytes, dict[str, str]] | None:
        with receiver.lock:
            return next((p for p in receiver.posts if created.id.encode() in p[0]), None)

    body, headers = wait_until(delivered, timeout=10, message="customer.created webhook")
    event = stripe.Webhook.construct_event(body.decode("utf-8"), headers["stripe-signature"], WEBHOOK_SECRET)

    assert event.type == "customer.created" and event.data.object["id"] == created.id
    assert headers["content-type"] == "application/json; charset=utf-8"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode("utf-8"), headers["stripe-signature"], "whsec_wrong")


def test_failing_receiver_is_retried_until_it_answers_2xx(
    client: stripe.StripeClient, base: str, flaky_receiver: Receiver
) -> None:
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": flaky_receiver.url, "enabled_events": ["product.created"]}
    )
    try:
        product = client.v1.products.create(params={"name": "Retried"})

        def settled() -> dict[str, Any] | None:
            mine = [d for d in deliveries(base) if d["endpoint_url"] == flaky_receiver.url]
            return mine[0] if mine and mine[0]["status"] != "pending" else None

        delivery = wait_until(settled, timeout=15, message="retried delivery")
        posts = flaky_receiver.events()

        assert (
            delivery["status"] == "delivered"
            and delivery["attempts"] == 2
            and delivery["last_status_code"] == 200
        )
        assert [e.id for e in posts] == [delivery["event_id"]] * 2 and posts[0].data.object[
            "id"
        ] == product.id
        body, headers = flaky_receiver.posts[-1]
        assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
        stripe.Webhook.construct_event(body.decode("utf-8"), headers["stripe-signature"], endpoint.secret)
        assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id)
    finally:
        client.v1.webhook_endpoints.delete(endpoint.id)


# --- admin: faults and request log ---------------------------------------------------------------


def test_commit_then_drop_fault_is_recovered_by_idempotent_retry(
    client: stripe.StripeClient, base: str
) -> None:
    fault = {
        "path_prefix": "/v1/customers",
        "method": "POST",
        "status": 500,
        "count": 1,
        "mode": "commit_then_drop",
    }
    assert httpx.post(f"{base}/__sandbox/faults", json=fault).status_code == 200
    key = f"idem-{uuid.uuid4()}"
    email = f"{uuid.uuid4().hex[:8]}@lost.test"

    with pytest.raises(stripe.APIError) as err:
        client.v1.customers.create(params={"email": email}, options={"idempotency_key": key})
    retried = client.v1.customers.create(params={"email": email}, options={"idempotency_key": key})

    assert err.value.http_status == 500
    assert retried.last_response.headers.get("idempotent-replayed") == "true"
    assert [c.id for c in client.v1.customers.list(params={"email": email}).data] == [retried.id]


def test_rate_limit_fault_carries_retry_after(client: stripe.StripeClient, base: str) -> None:
    fault = {"path_prefix": "/v1/invoices", "status": 429, "retry_after": 2, "count": 1}
    httpx.post(f"{base}/__sandbox/faults", json=fault)

    with pytest.raises(stripe.RateLimitError) as err:
        client.v1.invoices.list()
    assert err.value.http_status == 429 and err.value.headers is not None
    assert err.value.headers.get("retry-after") == "2"
    assert client.v1.invoices.list().object == "list"


def test_request_log_keeps_trace_headers_and_never_authorization(base: str) -> None:
    trace = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    httpx.get(f"{base}/v1/customers", headers={"Authorization": f"Bearer {KEY}", "traceparent": trace})

    log = httpx.get(f"{base}/__sandbox/requests", params={"limit": 5}).json()["data"]
    entry = next(e for e in log if e["headers"].get("traceparent") == trace)

    assert entry["method"] == "GET" and entry["path"] == "/v1/customers" and entry["status"] == 200
    assert "authorization" not in entry["headers"]
    assert httpx.get(f"{base}/__sandbox/health").json() == {"status": "ok"}
