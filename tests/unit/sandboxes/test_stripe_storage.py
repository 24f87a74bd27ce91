"""The Stripe sandbox's storage without I/O: events and idempotency keys within their limits, and
archived objects that come back as the same live objects, their embedded lines and payments
linked to their own stores again."""

from __future__ import annotations

import pytest
from revbridge_sandboxes.stripe import shapes
from revbridge_sandboxes.stripe.archive import Archived, OwnedBy
from revbridge_sandboxes.stripe.compact import pack, unpack
from revbridge_sandboxes.stripe.event_log import EventLog, StoredEvent
from revbridge_sandboxes.stripe.idempotency import IdempotencyKeys
from revbridge_sandboxes.stripe.state import Account, Obj

pytestmark = pytest.mark.unit


def _event(n: int, recorded_at: float = 0.0) -> StoredEvent:
    event = StoredEvent.record(
        f"evt_{n}", "customer.created", n, {"object": {"id": f"cus_{n}"}}, None, None, None
    )
    event.recorded_at = recorded_at or event.recorded_at
    return event


def test_event_log_keeps_the_newest_within_count_and_age() -> None:
    log = EventLog(max_count=3, max_age_seconds=100)
    for n in range(5):
        log.add(_event(n, recorded_at=1000.0 + n))

    assert [e.id for e in log.newest_first()] == ["evt_4", "evt_3", "evt_2"] and log.dropped == 2
    assert log.get("evt_1") is None and log.get("evt_3") is not None
    log.add(_event(5, recorded_at=1103.0))  # evt_2 (1002) is now older than 100 s
    assert [e.id for e in log] == ["evt_3", "evt_4", "evt_5"]


def test_stored_event_renders_as_stripe_serializes_it() -> None:
    event = StoredEvent.record(
        "evt_1", "invoice.paid", 7, {"object": {"id": "in_1", "n": "é"}}, "v", "req_1", "k"
    )
    event.pending_webhooks = 2

    assert event.to_dict() == {
        "id": "evt_1",
        "object": "event",
        "api_version": "v",
        "created": 7,
        "data": {"object": {"id": "in_1", "n": "é"}},
        "livemode": False,
        "pending_webhooks": 2,
        "request": {"id": "req_1", "idempotency_key": "k"},
        "type": "invoice.paid",
    }


def test_idempotency_keys_drop_the_oldest_finished_never_one_still_executing() -> None:
    keys = IdempotencyKeys(max_count=2, max_age_seconds=3600)
    running = keys.begin("a", "fp")  # still executing
    keys.begin("b", "fp").save(200, b'{"id": "cus_b"}')
    keys.begin("c", "fp").save(200, b'{"id": "cus_c"}')

    assert keys.get("a") is running and keys.get("b") is None  # "b" went; "a" could not
    assert keys.get("c") is not None and keys.get("c").body == b'{"id": "cus_c"}'  # type: ignore[union-attr]
    running.save(200, b"{}")
    keys.begin("d", "fp")  # the oldest finished one goes: "c" ("a" moved behind it while running)
    assert keys.get("c") is None and keys.get("a") is running and len(keys) == 2


def test_idempotency_keys_expire_after_their_age() -> None:
    keys = IdempotencyKeys(max_count=10, max_age_seconds=60)
    entry = keys.begin("a", "fp")
    entry.created -= 61
    assert keys.get("a") is None and len(keys) == 0


def test_compact_round_trips_json() -> None:
    value = {"id": "in_1", "lines": {"data": [{"amount": 100, "description": "1 x Gold"}]}, "paid": None}
    blob = pack(value)
    assert unpack(blob) == value and len(blob) < len(str(value))


def _invoice(account: Account, n: int) -> Obj:
    customer = account.put(shapes.customer(f"cus_{n}"))
    inv = shapes.invoice(f"in_{n}", customer, "usd", "send_invoice")
    line = account.put({"id": f"il_{n}", "object": "line_item", "amount": n, "invoice": inv["id"]})
    payment = account.put({"id": f"inpay_{n}", "object": "invoice_payment", "status": "open"})
    inv["lines"]["data"] = [line]
    inv["payments"]["data"] = [payment]
    return account.put(inv)


def test_objects_past_the_hot_limit_are_archived_and_come_back_live() -> None:
    account = Account(secret_key="sk_test_x", account_id="acct_x", hot_limit=1)
    first, second = _invoice(account, 1), _invoice(account, 2)

    assert isinstance(account.objects["invoice"]["in_1"], Archived)
    assert account.objects["line_item"]["il_1"] == OwnedBy("invoice", "in_1")
    listed = account.newest_first("invoice")
    assert [i["id"] for i in listed] == ["in_2", "in_1"] and listed[1]["status"] == "draft"

    account.objects["invoice_payment"]["inpay_1"]["status"] = "paid"  # its own store is the truth
    line = account.get("line_item", "il_1")  # thaws the invoice that owns it
    thawed = account.get("invoice", "in_1")
    assert thawed == {**first, "payments": {**first["payments"], "data": [thawed["payments"]["data"][0]]}}
    assert thawed is not None and thawed["lines"]["data"][0] is line
    assert thawed["payments"]["data"][0] is account.objects["invoice_payment"]["inpay_1"]
    assert thawed["payments"]["data"][0]["status"] == "paid"
    assert isinstance(account.objects["invoice"]["in_2"], Archived) and second["id"] == "in_2"

    thawed["status"] = "open"  # a change to the live object survives archiving again
    account.get("invoice", "in_2")
    assert account.get("invoice", "in_1")["status"] == "open"  # type: ignore[index]
    assert account.find("il_2") is account.objects["line_item"]["il_2"]
