"""The Stripe sandbox's webhook delivery under an outage.

A real sandbox process and a real receiver: the receiver refuses or stalls past the sandbox's
timeout for its first attempts; every event the sandbox created must still reach it (no loss),
never more than the configured number of deliveries at once. A receiver down past every retry
is reported (failed delivery, event still pending), never silently dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

from tests.support.procs import free_port, sandbox, wait_until
from tests.support.stripe_sdk import DEMO_KEY, all_event_ids, sdk_client

pytestmark = pytest.mark.integration

KEY = DEMO_KEY
WEBHOOK_SECRET = "whsec_revbridge_demo"
CONCURRENCY = 3
TIMEOUT = 0.5
HOLD = 0.02  # how long the receiver holds a delivery it answers promptly


@dataclass
class OutageReceiver:
    """Answers 500 to its first ``refuse`` POSTs (every fourth of them only after stalling past the
    sandbox's timeout), then 200; counts deliveries in flight at once (a stalled one only until
    the sandbox's timeout, when the sandbox abandons it: it is not counted)."""

    refuse: int
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: int = 0
    accepted: list[str] = field(default_factory=list)  # event ids answered 2xx, in arrival order
    in_flight: int = 0
    peak_in_flight: int = 0
    stalled: int = 0
    bad_signatures: int = 0

    def handle(self, body: bytes, signature: str) -> tuple[int, float]:
        with self.lock:
            self.posts += 1
            refused = self.posts <= self.refuse
            stall = refused and self.posts % 4 == 0
            self.stalled += stall
            self.in_flight += not stall
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if stall:
            return 500, TIMEOUT * 2
        try:
            event = stripe.Webhook.construct_event(body.decode("utf-8"), signature, WEBHOOK_SECRET)
        except stripe.SignatureVerificationError:
            with self.lock:
                self.bad_signatures += 1
            return 400, 0.0
        if not refused:
            with self.lock:
                self.accepted.append(event.id)
            return 200, 0.0
        return 500, 0.0

    def done(self, stalled: bool) -> None:
        with self.lock:
            self.in_flight -= not stalled


def _serve(rec: OutageReceiver) -> Iterator[OutageReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, stall = rec.handle(body, self.headers.get("Stripe-Signature", ""))
            if not stall:
                time.sleep(HOLD)  # in flight a moment, so that deliveries sent together overlap here
            # Counted out before the answer leaves: once the sandbox has it, its worker may send the
            # next delivery before this thread runs again, which a loaded machine showed as 4 of 3.
            rec.done(stalled=bool(stall))
            try:
                if stall:
                    time.sleep(stall)  # the receiver being slow, past the sender's timeout
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the sandbox gave up on this attempt and closed the connection
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def outage() -> Iterator[OutageReceiver]:
    yield from _serve(OutageReceiver(refuse=60))


def _summary(base: str) -> dict[str, Any]:
    summary: dict[str, Any] = httpx.get(f"{base}/__sandbox/webhooks/summary").json()
    return summary


def test_an_outage_delays_deliveries_but_loses_none_and_concurrency_stays_bounded(
    outage: OutageReceiver,
) -> None:
    env = {
        "STRIPE_SANDBOX_SECRET_KEYS": KEY,
        "STRIPE_SANDBOX_WEBHOOK_URL": outage.url,
        "STRIPE_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_SANDBOX_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
        "STRIPE_SANDBOX_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT),
        "STRIPE_SANDBOX_WEBHOOK_RETRY_BASE_SECONDS": "0.02",
        "STRIPE_SANDBOX_WEBHOOK_RETRY_MAX_SECONDS": "0.2",
        "STRIPE_SANDBOX_WEBHOOK_MAX_ATTEMPTS": "100",
        "STRIPE_SANDBOX_WEBHOOK_DELIVERY_LOG_SIZE": "10",
    }
    with sandbox("stripe", env=env) as base:
        client = sdk_client(base)
        customers = [client.v1.customers.create(params={"name": f"Burst {i}"}).id for i in range(120)]
        created = all_event_ids(client)

        def settled() -> dict[str, Any] | None:
            summary = _summary(base)
            return summary if summary["delivered"] + summary["failed"] >= len(created) else None

        summary = wait_until(settled, timeout=60, interval=0.2, message="every delivery settled")

        with outage.lock:
            accepted, peak, stalled = list(outage.accepted), outage.peak_in_flight, outage.stalled
        assert len(created) == len(customers) and outage.refuse > 0 and stalled > 0
        assert sorted(set(accepted)) == sorted(created)  # every event delivered: none lost
        assert summary["scheduled"] == summary["delivered"] == len(created)
        assert summary["failed"] == summary["pending"] == 0 and summary["retries"] >= outage.refuse
        assert 1 < peak <= CONCURRENCY and summary["peak_in_flight_per_endpoint"] <= CONCURRENCY
        assert outage.bad_signatures == 0
        rows = httpx.get(f"{base}/__sandbox/webhooks/deliveries").json()["data"]
        assert len(rows) == 10 and all(r["status"] == "delivered" for r in rows)
        assert client.v1.events.list(params={"delivery_success": False, "limit": 1}).data == []


def test_a_receiver_down_past_every_retry_is_reported_not_dropped() -> None:
    port = free_port()  # nothing listens there: every attempt is refused
    env = {
        "STRIPE_SANDBOX_SECRET_KEYS": KEY,
        "STRIPE_SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks",
        "STRIPE_SANDBOX_WEBHOOK_RETRY_BASE_SECONDS": "0.01",
        "STRIPE_SANDBOX_WEBHOOK_MAX_ATTEMPTS": "3",
    }
    with sandbox("stripe", env=env) as base:
        client = sdk_client(base)
        customer = client.v1.customers.create(params={"name": "Unheard"})

        def failed() -> list[dict[str, Any]]:
            rows = httpx.get(f"{base}/__sandbox/webhooks/deliveries").json()["data"]
            return [r for r in rows if r["status"] == "failed"]

        rows = wait_until(failed, timeout=20, message="the delivery to be given up")
        undelivered = client.v1.events.list(params={"delivery_success": False}).data

        assert rows[0]["attempts"] == 3 and rows[0]["last_error"] and rows[0]["last_status_code"] is None
        assert [e.id for e in undelivered] == [rows[0]["event_id"]]
        assert undelivered[0].pending_webhooks == 1 and undelivered[0].data.object["id"] == customer.id
        assert _summary(base)["failed"] == 1


@pytest.fixture
def healthy() -> Iterator[OutageReceiver]:
    yield from _serve(OutageReceiver(refuse=0))


def test_held_deliveries_are_sent_only_when_released_in_the_order_chosen(healthy: OutageReceiver) -> None:
    env = {
        "STRIPE_SANDBOX_SECRET_KEYS": KEY,
        "STRIPE_SANDBOX_WEBHOOK_URL": healthy.url,
        "STRIPE_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    with sandbox("stripe", env=env) as base:
        client = sdk_client(base)
        httpx.post(f"{base}/__sandbox/webhooks/hold").raise_for_status()
        created = [client.v1.customers.create(params={"name": f"Held {i}"}).id for i in range(3)]
        held = httpx.get(f"{base}/__sandbox/webhooks/deliveries").json()["data"]
        assert [d["status"] for d in held] == ["held"] * 3 and healthy.accepted == []

        answer = httpx.post(f"{base}/__sandbox/webhooks/release", json={"order": "reverse"}, timeout=30)
        sent = answer.raise_for_status().json()["sent"]

        assert sent == [d["event_id"] for d in reversed(held)] and healthy.accepted == sent
        assert [client.v1.events.retrieve(e).data.object["id"] for e in sent] == list(reversed(created))
        assert _summary(base)["delivered"] == 3
