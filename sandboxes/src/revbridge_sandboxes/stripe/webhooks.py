"""Webhook delivery: sign each event exactly as ``stripe.Webhook.construct_event`` verifies, POST it
in a background task (never inside the API call), retry non-2xx with exponential backoff.

Stripe guarantees neither order nor single delivery; to let tests choose an order, deliveries can
be held (``hold``) and then released one by one or all at once, in order or reversed (``release``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any, Literal

import httpx
from pydantic import BaseModel

logger = logging.getLogger("revbridge.sandboxes.stripe.webhooks")


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


class Delivery(BaseModel):
    """One event to one endpoint, as the admin API reports it."""

    event_id: str
    type: str
    endpoint_id: str
    endpoint_url: str
    attempts: int = 0
    status: Literal["pending", "held", "delivered", "failed"] = "pending"
    last_status_code: int | None = None
    last_error: str | None = None


class WebhookDispatcher:
    """Owns the outgoing HTTP client, the delivery records and the background delivery tasks."""

    def __init__(self, max_attempts: int, base_delay: float, timeout: float) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.holding = False
        self._held: list[tuple[Delivery, str, str, dict[str, Any]]] = []

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        self.deliveries.clear()
        self._held.clear()
        self.holding = False

    def hold(self) -> None:
        """Keep every delivery scheduled from now on until ``release``."""
        self.holding = True

    async def release(self, event_ids: list[str] | None = None, reverse: bool = False) -> list[str]:
        """Send held deliveries (only ``event_ids`` when given) one after another, in the order they
        were held or reversed; each is sent (with its retries) before the next. Holding stops once
        nothing is held any more. Returns the event ids sent, in the order sent."""
        chosen = [h for h in self._held if event_ids is None or h[0].event_id in event_ids]
        self._held = [h for h in self._held if h not in chosen]
        if not self._held and event_ids is None:
            self.holding = False
        sent = []
        for delivery, payload, secret, event in reversed(chosen) if reverse else chosen:
            delivery.status = "pending"
            await self._deliver(delivery, payload, secret, event)
            sent.append(delivery.event_id)
        return sent

    def schedule(self, event: dict[str, Any], payload: str, endpoint: dict[str, Any], secret: str) -> None:
        """Record a pending delivery and start sending it in the background."""
        delivery = Delivery(
            event_id=event["id"], type=event["type"], endpoint_id=endpoint["id"], endpoint_url=endpoint["url"]
        )
        self.deliveries.append(delivery)
        if self.holding:
            delivery.status = "held"
            self._held.append((delivery, payload, secret, event))
            return
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, payload, secret, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery, payload: str, secret: str, event: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # let the API response go out first
        for attempt in range(self.max_attempts):
            if attempt:
                await asyncio.sleep(self.base_delay * 2 ** (attempt - 1))
            delivery.attempts = attempt + 1
            if await self._attempt(delivery, payload, secret):
                delivery.status = "delivered"
                event["pending_webhooks"] = max(0, int(event.get("pending_webhooks", 1)) - 1)
                logger.info("stripe.webhook.delivered", extra={"event_id": delivery.event_id})
                return
        delivery.status = "failed"
        logger.warning("stripe.webhook.failed", extra={"event_id": delivery.event_id})

    async def _attempt(self, delivery: Delivery, payload: str, secret: str) -> bool:
        assert self._client is not None, "dispatcher not started"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(payload, secret),
        }
        try:
            response = await self._client.post(
                delivery.endpoint_url, content=payload.encode("utf-8"), headers=headers
            )
        except httpx.HTTPError as exc:
            delivery.last_error = type(exc).__name__
            delivery.last_status_code = None
            return False
        delivery.last_status_code = response.status_code
        delivery.last_error = None
        return 200 <= response.status_code < 300


def encode_event(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False)
