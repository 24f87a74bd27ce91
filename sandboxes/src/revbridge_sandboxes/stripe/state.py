"""In-memory state of the Stripe sandbox: one object store per account, ids, idempotency entries.

Everything mutable lives in one ``SandboxState`` hung on ``app.state``; nothing is module-global.
"""

from __future__ import annotations

import asyncio
import json
import os
import string
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..faults import FaultPlan
from .errors import not_found

if TYPE_CHECKING:
    from .settings import StripeSandboxSettings
    from .webhooks import WebhookDispatcher

BASE62 = string.digits + string.ascii_letters
IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600

Obj = dict[str, Any]


# byte -> BASE62[byte % 62], so random bytes become id characters in one C-level translate
_BASE62_OF_BYTE = bytes(ord(BASE62[b % 62]) for b in range(256))


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-style id: the real prefix and random base62 (one urandom call; ids are hot)."""
    return f"{prefix}_" + os.urandom(length).translate(_BASE62_OF_BYTE).decode("ascii")


_FROZEN: ContextVar[int | None] = ContextVar("stripe_sandbox_frozen_time", default=None)


def now() -> int:
    """Unix seconds: a test clock's frozen time while one is in effect, else the wall clock."""
    frozen = _FROZEN.get()
    return int(time.time()) if frozen is None else frozen


@contextmanager
def frozen_at(ts: int | None) -> Iterator[None]:
    """Make ``now()`` answer ``ts`` (a test clock's time) inside the block; ``None`` changes nothing."""
    token = _FROZEN.set(ts if ts is not None else _FROZEN.get())
    try:
        yield
    finally:
        _FROZEN.reset(token)


@dataclass
class IdempotentEntry:
    """The saved outcome of the first request made with one idempotency key."""

    fingerprint: str
    created: float
    status: int | None = None  # None while the first request is still executing
    body: bytes = b""


@dataclass
class Account:
    """One secret key's world: its objects (by kind, insertion-ordered), keys and lock."""

    secret_key: str
    account_id: str
    objects: dict[str, dict[str, Obj]] = field(default_factory=dict)
    endpoint_secrets: dict[str, str] = field(default_factory=dict)
    configured_endpoints: set[str] = field(default_factory=set)
    idempotency: dict[str, IdempotentEntry] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def put(self, obj: Obj) -> Obj:
        self.objects.setdefault(obj["object"], {})[obj["id"]] = obj
        return obj

    def remove(self, kind: str, object_id: str) -> None:
        self.objects.get(kind, {}).pop(object_id, None)

    def get(self, kind: str, object_id: str) -> Obj | None:
        return self.objects.get(kind, {}).get(object_id)

    def require(self, kind: str, object_id: Any, label: str | None = None, param: str = "id") -> Obj:
        obj = self.get(kind, object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise not_found(label or kind, str(object_id), param)
        return obj

    def newest_first(self, kind: str) -> list[Obj]:
        return list(reversed(self.objects.get(kind, {}).values()))

    def find(self, object_id: str) -> Obj | None:
        """Any object by id, for expansion."""
        for store in self.objects.values():
            if object_id in store:
                return store[object_id]
        return None

    def idempotent(self, key: str) -> IdempotentEntry | None:
        entry = self.idempotency.get(key)
        if entry and time.time() - entry.created > IDEMPOTENCY_RETENTION_SECONDS:
            del self.idempotency[key]
            return None
        return entry

    def reset(self) -> None:
        """Drop every object and key except the endpoints configured at start-up."""
        endpoints = {
            i: e
            for i, e in self.objects.get("webhook_endpoint", {}).items()
            if i in self.configured_endpoints
        }
        self.objects = {"webhook_endpoint": endpoints}
        self.endpoint_secrets = {i: s for i, s in self.endpoint_secrets.items() if i in endpoints}
        self.idempotency.clear()


@dataclass
class SandboxState:
    """The whole sandbox: accounts by secret key, request log, faults, webhook dispatcher."""

    settings: StripeSandboxSettings
    webhooks: WebhookDispatcher
    accounts: dict[str, Account] = field(default_factory=dict)
    requests: deque[Obj] = field(default_factory=deque)
    faults: FaultPlan = field(default_factory=FaultPlan)
    background: set[asyncio.Task[None]] = field(default_factory=set)  # test clock advances

    def __post_init__(self) -> None:
        self.requests = deque(maxlen=self.settings.request_log_size)
        for key in self.settings.secret_key_list():
            account = Account(secret_key=key, account_id=new_id("acct", 16))
            self.accounts[key] = account
            url = self.settings.webhook_url_for(key)
            if url:
                self.add_configured_endpoint(account, url)

    def add_configured_endpoint(self, account: Account, url: str) -> None:
        endpoint = webhook_endpoint_object(url, ["*"], self.settings.api_version)
        endpoint["description"] = "Configured by STRIPE_SANDBOX_WEBHOOK_URL"
        account.put(endpoint)
        account.endpoint_secrets[endpoint["id"]] = self.settings.webhook_secret.get_secret_value()
        account.configured_endpoints.add(endpoint["id"])

    def reset(self) -> None:
        for account in self.accounts.values():
            account.reset()
        self.requests.clear()
        self.faults.clear()
        self.webhooks.reset()


def webhook_endpoint_object(url: str, enabled_events: list[str], api_version: str | None) -> Obj:
    return {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": now(),
        "description": None,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": url,
    }


def snapshot(obj: Obj) -> Obj:
    """A deep copy; objects are plain JSON, and a JSON round trip is several times faster than deepcopy."""
    copied: Obj = json.loads(json.dumps(obj))
    return copied
