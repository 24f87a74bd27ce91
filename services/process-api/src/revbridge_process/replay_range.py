"""Replay by time range: re-publish what the platforms themselves recorded, beyond the bus's retention.

Two sources, read through the system API: the billing system's events API (Stripe keeps 30 days
of events; each becomes the notification its webhook would have published, with the vendor's
event id: every type a flow of the dispatch table handles, so invoices finalized, paid, failed,
voided or marked uncollectible, credit notes and refunds), and the CRM's contracts activated and
modified in the range (SOQL on SystemModstamp, each a ``crm.contract.activated``: activations,
amendments and renewals). The flows read the current state and converge, so a replay
never duplicates money and re-publishing what was already handled is harmless.

The work goes a page at a time: one call publishes up to ``max_events`` and answers an opaque
cursor for the rest, so a long range never holds one HTTP request for minutes, any API replica
can continue it, and the caller (the CLI) can show progress. Within one call an event of the same
type for the same subject is published once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_contracts.models import ContractStatus
from revbridge_contracts.process import (
    ReplayedEntry,
    ReplaySource,
    TimeRangeReplay,
    TimeRangeReplayResult,
)

from revbridge_process.bus import EventBus, stream_key
from revbridge_process.dispatch import FLOW_OF
from revbridge_process.errors import InvalidField, SystemRejected
from revbridge_process.ports import ListingPort

SOURCE = "process.replay.time_range"
BILLING_PAGE = 100
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
log = logging.getLogger(__name__)


def _handled(type_name: str) -> EventType | None:
    """The event type, when a flow of the dispatch table handles it (the table the worker routes by)."""
    try:
        event_type = EventType(type_name)
    except ValueError:
        return None
    return event_type if event_type in FLOW_OF else None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclass
class _Cursor:
    """Where a replay stands: the range it belongs to, the source (phase) and that source's cursor."""

    since: str
    until: str
    phases: list[str]
    phase: int = 0
    vendor: str | None = None

    def encode(self) -> str:
        raw = json.dumps(
            {"s": self.since, "u": self.until, "p": self.phases, "i": self.phase, "c": self.vendor},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cls(str(data["s"]), str(data["u"]), [str(p) for p in data["p"]], int(data["i"]), data["c"])
        except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise InvalidField("cursor", "not a cursor this API issued") from exc


@dataclass
class _Run:
    request: TimeRangeReplay
    since: dt.datetime
    until: dt.datetime
    carried: dict[str, str]
    seen: set[tuple[str, str]] = field(default_factory=set)
    result: TimeRangeReplayResult = field(
        default_factory=lambda: TimeRangeReplayResult(published=0, progress=0.0)
    )

    def room(self) -> int:
        return self.request.max_events - self.result.published

    def fraction(self, position: dt.datetime, newest_first: bool) -> float:
        span = (self.until - self.since).total_seconds()
        if span <= 0:
            return 1.0
        done = (self.until - position) if newest_first else (position - self.since)
        return min(1.0, max(0.0, done.total_seconds() / span))


class TimeRangeReplayer:
    """Publishes the platforms' record of a time range as bus events (see the module docstring)."""

    def __init__(self, system: ListingPort, bus: EventBus, billing_accounts: list[str]) -> None:
        self._system, self._bus, self._accounts = system, bus, billing_accounts

    def _phases(self, request: TimeRangeReplay) -> list[str]:
        accounts = request.accounts or self._accounts
        for i, account in enumerate(accounts):
            if account not in self._accounts:
                raise InvalidField(f"accounts.{i}", f"not a configured billing account: {account}")
        phases: list[str] = []
        if ReplaySource.billing in request.sources:
            phases += [f"billing:{a}" for a in dict.fromkeys(accounts)]
        if ReplaySource.crm in request.sources:
            phases.append("crm")
        return phases

    async def replay(
        self, request: TimeRangeReplay, carried: dict[str, str] | None = None, now: dt.datetime | None = None
    ) -> TimeRangeReplayResult:
        since = max(_utc(request.since), EPOCH)  # the platforms recorded nothing before 1970
        until = _utc(request.until) if request.until else (now or dt.datetime.now(dt.UTC))
        if until < since:
            raise InvalidField("since", "in the future: nothing has been recorded after it yet")
        phases = self._phases(request)
        cursor = _Cursor(since.isoformat(), until.isoformat(), phases)
        if request.cursor:
            cursor = _Cursor.decode(request.cursor)
            given_until = request.until is None or _utc(request.until).isoformat() == cursor.until
            if cursor.since != since.isoformat() or cursor.phases != phases or not given_until:
                raise InvalidField("cursor", "belongs to another time range")
            until = dt.datetime.fromisoformat(cursor.until)
        run = _Run(request, since, until, dict(carried or {}))
        while cursor.phase < len(phases) and run.room() > 0:
            phase = phases[cursor.phase]
            try:
                if phase == "crm":
                    cursor.vendor, fraction = await self._contracts(run, cursor.vendor)
                else:
                    account = phase.split(":", 1)[1]
                    cursor.vendor, fraction = await self._billing(run, account, cursor.vendor)
            except SystemRejected as exc:
                if cursor.vendor is None:
                    raise
                raise InvalidField("cursor", "refused by the platform: not a cursor this API issued") from exc
            if cursor.vendor is None:
                cursor.phase, fraction = cursor.phase + 1, 0.0
            run.result.progress = min(1.0, (cursor.phase + fraction) / len(phases)) if phases else 1.0
        done = cursor.phase >= len(phases)
        run.result.next_cursor = None if done else cursor.encode()
        if done:
            run.result.progress = 1.0
        log.info(
            "replay.time_range",
            extra={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "published": run.result.published,
                "done": done,
            },
        )
        return run.result

    async def _billing(self, run: _Run, account: str, vendor: str | None) -> tuple[str | None, float]:
        page = await self._system.list_billing_events(
            account, run.since, run.until, vendor, limit=min(BILLING_PAGE, run.room())
        )
        fraction = 0.0
        for item in page.items:
            event_type = _handled(item.type)
            if event_type is None:  # a type no flow here handles (a newer system API): not ours to run
                run.result.skipped += 1
                continue
            await self._publish(
                run, event_type, item.subject, account=account, vendor_event_id=item.id, at=item.occurred_at
            )
            run.result.position = item.occurred_at
            fraction = run.fraction(item.occurred_at, newest_first=True)
        return page.next_cursor, fraction

    async def _contracts(self, run: _Run, vendor: str | None) -> tuple[str | None, float]:
        page = await self._system.list_contracts_in_range(
            ContractStatus.activated, run.since, run.until, vendor, limit=min(2000, run.room())
        )
        fraction = 0.0
        for contract in page.items:
            at = contract.modified_at or contract.activated_at
            await self._publish(run, EventType.contract_activated, contract.id, at=at)
            if at is not None:
                run.result.position = at
                fraction = run.fraction(at, newest_first=False)
        return page.next_cursor, fraction

    async def _publish(
        self, run: _Run, event_type: EventType, subject: str, *, at: dt.datetime | None, **fields: Any
    ) -> None:
        if (event_type.value, subject) in run.seen:
            run.result.skipped += 1
            return
        run.seen.add((event_type.value, subject))
        envelope = EventEnvelope(
            type=event_type,
            source=SOURCE,
            subject=subject,
            **({"occurred_at": at} if at else {}),
            **fields,
            **run.carried,
        )
        entry_id = await self._bus.publish(envelope)
        result = run.result
        result.published += 1
        result.by_type[event_type.value] = result.by_type.get(event_type.value, 0) + 1
        result.entries.append(
            ReplayedEntry(
                stream=stream_key(self._bus.prefix, envelope.stream), entry_id=entry_id, event_id=envelope.id
            )
        )
