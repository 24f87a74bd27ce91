"""Conformance: the official stripe SDK (16.1.0, pinned API version) works against the Stripe sandbox
with nothing changed but the base URL — the adapter's operations, paging, idempotent retries,
the SDK's own error types and signed webhooks — and bad input never earns a 5xx.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

from tests.support.procs import free_port, sandbox, wait_until

pytestmark = pytest.mark.integration

KEY = "sk_test_revbridge_demo"
WEBHOOK_SECRET = "whsec_revbridge_demo"


@pytest.fixture(scope="module")
def posts() -> Iterator[list[tuple[str, str]]]:
    """A webhook receiver keeping (raw body, Stripe-Signature) of every delivery."""
    received: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
            received.append((body, self.headers.get("Stripe-Signature", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    received.append(("", f"http://127.0.0.1:{server.server_address[1]}/hooks"))  # [0] is the URL
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base(posts: list[tuple[str, str]]) -> Iterator[str]:
    env = {"STRIPE_SANDBOX_WEBHOOK_URL": posts[0][1], "STRIPE_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET}
    with sandbox("stripe", env=env) as url:
        yield url


def sdk(base: str, key: str = KEY, retries: int = 2) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
        max_network_retries=retries,
    )


@pytest.fixture(scope="module")
def client(base: str) -> stripe.StripeClient:
    return sdk(base)


@pytest.fixture(autouse=True)
def no_faults_left(base: str) -> Iterator[None]:
    yield
    httpx.delete(f"{base}/__sandbox/faults")


def test_every_adapter_operation_round_trips_through_the_sdk(client: stripe.StripeClient) -> None:
    crm_id = f"001{uuid.uuid4().hex[:12]}"
    customer = client.v1.customers.create(
        params={
            "name": "Acme",
            "email": "billing@acme.test",
            "address": {"country": "DE"},
            "metadata": {"crm_account_id": crm_id, "currency": "EUR"},
        }
    )
    found = client.v1.customers.search(
        params={"query": f"metadata['crm_account_id']:'{crm_id}'", "limit": 10}
    )
    listed = client.v1.customers.list(params={"limit": 100})
    product = client.v1.products.create(params={"name": "Seats"})
    lookup = f"seats_{uuid.uuid4().hex[:6]}"
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "eur",
            "unit_amount": 1200,
            "recurring": {"interval": "month"},
            "lookup_key": lookup,
        }
    )
    prices = client.v1.prices.list(params={"lookup_keys": [lookup], "limit": 100})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 3}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "metadata": {"crm_contract_id": "800XYZ"},
        }
    )
    subs = client.v1.subscriptions.list(params={"customer": customer.id, "status": "all", "limit": 100})
    assert isinstance(sub.latest_invoice, str)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice, params={"expand": ["payments"]})
    lines = client.v1.invoices.line_items.list(invoice.id, params={"limit": 100})
    invoices = client.v1.invoices.list(params={"limit": 5, "expand": ["data.payments"]})

    assert [c.id for c in found.data] == [customer.id] and customer.id in [c.id for c in listed.data]
    assert customer.address is not None and customer.address.country == "DE"
    assert [p.id for p in prices.data] == [price.id]
    assert client.v1.products.retrieve(product.id).name == "Seats"
    assert sub.status == "active" and [s.id for s in subs.data] == [sub.id]
    assert sub["items"].data[0].quantity == 3 and sub.metadata["crm_contract_id"] == "800XYZ"
    assert invoice.status == "open" and invoice.amount_due == 3600 and invoice.payments is not None
    assert invoice.parent is not None and invoice.parent.subscription_details is not None
    assert invoice.parent.subscription_details.subscription == sub.id
    assert [li.amount for li in lines.data] == [3600]
    assert invoices.data[0].id == invoice.id and invoices.data[0].payments is not None


def test_auto_paging_iter_walks_every_page_once_newest_first(client: stripe.StripeClient) -> None:
    email = f"{uuid.uuid4().hex[:8]}@pages.test"
    made = [client.v1.customers.create(params={"email": email}).id for _ in range(12)]

    walked = [c.id for c in client.v1.customers.list(params={"email": email, "limit": 5}).auto_paging_iter()]

    assert walked == list(reversed(made))


def test_lost_response_is_replayed_to_the_sdk_retry_and_one_object_exists(
    client: stripe.StripeClient, base: str
) -> None:
    rule = {"path_prefix": "/v1/products", "method": "POST", "status": 500, "mode": "commit_then_drop"}
    httpx.post(f"{base}/__sandbox/faults", json=rule)
    name = f"Lost {uuid.uuid4().hex[:8]}"

    product = client.v1.products.create(params={"name": name})
    same = [p for p in client.v1.products.list(params={"limit": 100}).auto_paging_iter() if p.name == name]

    assert [p.id for p in same] == [product.id]
    assert product.last_response.headers.get("idempotent-replayed") == "true"


def test_errors_arrive_as_the_sdks_own_types(base: str) -> None:
    plain = sdk(base, retries=0)
    customer = plain.v1.customers.create(params={"email": "errors@acme.test"})
    price = plain.v1.prices.create(
        params={
            "product_data": {"name": "E"},
            "currency": "usd",
            "unit_amount": 100,
            "recurring": {"interval": "month"},
        }
    )
    key = f"k-{uuid.uuid4()}"
    plain.v1.customers.create(params={"name": "one"}, options={"idempotency_key": key})

    with pytest.raises(stripe.CardError) as card:
        plain.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": price.id}],
                "default_payment_method": plain.v1.payment_methods.attach(
                    "pm_card_chargeDeclined", {"customer": customer.id}
                ).id,
                "payment_behavior": "error_if_incomplete",
            }
        )
    with pytest.raises(stripe.InvalidRequestError) as missing:
        plain.v1.customers.retrieve("cus_nope")
    with pytest.raises(stripe.AuthenticationError):
        sdk(base, key="sk_test_nope", retries=0).v1.customers.list()
    with pytest.raises(stripe.IdempotencyError):
        plain.v1.customers.create(params={"name": "two"}, options={"idempotency_key": key})
    httpx.post(
        f"{base}/__sandbox/faults", json={"path": "/v1/customers", "method": "GET", "kind": "rate_limit"}
    )
    with pytest.raises(stripe.RateLimitError):
        plain.v1.customers.list()

    assert card.value.code == "card_declined" and card.value.http_status == 402
    assert missing.value.code == "resource_missing" and missing.value.param == "id"


def test_construct_event_accepts_the_sandbox_webhooks(
    client: stripe.StripeClient, posts: list[tuple[str, str]]
) -> None:
    customer = client.v1.customers.create(params={"email": "signed@acme.test"})

    def delivered() -> tuple[str, str] | None:
        return next((p for p in posts[1:] if customer.id in p[0]), None)

    body, signature = wait_until(delivered, timeout=10, message="customer.created delivery")
    event = stripe.Webhook.construct_event(body, signature, WEBHOOK_SECRET)

    assert event.type == "customer.created" and event.data.object["id"] == customer.id
    assert event.api_version == "2026-10-28.endive"


MALFORMED: list[tuple[str, str, str]] = [
    ("POST", "/v1/customers", "nonsense_param=1"),
    ("POST", "/v1/customers", "metadata=notadict&email=x@y.z"),
    ("POST", "/v1/customers", "metadata[a][b]=deep"),
    ("POST", "/v1/customers", "invoice_settings=flat"),
    ("POST", "/v1/customers", "preferred_locales[x]=en"),
    ("POST", "/v1/customers", "test_clock=clock_nope"),
    ("POST", "/v1/customers", "%ZZ=%%&&=="),
    ("POST", "/v1/customers", "email[]=a&email[]=b"),
    ("GET", "/v1/customers?limit=abc", ""),
    ("GET", "/v1/customers?limit=1000", ""),
    ("GET", "/v1/customers?created[gte]=yesterday", ""),
    ("GET", "/v1/customers?created=soon", ""),
    ("GET", "/v1/customers?starting_after=cus_nope", ""),
    ("GET", "/v1/customers?starting_after[x]=1", ""),
    ("GET", "/v1/customers?expand[0][x]=y", ""),
    ("GET", "/v1/customers/search", ""),
    ("GET", "/v1/customers/search?query=(((", ""),
    ("GET", "/v1/customers/search?query=email:'a'&page=@@@", ""),
    ("POST", "/v1/products", ""),
    ("POST", "/v1/products", "name[x]=1"),
    ("POST", "/v1/products", "name=a&active=maybe"),
    ("POST", "/v1/products", "name=a&images[x]=y"),
    ("POST", "/v1/prices", "currency=usd"),
    ("POST", "/v1/prices", "currency=usd&unit_amount=abc&product_data[name]=x"),
    ("POST", "/v1/prices", "currency=usd&unit_amount=1&product_data=x"),
    ("POST", "/v1/prices", "currency=usd&unit_amount=1&product_data[name]=x&recurring=monthly"),
    ("POST", "/v1/prices", "currency=usd&unit_amount=1&product_data[name]=x&recurring[interval]=decade"),
    ("POST", "/v1/prices", "currency=usd&unit_amount_decimal=abc&product_data[name]=x"),
    ("POST", "/v1/prices", "currency[x]=usd&unit_amount=1&product_data[name]=x"),
    ("POST", "/v1/subscriptions", ""),
    ("POST", "/v1/subscriptions", "customer=cus_nope&items=notalist"),
    ("POST", "/v1/subscriptions", "customer=cus_nope&items[0]=x"),
    ("POST", "/v1/subscriptions", "customer[a]=b&items[0][price]=p"),
    ("POST", "/v1/subscriptions", "customer=cus_nope&items[0][price][x]=1"),
    ("POST", "/v1/subscriptions/sub_nope", "items[0][quantity]=x"),
    ("DELETE", "/v1/subscriptions/sub_nope", ""),
    ("POST", "/v1/invoices", "customer=cus_nope"),
    ("POST", "/v1/invoices", "customer=x&pending_invoice_items_behavior=sometimes"),
    ("POST", "/v1/invoices/in_nope/pay", "paid_out_of_band=perhaps"),
    ("GET", "/v1/invoices?status[x]=1", ""),
    ("POST", "/v1/invoiceitems", "customer=cus_nope&amount=x"),
    ("POST", "/v1/refunds", ""),
    ("POST", "/v1/refunds", "charge=ch_nope&amount=-5"),
    ("POST", "/v1/credit_notes", "invoice=in_nope&lines=x"),
    ("POST", "/v1/test_helpers/test_clocks", "frozen_time=tomorrow"),
    ("POST", "/v1/test_helpers/test_clocks/clock_nope/advance", "frozen_time=1"),
    ("POST", "/v1/billing/meters", "display_name=x&event_name=y&default_aggregation=sum"),
    ("POST", "/v1/billing/meter_events", "event_name=x&payload=y"),
    ("POST", "/v1/billing/meter_events", "event_name=x&payload[value]=1"),
    ("POST", "/v1/subscription_schedules", "customer=cus_nope&phases=x"),
    ("POST", "/v1/subscription_schedules", "customer=cus_nope&phases[0][items]=x"),
    ("POST", "/v1/webhook_endpoints", "url=ftp://x&enabled_events[0]=*"),
    ("GET", "/v1/events?types=x&delivery_success=sometimes", ""),
    ("GET", "/v1/nowhere", ""),
    ("PATCH", "/v1/customers", ""),
]


def test_malformed_requests_get_400s_in_stripes_shape_never_5xx(base: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"}
    answers = {}
    with httpx.Client(base_url=base, headers=headers) as http:
        for method, path, body in MALFORMED:
            response = http.request(method, path, content=body.encode())
            answers[(method, path, body)] = (
                response.status_code,
                response.json().get("error", {}).get("type"),
            )
        binary = http.post("/v1/customers", content=b"\xff\xfe=\x80")
        json_body = http.post("/v1/customers", content=b'{"email": "a@b.c"}')

    server_errors = {k: v for k, v in answers.items() if v[0] >= 500}
    untyped = {k: v for k, v in answers.items() if v[1] != "invalid_request_error"}
    assert server_errors == {}
    assert untyped == {}
    assert answers[("POST", "/v1/customers", "nonsense_param=1")][0] == 400
    assert binary.status_code == 400 and json_body.status_code < 500
