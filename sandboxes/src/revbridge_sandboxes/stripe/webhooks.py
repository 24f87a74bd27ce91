"""Webhook delivery: sign each event exactly as ``stripe.Webhook.construct_event`` verifies and POST
it from a bounded pool of workers per endpoint (never inside the API call), retrying failures and
timeouts with exponential backoff.

Emitting an event only appends a small ``Delivery`` (a reference to the already stored event) to
its endpoint's queue, so the API path never waits on delivery and a burst (a test clock renewing
thousands of subscriptions) costs one record per event and endpoint, not a task and a payload each.
Each endpoint has ``concurrency`` workers taking deliveries in the order the events were created;
a failed attempt goes back on the queue after its backoff, so a receiver that is down for a while
delays its deliveries without holding a worker or losing any. After ``max_attempts`` (Stripe
retries for three days; the settings shorten that for tests) the delivery is marked ``failed``,
logged, counted and kept listed, and its event keeps ``pending_webhooks`` > 0, as on Stripe.

Stripe guarantees neither order nor single delivery; to let tests choose an order, deliveries can
be held (``hold``) and then released one by one or all at once, in order or reversed (``release``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from .. import recording
from .event_log import StoredEvent

logger = logging.getLogger("revbridge.sandboxes.stripe.webhooks")

Status = Literal["pending", "held", "delivered", "failed"]


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """``t=<ts>,v1=<hex>``: HMAC-SHA256 over ``"{t}.{payload}"`` keyed by the whole secret string."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def endpoint_matches(endpoint: dict[str, Any], event_type: str) -> bool:
    if endpoint.get("status") != "enabled":
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


def encode_event(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False)


@dataclass(slots=True, eq=False)
class Delivery:
    """One event to one endpoint; the payload is built from the stored event at each attempt."""

    seq: int
    event: StoredEvent
    endpoint_id: str
    endpoint_url: str
    secret: str
    attempts: int = 0
    status: Status = "pending"
    last_status_code: int | None = None
    last_error: str | None = None

    def row(self) -> dict[str, Any]:
        """The delivery as the admin API reports it."""
        return {
            "event_id": self.event.id,
            "type": self.event.type,
            "endpoint_id": self.endpoint_id,
            "endpoint_url": self.endpoint_url,
            "attempts": self.attempts,
            "status": self.status,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
        }


@dataclass(eq=False)
class Lane:
    """One endpoint's queue and its workers; ``in_flight`` never exceeds the worker count."""

    client: aiohttp.ClientSession
    queue: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0


@dataclass
class Counters:
    scheduled: int = 0
    delivered: int = 0
    failed: int = 0
    attempts: int = 0
    retries: int = 0


class WebhookDispatcher:
    """Owns the outgoing HTTP client, the per-endpoint queues and workers, and delivery records.

    Undelivered deliveries (pending, held, failed) are always listed; delivered ones only the
    latest ``log_size``, so the records do not grow with the number of events."""

    def __init__(
        self,
        max_attempts: int,
        base_delay: float,
        timeout: float,
        max_delay: float = 3600.0,
        concurrency: int = 8,
        log_size: int = 1000,
    ) -> None:
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.counters = Counters()
        self.holding = False
        self._seq = itertools.count()
        self._open: dict[int, Delivery] = {}  # pending, held and failed, by seq
        self._delivered: deque[Delivery] = deque(maxlen=max(0, log_size))
        self._held: list[Delivery] = []
        self._lanes: dict[str, Lane] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._release_client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._release_client = self._new_client(1)

    def _new_client(self, connections: int) -> aiohttp.ClientSession:
        """A session of its own per endpoint, one connection per worker: a request never waits for
        a connection (waiting on a shared pool is what used to time deliveries out under load).
        aiohttp rather than httpx: it sends several times as many requests/s from one event loop,
        and delivery shares the sandbox's loop with the API."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            auto_decompress=False,
        )

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        lanes = list(self._lanes.values())
        self._lanes.clear()
        workers = [w for lane in lanes for w in lane.workers]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for client in [lane.client for lane in lanes] + [self._release_client]:
            if client is not None:
                await client.close()

    def reset(self) -> None:
        """Forget every delivery, queued, waiting for a retry or held (the workers stay)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for lane in self._lanes.values():
            while not lane.queue.empty():
                lane.queue.get_nowait()
                lane.queue.task_done()
        self._open.clear()
        self._delivered.clear()
        self._held.clear()
        self.holding = False
        self.counters = Counters()

    # --- what the admin API shows ------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every undelivered delivery and the latest delivered ones, in the order scheduled."""
        return sorted([*self._open.values(), *self._delivered], key=lambda d: d.seq)

    def summary(self) -> dict[str, int]:
        by_status = {"pending": 0, "held": 0, "failed": 0}
        for delivery in self._open.values():
            by_status[delivery.status] += 1
        lanes = self._lanes.values()
        return {
            "scheduled": self.counters.scheduled,
            "delivered": self.counters.delivered,
            **by_status,
            "attempts": self.counters.attempts,
            "retries": self.counters.retries,
            "in_flight": sum(lane.in_flight for lane in lanes),
            "peak_in_flight_per_endpoint": max((lane.peak_in_flight for lane in lanes), default=0),
            "concurrency_per_endpoint": self.concurrency,
        }

    # --- scheduling --------------------------------------------------------------------------

    def schedule(self, event: StoredEvent, endpoint: dict[str, Any], secret: str) -> None:
        """Queue a delivery of ``event`` to ``endpoint`` (O(1); never waits)."""
        delivery = Delivery(next(self._seq), event, endpoint["id"], endpoint["url"], secret)
        self._open[delivery.seq] = delivery
        self.counters.scheduled += 1
        if self.holding:
            delivery.status = "held"
            self._held.append(delivery)
            return
        self._lane(delivery.endpoint_id).queue.put_nowait(delivery)

    def _lane(self, endpoint_id: str) -> Lane:
        lane = self._lanes.get(endpoint_id)
        if lane is None:
            lane = self._lanes[endpoint_id] = Lane(client=self._new_client(self.concurrency))
            loop = asyncio.get_running_loop()
            lane.workers = [loop.create_task(self._work(lane)) for _ in range(self.concurrency)]
        return lane

    async def _work(self, lane: Lane) -> None:
        while True:
            delivery = await lane.queue.get()
            lane.in_flight += 1
            lane.peak_in_flight = max(lane.peak_in_flight, lane.in_flight)
            try:
                if self._open.get(delivery.seq) is delivery:  # not forgotten by a reset meanwhile
                    await self._attempt_and_settle(lane.client, delivery)
            except Exception:  # a bug here must not kill the worker (and silently stop delivery)
                logger.exception("stripe.webhook.worker_error", extra={"event_id": delivery.event.id})
                if delivery.attempts >= self.max_attempts:
                    self._give_up(delivery)
                else:
                    self._retry_later(delivery)
            finally:
                lane.in_flight -= 1
                lane.queue.task_done()

    async def _attempt_and_settle(self, client: aiohttp.ClientSession, delivery: Delivery) -> None:
        ok = await self._attempt(client, delivery)
        if self._open.get(delivery.seq) is not delivery:  # forgotten by a reset during the attempt
            return
        if ok:
            self._delivered_ok(delivery)
        elif delivery.attempts >= self.max_attempts:
            self._give_up(delivery)
        else:
            self._retry_later(delivery)

    def _backoff(self, attempts: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** min(max(0, attempts - 1), 60)))

    def _retry_later(self, delivery: Delivery) -> None:
        """Put the delivery back on its endpoint's queue after the backoff of its attempt count."""
        self.counters.retries += 1
        loop = asyncio.get_running_loop()
        lane = self._lane(delivery.endpoint_id)

        def requeue() -> None:
            self._timers.discard(timer)
            if self._open.get(delivery.seq) is delivery:
                lane.queue.put_nowait(delivery)

        timer = loop.call_later(self._backoff(delivery.attempts), requeue)
        self._timers.add(timer)

    def _delivered_ok(self, delivery: Delivery) -> None:
        delivery.status = "delivered"
        delivery.event.pending_webhooks = max(0, delivery.event.pending_webhooks - 1)
        self._open.pop(delivery.seq, None)
        self._delivered.append(delivery)
        self.counters.delivered += 1
        logger.info("stripe.webhook.delivered", extra={"event_id": delivery.event.id})

    def _give_up(self, delivery: Delivery) -> None:
        delivery.status = "failed"
        self.counters.failed += 1
        extra = {"event_id": delivery.event.id, "attempts": delivery.attempts, "error": delivery.last_error}
        logger.warning("stripe.webhook.failed", extra=extra)

    # --- holding and releasing (tests choose the order) --------------------------------------

    def hold(self) -> None:
        """Keep every delivery scheduled from now on until ``release``."""
        self.holding = True

    async def release(self, event_ids: list[str] | None = None, reverse: bool = False) -> list[str]:
        """Send held deliveries (only ``event_ids`` when given) one after another, in the order they
        were held or reversed; each is sent (with its retries) before the next. Holding stops once
        nothing is held any more. Returns the event ids sent, in the order sent."""
        chosen = [d for d in self._held if event_ids is None or d.event.id in event_ids]
        self._held = [d for d in self._held if d not in chosen]
        if not self._held and event_ids is None:
            self.holding = False
        sent = []
        for delivery in reversed(chosen) if reverse else chosen:
            delivery.status = "pending"
            await self._deliver_now(delivery)
            sent.append(delivery.event.id)
        return sent

    async def _deliver_now(self, delivery: Delivery) -> None:
        """Every attempt in turn, waiting out the backoff in between (released deliveries only)."""
        assert self._release_client is not None, "dispatcher not started"
        while True:
            if await self._attempt(self._release_client, delivery):
                self._delivered_ok(delivery)
                return
            if delivery.attempts >= self.max_attempts:
                self._give_up(delivery)
                return
            self.counters.retries += 1
            await asyncio.sleep(self._backoff(delivery.attempts))

    # --- one attempt -------------------------------------------------------------------------

    async def _attempt(self, client: aiohttp.ClientSession, delivery: Delivery) -> bool:
        delivery.attempts += 1
        self.counters.attempts += 1
        payload = encode_event(delivery.event.to_dict())
        if (recorder := recording.active()) is not None:
            recorder.record("webhook", "POST", delivery.endpoint_url, 0, payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(payload, delivery.secret),
        }
        try:
            async with client.post(
                delivery.endpoint_url, data=payload.encode("utf-8"), headers=headers
            ) as answer:
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.last_error = type(exc).__name__
            delivery.last_status_code = None
            return False
        delivery.last_status_code = status
        delivery.last_error = None
        return 200 <= status < 300
