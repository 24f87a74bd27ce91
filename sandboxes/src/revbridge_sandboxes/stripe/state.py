"""In-memory state of the Stripe sandbox: one object store per account, ids, idempotency entries.

Everything mutable lives in one ``SandboxState`` hung on ``app.state``; nothing is module-global.
The business objects (customers, subscriptions, invoices, payments...) are kept for the life of the
process, the bulky ones beyond the most recently used in compressed form (``archive``); what only
grows with traffic is bounded like Stripe bounds it: events (30 days, ``event_log``) and
idempotency keys (24 hours, ``idempotency``), each also capped by count, since under test clocks
the sandbox makes months of them in minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import string
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..faults import FaultPlan
from .archive import POLICIES, Archived, OwnedBy, json_default
from .errors import missing_reference, not_found
from .event_log import EventLog
from .idempotency import IdempotencyKeys, IdempotentEntry

if TYPE_CHECKING:
    from .settings import StripeSandboxSettings
    from .webhooks import WebhookDispatcher

BASE62 = string.digits + string.ascii_letters
IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600
EVENT_RETENTION_SECONDS = 30 * 86400

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
class Account:
    """One secret key's world: its objects (by kind, insertion-ordered), events, keys and lock.

    Objects of the kinds in ``archive.POLICIES`` beyond the ``hot_limit`` most recently used are
    archived (compressed); ``get``/``require``/``find`` always answer a live dict, made hot again."""

    secret_key: str
    account_id: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: EventLog = field(default_factory=lambda: EventLog(100_000, EVENT_RETENTION_SECONDS))
    endpoint_secrets: dict[str, str] = field(default_factory=dict)
    configured_endpoints: set[str] = field(default_factory=set)
    idempotency: IdempotencyKeys = field(
        default_factory=lambda: IdempotencyKeys(100_000, IDEMPOTENCY_RETENTION_SECONDS)
    )
    card_of: dict[str, str] = field(default_factory=dict)  # pm_... -> the test card it was made from
    invoice_payment_of: dict[str, str] = field(default_factory=dict)  # pi_... -> its invoice's inpay_...
    deleted: set[str] = field(default_factory=set)  # ids of deleted customers: they retrieve as tombstones
    price_tiers: dict[str, list[Obj]] = field(default_factory=dict)  # price id -> tiers (includable)
    hot_limit: int = 1000
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _hot: dict[str, OrderedDict[str, None]] = field(default_factory=dict)  # archivable kinds, LRU order

    def put(self, obj: Obj) -> Obj:
        kind = obj["object"]
        self.objects.setdefault(kind, {})[obj["id"]] = obj
        if kind in POLICIES:
            self._touch(kind, obj["id"])
        return obj

    def remove(self, kind: str, object_id: str) -> None:
        self.objects.get(kind, {}).pop(object_id, None)
        self._hot.get(kind, OrderedDict()).pop(object_id, None)

    def get(self, kind: str, object_id: str) -> Obj | None:
        entry = self.objects.get(kind, {}).get(object_id)
        if isinstance(entry, dict):
            if kind in POLICIES:
                self._touch(kind, object_id)
            return entry
        if isinstance(entry, Archived):
            return self._thaw(kind, object_id, entry)
        if isinstance(entry, OwnedBy):  # its owner is archived: thawing it puts this back
            self.get(entry.kind, entry.owner_id)
            found = self.objects.get(kind, {}).get(object_id)
            return found if isinstance(found, dict) else None
        return None

    def require(self, kind: str, object_id: Any, label: str | None = None, param: str = "id") -> Obj:
        obj = self.get(kind, object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise not_found(label or kind, str(object_id), param)
        return obj

    def reference(self, kind: str, object_id: Any, label: str, param: str) -> Obj:
        """The object a request parameter names (``customer`` on a subscription, ...): an unknown
        id is Stripe's 400 ``resource_missing`` with ``param``, where an unknown URL id is a 404."""
        obj = self.get(kind, object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise missing_reference(label, str(object_id), param)
        return obj

    def newest_first(self, kind: str) -> list[Obj]:
        """Every object of ``kind``, newest first, for listing: archived ones stay archived (a
        read-only mapping that renders as the object), so what is listed must not be mutated."""
        return list(reversed(self.objects.get(kind, {}).values()))

    def find(self, object_id: str) -> Obj | None:
        """Any object by id, for expansion."""
        for kind, store in list(self.objects.items()):
            if object_id in store:
                return self.get(kind, object_id)
        return None

    def archived_counts(self) -> dict[str, int]:
        return {
            kind: sum(isinstance(o, Archived) for o in self.objects.get(kind, {}).values())
            for kind in POLICIES
        }

    def _touch(self, kind: str, object_id: str) -> None:
        """Mark the object most recently used; archive the least recently used beyond the limit."""
        hot = self._hot.setdefault(kind, OrderedDict())
        hot[object_id] = None
        hot.move_to_end(object_id)
        while len(hot) > self.hot_limit:
            self._archive(kind, hot.popitem(last=False)[0])

    def _archive(self, kind: str, object_id: str) -> None:
        store = self.objects.get(kind, {})
        entry = store.get(object_id)
        if not isinstance(entry, dict):
            return
        obj: Obj = entry
        policy = POLICIES[kind]
        store[object_id] = Archived(obj, policy)  # same key: the store's order is kept
        for name, owned_kind in policy.owned:
            owned: dict[str, Any] = self.objects.get(owned_kind, {})
            marker = OwnedBy(kind, object_id)
            for item in obj[name]["data"]:
                key = item["id"]
                if owned.get(key) is item:
                    owned[key] = marker

    def _thaw(self, kind: str, object_id: str, archived: Archived) -> Obj:
        obj = archived.thaw()
        policy = POLICIES[kind]
        for name, owned_kind in policy.owned:
            entries: dict[str, Any] = self.objects.get(owned_kind, {})
            for item in obj[name]["data"]:
                if isinstance(entries.get(item["id"]), OwnedBy):
                    entries[item["id"]] = item
        self.objects[kind][object_id] = obj
        self._touch(kind, object_id)
        for name, linked_kind in policy.linked:
            obj[name]["data"] = [self.get(linked_kind, i["id"]) or i for i in obj[name]["data"]]
        return obj

    def idempotent(self, key: str) -> IdempotentEntry | None:
        return self.idempotency.get(key)

    def reset(self) -> None:
        """Drop every object and key except the endpoints configured at start-up."""
        endpoints = {
            i: e
            for i, e in self.objects.get("webhook_endpoint", {}).items()
            if i in self.configured_endpoints
        }
        self.objects = {"webhook_endpoint": endpoints}
        self._hot.clear()
        self.endpoint_secrets = {i: s for i, s in self.endpoint_secrets.items() if i in endpoints}
        self.events.clear()
        self.idempotency.clear()
        self.deleted.clear()
        self.card_of.clear()
        self.invoice_payment_of.clear()
        self.price_tiers.clear()


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
        s = self.settings
        for key in s.secret_key_list():
            account = Account(
                secret_key=key,
                account_id=new_id("acct", 16),
                events=EventLog(s.event_retention_count, s.event_retention_seconds),
                idempotency=IdempotencyKeys(s.idempotency_retention_count, s.idempotency_retention_seconds),
                hot_limit=s.hot_objects_per_kind,
            )
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
    copied: Obj = json.loads(json.dumps(obj, default=json_default))
    return copied
