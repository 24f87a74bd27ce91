"""Replay by time range onto a real Redis bus, the listings from a hand-written fake of the system
API's listing port: a page of work per call with a cursor that resumes exactly, progress that only
grows, one event per type and subject, and cursors or accounts that do not belong refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope
from revbridge_contracts.models import BillingEvent, BillingEventPage, Contract, ContractPage
from revbridge_contracts.process import TimeRangeReplay
from revbridge_process.bus import EventBus
from revbridge_process.dispatch import FLOW_OF
from revbridge_process.errors import InvalidField
from revbridge_process.replay_range import TimeRangeReplayer

from tests.unit.process.fakes import contract

pytestmark = pytest.mark.anyio
SINCE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
UNTIL = SINCE + dt.timedelta(hours=10)


class FakeEvents:
    """Stripe's events (newest first, 100 at most a page) and the CRM's contracts (oldest first)."""

    def __init__(self) -> None:
        self.events = [
            BillingEvent(
                id=f"evt_{n:03d}",
                type="billing.invoice.paid" if n % 2 else "billing.invoice.finalized",
                subject=f"in_{n // 2:03d}",
                account="default",
                occurred_at=SINCE + dt.timedelta(minutes=5 * n),
            )
            for n in range(100)
        ][::-1]
        self.events.insert(3, self.events[3].model_copy(update={"id": "evt_again"}))  # a repeat
        self.events.insert(5, self.events[5].model_copy(update={"id": "evt_new", "type": "billing.new.kind"}))
        self.contracts: list[Contract] = [
            contract(f"80000000000{n:04d}", modified_at=SINCE + dt.timedelta(hours=n)) for n in range(1, 4)
        ]
        self.calls: list[tuple[str, Any]] = []

    async def list_billing_events(
        self,
        account: str,
        since: dt.datetime,
        until: dt.datetime,
        cursor: str | None = None,
        limit: int = 100,
    ) -> BillingEventPage:
        self.calls.append(("events", (account, since, until, cursor, limit)))
        start = 0 if cursor is None else [e.id for e in self.events].index(cursor) + 1
        page = self.events[start : start + limit]
        more = start + limit < len(self.events)
        return BillingEventPage(items=page, next_cursor=page[-1].id if more else None)

    async def list_contracts_in_range(
        self, status: Any, since: Any, until: Any, cursor: str | None = None, limit: int = 2000
    ) -> ContractPage:
        self.calls.append(("contracts", (status, since, until, cursor, limit)))
        start = int(cursor or 0)
        page = self.contracts[start : start + limit]
        more = start + limit < len(self.contracts)
        return ContractPage(items=page, next_cursor=str(start + limit) if more else None)


def _request(**fields: Any) -> TimeRangeReplay:
    return TimeRangeReplay.model_validate({"since": SINCE, "until": UNTIL} | fields)


async def test_a_range_is_replayed_a_page_at_a_time_until_done(redis: Redis, prefix: str) -> None:
    source = FakeEvents()
    replayer = TimeRangeReplayer(source, EventBus(redis, prefix), ["default"])  # type: ignore[arg-type]
    results, cursor = [], None
    while True:
        result = await replayer.replay(_request(max_events=30, cursor=cursor), {"correlation_id": "c-replay"})
        results.append(result)
        cursor = result.next_cursor
        if cursor is None:
            break

    assert [r.published for r in results] == [30, 30, 30, 13]  # 100 events and 3 contracts
    progress = [r.progress for r in results]
    assert progress == sorted(progress) and progress[-1] == 1.0 and 0 < progress[0] < 1
    assert sum(r.skipped for r in results) == 2  # the repeat and the unknown type
    billing: list[Any] = await redis.xrange(f"{prefix}events:billing")  # type: ignore[assignment]
    crm: list[Any] = await redis.xrange(f"{prefix}events:crm")  # type: ignore[assignment]
    envelopes = [EventEnvelope.from_fields(f) for _, f in billing]
    assert len(envelopes) == 100 and len({(e.type, e.subject) for e in envelopes}) == 100
    first = envelopes[0]
    assert (first.source, first.vendor_event_id, first.account, first.correlation_id) == (
        "process.replay.time_range",
        "evt_099",
        "default",
        "c-replay",
    )
    assert [EventEnvelope.from_fields(f).subject for _, f in crm] == [c.id for c in source.contracts]
    # each call asked for no more than it had room for, and resumed where the last one stopped
    assert all(limit <= 30 for kind, (*_, limit) in source.calls)


async def test_a_cursor_only_continues_its_own_range_and_accounts_are_checked(
    redis: Redis, prefix: str
) -> None:
    replayer = TimeRangeReplayer(FakeEvents(), EventBus(redis, prefix), ["default", "uk"])  # type: ignore[arg-type]
    first = await replayer.replay(_request(max_events=10, sources=["billing"], accounts=["default"]))
    assert first.next_cursor and first.published == 10
    with pytest.raises(InvalidField) as other_range:
        await replayer.replay(
            _request(
                since=SINCE - dt.timedelta(days=1),
                cursor=first.next_cursor,
                sources=["billing"],
                accounts=["default"],
            )
        )
    assert other_range.value.extra["invalid_params"][0]["name"] == "cursor"
    with pytest.raises(InvalidField) as forged:
        await replayer.replay(_request(cursor="not-a-cursor"))
    assert forged.value.extra["invalid_params"][0]["name"] == "cursor"
    with pytest.raises(InvalidField) as account:
        await replayer.replay(_request(accounts=["default", "nowhere"]))
    assert account.value.extra["invalid_params"][0]["name"] == "accounts.1"


async def test_every_billing_event_a_flow_handles_is_replayed(redis: Redis, prefix: str) -> None:
    """Voids, write-offs, failed payments, credit notes and refunds as well as invoices: each type the
    dispatch table routes is published for its flow."""
    source = FakeEvents()
    billing_types = [t for t in FLOW_OF if t.value.startswith("billing.")]
    source.events = [
        BillingEvent(
            id=f"evt_{t.name}",
            type=t.value,
            subject=f"key_{t.name}",
            account="default",
            occurred_at=UNTIL - dt.timedelta(minutes=n),
        )
        for n, t in enumerate(billing_types, start=1)
    ]
    replayer = TimeRangeReplayer(source, EventBus(redis, prefix), ["default"])  # type: ignore[arg-type]
    result = await replayer.replay(_request(sources=["billing"]))
    assert result.next_cursor is None and result.skipped == 0
    assert result.by_type == {t.value: 1 for t in billing_types}
    published: list[Any] = await redis.xrange(f"{prefix}events:billing")  # type: ignore[assignment]
    flows = {FLOW_OF[EventEnvelope.from_fields(f).type] for _, f in published}
    assert flows == {FLOW_OF[t] for t in billing_types}
