"""Compact storage of the bulky, mostly settled business objects (invoices with their lines, payment
intents, charges): kept for the life of the process, but not all as Python dicts.

An invoice with two lines is about 10 kB as nested dicts and well under 1 kB as compressed JSON. Each
account keeps the most recently used ``hot_limit`` objects of these kinds as plain dicts (what the
handlers read and mutate in place) and archives the least recently used beyond that: the dict is
replaced in its store by an ``Archived`` entry, which inflates back into a dict (and becomes hot
again) as soon as the object is fetched by id (``Account.get``/``require``/``find``).

Listing does not inflate: an ``Archived`` is a read-only mapping that answers the fields list
filters use (``summary``) directly and anything else from its JSON, and it renders as the object
(``json_default``). Objects embedded in an archived object that also live in a store of their own
are handled by ``Policy``: lines belong to their invoice (their store entries point at it while it
is archived); payments and refunds have their own store, which remains the truth for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .compact import pack, unpack

Obj = dict[str, Any]


@dataclass(frozen=True)
class Policy:
    """How one kind is archived."""

    summary: tuple[str, ...]
    """Top-level fields answered without inflating: the fields the kind's frequent list filters
    read (a rarer filter, like invoices by subscription, inflates each archived object it tests)."""
    owned: tuple[tuple[str, str], ...] = ()
    """(list field, kind) of embedded objects that are archived with their owner."""
    linked: tuple[tuple[str, str], ...] = ()
    """(list field, kind) of embedded objects whose own store stays the truth: on thaw the owner
    embeds that store's live objects again. Such a kind must not be archivable itself: a live owner
    would keep mutating an embedded object its store had archived."""


POLICIES: dict[str, Policy] = {
    "invoice": Policy(
        summary=("id", "object", "created", "customer", "status", "collection_method"),
        owned=(("lines", "line_item"),),
        linked=(("payments", "invoice_payment"),),
    ),
    "payment_intent": Policy(summary=("id", "object", "created", "customer")),
    "charge": Policy(
        summary=("id", "object", "created", "customer", "payment_intent"),
        linked=(("refunds", "refund"),),
    ),
}


class Archived(Mapping[str, Any]):
    """An archived object: its summary fields' values (in the policy's order), and the whole object
    as compressed JSON."""

    __slots__ = ("blob", "known", "policy")

    def __init__(self, obj: Obj, policy: Policy) -> None:
        self.policy = policy
        self.known = tuple(obj.get(name) for name in policy.summary)
        self.blob = pack(obj)

    def thaw(self) -> Obj:
        """The object as a fresh dict."""
        obj: Obj = unpack(self.blob)
        return obj

    def __getitem__(self, key: str) -> Any:
        if key in self.policy.summary:
            return self.known[self.policy.summary.index(key)]
        return self.thaw()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.thaw())

    def __len__(self) -> int:
        return len(self.thaw())


@dataclass(frozen=True, slots=True)
class OwnedBy:
    """The store entry of an embedded object whose owner (``kind``, ``owner_id``) is archived."""

    kind: str
    owner_id: str


def plain(obj: Mapping[str, Any]) -> Obj:
    """``obj`` as a dict (an archived object inflated, not made hot again)."""
    return obj.thaw() if isinstance(obj, Archived) else obj  # type: ignore[return-value]


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)``: archived objects serialize as the objects they hold."""
    if isinstance(value, Archived):
        return value.thaw()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
