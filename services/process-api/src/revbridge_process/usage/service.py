"""Usage intake end to end: check each event, find its contract, apply the window and period rules,
then hand the admitted ones to the exactly-once script and answer every event in order.

Late usage refused under ``usage.late: exception`` becomes a ``usage_late`` exception (flow
``usage``, key ``<sender>:<event id>``) whose reason carries the whole event, so revops can bill it
by hand and nothing is lost. Every event's answer is also written to the durable record of intake
(``records``, in PostgreSQL) before the batch is answered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revbridge_contracts.process import ErrorClass
from revbridge_contracts.usage import (
    UsageBatchResult,
    UsageEvent,
    UsageEventResult,
    UsageReason,
    UsageStatus,
)

from revbridge_process.config import Config
from revbridge_process.facts import current_trace_id
from revbridge_process.ports import ExceptionSink
from revbridge_process.usage import keys
from revbridge_process.usage.clocks import Clocks
from revbridge_process.usage.directory import AmbiguousCustomer, DirectoryEntry, UsageDirectory
from revbridge_process.usage.intake import Fate, Submission, UsageIntake
from revbridge_process.usage.records import Acceptance, AcceptanceLog, NoAcceptances
from revbridge_process.usage.rules import Admitted, Rejection, judge, parse_event

FLOW = "usage"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Checked:
    event: UsageEvent | None
    entry: DirectoryEntry | None
    verdict: Admitted | Rejection


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class UsageService:
    def __init__(
        self,
        config: Config,
        directory: UsageDirectory,
        intake: UsageIntake,
        clocks: Clocks,
        exceptions: ExceptionSink,
        records: AcceptanceLog | None = None,
    ) -> None:
        self._config, self._directory, self._intake = config, directory, intake
        self._clocks, self._exceptions = clocks, exceptions
        self._records: AcceptanceLog = records or NoAcceptances()

    async def ingest(self, sender: str, raw_events: Sequence[Any]) -> UsageBatchResult:
        parsed = [parse_event(raw) for raw in raw_events]
        events = [p for p in parsed if isinstance(p, UsageEvent)]
        entries = await self._directory.get_many(e.contract_id for e in events if e.contract_id)
        by_customer = await self._customers({e.customer for e in events if e.customer})
        checked = [await self._check(p, entries, by_customer) for p in parsed]
        submissions = [
            Submission(
                sender, c.event.event_id, self._fields(sender, c) if isinstance(c.verdict, Admitted) else None
            )
            for c in checked
            if c.event is not None
        ]
        fates = iter(await self._intake.submit(submissions))
        results = []
        for index, item in enumerate(checked):
            fate = next(fates) if item.event is not None else Fate.rejected
            results.append(await self._result(index, sender, item, fate, raw_events[index]))
        trace_id = current_trace_id()
        await self._records.append(
            [
                _acceptance(sender, item, result, raw_events[result.index], trace_id)
                for item, result in zip(checked, results, strict=True)
            ]
        )
        counts = {s: sum(1 for r in results if r.status == s) for s in UsageStatus}
        reasons = Counter(r.reason.value for r in results if r.reason is not None)
        log.info(
            "usage.batch.ingested",
            extra={
                "sender": sender,
                "events": len(results),
                **{s.value: n for s, n in counts.items()},
                "reasons": dict(sorted(reasons.items())),
            },
        )
        return UsageBatchResult(
            accepted=counts[UsageStatus.accepted],
            duplicate=counts[UsageStatus.duplicate],
            rejected=counts[UsageStatus.rejected],
            results=results,
        )

    async def _customers(self, customers: set[str]) -> dict[str, DirectoryEntry | Rejection]:
        found: dict[str, DirectoryEntry | Rejection] = {}
        for customer in customers:
            try:
                entry = await self._directory.by_customer(customer)
            except AmbiguousCustomer:
                found[customer] = Rejection(
                    UsageReason.ambiguous_customer,
                    f"customer {customer} has several metered contracts; name the contract_id",
                    "customer",
                )
                continue
            found[customer] = entry or Rejection(
                UsageReason.unknown_customer, f"no metered contract for customer {customer}", "customer"
            )
        return found

    async def _check(
        self,
        parsed: UsageEvent | Rejection,
        entries: dict[str, DirectoryEntry],
        by_customer: dict[str, DirectoryEntry | Rejection],
    ) -> _Checked:
        if isinstance(parsed, Rejection):
            return _Checked(None, None, parsed)
        event = parsed
        if event.contract_id:
            entry: DirectoryEntry | Rejection | None = entries.get(event.contract_id) or Rejection(
                UsageReason.unknown_contract, f"no metered contract {event.contract_id}", "contract_id"
            )
        else:
            entry = by_customer[event.customer or ""]
        if isinstance(entry, Rejection) or entry is None:
            return _Checked(event, None, entry or Rejection(UsageReason.unknown_contract, "no contract"))
        if self._config.mappings.meter_by_event(event.meter) is None:
            reason = Rejection(
                UsageReason.unknown_meter, f"no usage product bills meter {event.meter!r}", "meter"
            )
            return _Checked(event, entry, reason)
        now = await self._clocks.now(entry.billing_account, entry.test_clock)
        return _Checked(event, entry, judge(event, entry, now, self._config.flows.usage.late))

    @staticmethod
    def _fields(sender: str, checked: _Checked) -> tuple[str, ...]:
        event, entry, verdict = checked.event, checked.entry, checked.verdict
        assert event is not None and entry is not None and isinstance(verdict, Admitted)
        return (
            sender,
            event.event_id,
            keys.identifier(sender, event.event_id),
            entry.contract_id,
            entry.billing_account,
            entry.billing_customer_id,
            event.meter,
            str(event.quantity),
            _iso(verdict.timestamp),
            _iso(verdict.original) if verdict.original else "",
            _iso(dt.datetime.now(dt.UTC)),
        )

    async def _result(
        self, index: int, sender: str, item: _Checked, fate: Fate, raw: Any
    ) -> UsageEventResult:
        event_id = item.event.event_id if item.event else _raw_id(raw)
        if fate == Fate.duplicate:
            return UsageEventResult(
                index=index,
                event_id=event_id,
                status=UsageStatus.duplicate,
                message="this sender already sent this event id",
            )
        verdict = item.verdict
        if fate == Fate.accepted and isinstance(verdict, Admitted):
            return UsageEventResult(
                index=index,
                event_id=event_id,
                status=UsageStatus.accepted,
                timestamp=verdict.timestamp,
                original_timestamp=verdict.original,
            )
        assert isinstance(verdict, Rejection)
        exception_id = None
        if verdict.reason == UsageReason.period_closed and item.event is not None and item.entry is not None:
            exception_id = await self._hold_late(sender, item.event, item.entry, verdict)
        return UsageEventResult(
            index=index,
            event_id=event_id,
            status=UsageStatus.rejected,
            reason=verdict.reason,
            field=verdict.field,
            message=verdict.message,
            exception_id=exception_id,
        )

    async def _hold_late(
        self, sender: str, event: UsageEvent, entry: DirectoryEntry, verdict: Rejection
    ) -> str:
        held = {
            "sender": sender,
            **event.model_dump(mode="json", exclude_none=True),
            "contract_id": entry.contract_id,
            "billing_account": entry.billing_account,
            "billing_customer_id": entry.billing_customer_id,
        }
        reason = f"late usage not billed ({verdict.message}); event: {json.dumps(held, sort_keys=True)}"
        record = await self._exceptions.record_exception(
            FLOW, f"{sender}:{event.event_id}", ErrorClass.usage_late, reason, entry.billing_account
        )
        return record.id


def _acceptance(
    sender: str, item: _Checked, result: UsageEventResult, raw: Any, trace_id: str | None
) -> Acceptance:
    """The durable record of one event's answer: the event as read (or as received, when it could
    not be read), its contract, and the answer."""
    event, entry = item.event, item.entry
    accepted = result.status == UsageStatus.accepted
    return Acceptance(
        sender=sender,
        batch_index=result.index,
        outcome=result.status.value,
        event_id=result.event_id,
        reason=result.reason.value if result.reason else None,
        field=result.field,
        message=result.message,
        meter=event.meter if event else None,
        quantity=event.quantity if event else None,
        occurred_at=event.timestamp if event else None,
        billed_at=result.timestamp if accepted else None,
        contract_id=entry.contract_id if entry else (event.contract_id if event else None),
        customer=event.customer if event else None,
        billing_account=entry.billing_account if entry else None,
        billing_customer_id=entry.billing_customer_id if entry else None,
        identifier=keys.identifier(sender, event.event_id) if event and accepted else None,
        exception_id=result.exception_id,
        trace_id=trace_id,
        raw=None if event else raw,
    )


def _raw_id(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 200 else None
