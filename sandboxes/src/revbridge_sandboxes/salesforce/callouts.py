"""Signed pushes to revbridge when a Contract is activated, as a Flow HTTP callout would send them.

Deliveries run as background asyncio tasks so the API response never waits on the receiver; each
attempt is signed afresh (``X-Revbridge-Signature: t=<unix>,v1=<hex hmac>``) and non-2xx answers or
connection errors are retried with a short backoff. Tests read the delivery log through the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from .settings import SalesforceSandboxSettings
from .store import Record
from .values import render

log = logging.getLogger("revbridge_sandboxes.salesforce.callouts")
SIGNATURE_HEADER = "X-Revbridge-Signature"
DeliveryStatus = Literal["pending", "delivered", "failed", "suppressed"]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Header value: ``t=<unix ts>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Delivery:
    contract_id: str
    body: bytes
    attempts: int = 0
    status: DeliveryStatus = "pending"
    last_status_code: int | None = None
    last_error: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "contract_id": self.contract_id,
            "event": "contract.activated",
            "attempts": self.attempts,
            "status": self.status,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
        }


@dataclass
class CalloutDispatcher:
    settings: SalesforceSandboxSettings
    suppressed: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _client: httpx.AsyncClient | None = None

    def contract_activated(self, contract: Record, organization_id: str) -> None:
        if not self.settings.callout_url:
            return
        v = contract.values
        payload = {
            "event": "contract.activated",
            "contractId": contract.id,
            "accountId": v.get("AccountId"),
            "activatedDate": render(v.get("ActivatedDate")),
            "systemModstamp": render(v.get("SystemModstamp")),
            "organizationId": organization_id,
        }
        delivery = Delivery(contract.id, json.dumps(payload, separators=(",", ":")).encode())
        self.deliveries.append(delivery)
        if self.suppressed:
            delivery.status = "suppressed"
            return
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        await asyncio.sleep(0)  # let the API response go out first
        settings = self.settings
        assert settings.callout_url is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        secret = settings.callout_secret.get_secret_value()
        for attempt in range(1, settings.callout_max_attempts + 1):
            delivery.attempts = attempt
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(secret, int(time.time()), delivery.body),
            }
            try:
                response = await self._client.post(
                    settings.callout_url, content=delivery.body, headers=headers
                )
                delivery.last_status_code, delivery.last_error = response.status_code, None
                if response.is_success:
                    delivery.status = "delivered"
                    log.info(
                        "salesforce.callout.delivered contract_id=%s attempts=%d",
                        delivery.contract_id,
                        attempt,
                    )
                    return
            except httpx.HTTPError as exc:
                delivery.last_error = type(exc).__name__
            if attempt < settings.callout_max_attempts:
                backoff = settings.callout_backoff
                await asyncio.sleep(backoff[min(attempt - 1, len(backoff) - 1)])
        delivery.status = "failed"
        log.warning(
            "salesforce.callout.failed contract_id=%s attempts=%d", delivery.contract_id, delivery.attempts
        )

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self.deliveries.clear()
        self.suppressed = False

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        self.reset()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None
