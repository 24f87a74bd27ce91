"""The usage sender: a consumer-group member on the usage stream that sends accepted events to
Stripe through the system API, in batches, and acknowledges an entry only once Stripe answered it.

``python -m revbridge_process.usage.sender`` (``make run`` starts it beside the process worker).
Per batch read (``PROCESS_USAGE_BATCH_SIZE``), entries are grouped by billing account and sent as one
``POST /v1/billing/{account}/meter-events`` each. Then, per event:

- ``sent`` → acked;
- ``rejected`` (Stripe refused it for good) → a ``validation`` exception (flow ``usage``, key
  ``<sender>:<event id>``) carrying the event and Stripe's code and message, then acked: one bad
  event never holds the stream up;
- ``failed`` (429, 5xx, no answer) → left pending; it is sent again once it has been idle
  ``PROCESS_USAGE_RECLAIM_IDLE_MS``.

Every ``reclaim_every`` seconds the sender claims (XAUTOCLAIM) entries pending that long, its own
failures and the orphans of a dead sender alike, and sends them again. A sender SIGKILLed mid-batch
therefore loses nothing, and sends nothing billable twice: each event carries the same Stripe
``identifier`` every time (derived from sender and event id), which Stripe counts once. An entry that
cannot be read at all is a ``bad_event`` exception and acked. Acked entries are trimmed from the
stream (never one still pending or undelivered), so it holds only the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from revbridge_contracts.process import ErrorClass
from revbridge_contracts.usage import MeterEvent, MeterEventBatch, MeterEventStatus
from revbridge_db.engine import open_database
from revbridge_db.settings import DbSettings

from revbridge_process.config import ConfigError, load_config
from revbridge_process.errors import SystemConflict, SystemNotFound, SystemRejected, SystemUnavailable
from revbridge_process.logs import configure_logging
from revbridge_process.ports import ExceptionSink, MeterPort
from revbridge_process.settings import Settings
from revbridge_process.store import build_store
from revbridge_process.system_client import SystemApi, http_transport
from revbridge_process.usage import keys

FLOW = "usage"
TRIM_EVERY_SECONDS = 5.0
log = logging.getLogger("revbridge_process.usage.sender")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Entry:
    entry_id: str
    fields: dict[str, str]

    @property
    def business_key(self) -> str:
        return f"{self.fields.get('sender', '?')}:{self.fields.get('event_id', self.entry_id)}"

    def meter_event(self) -> MeterEvent:
        f = self.fields
        return MeterEvent(
            identifier=f["identifier"],
            event_name=f["meter"],
            customer_id=f["customer_id"],
            value=Decimal(f["quantity"]),
            timestamp=dt.datetime.fromisoformat(f["timestamp"]),
        )


@dataclass
class Tally:
    sent: int = 0
    rejected: int = 0
    failed: int = 0
    bad: int = 0
    accounts: set[str] = field(default_factory=set)

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.rejected += other.rejected
        self.failed += other.failed
        self.bad += other.bad
        self.accounts |= other.accounts


class UsageSender:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        system: MeterPort,
        exceptions: ExceptionSink,
        *,
        group: str,
        name: str,
        batch_size: int = 500,
        reclaim_idle_ms: int = 30_000,
    ) -> None:
        self._redis, self._system, self._exceptions = redis, system, exceptions
        self.group, self.name = group, name
        self.stream = keys.stream(prefix)
        self._batch_size, self._reclaim_idle_ms = batch_size, reclaim_idle_ms

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:  # BUSYGROUP: another sender made it first
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_new(self, block_ms: int | None) -> list[Entry]:
        reply: Any = await self._redis.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=self._batch_size, block=block_ms
        )
        return [
            Entry(_text(i), {_text(k): _text(v) for k, v in f.items()})
            for _, rows in reply or []
            for i, f in rows
        ]

    async def reclaim(self, cursor: str = "0-0") -> tuple[str, list[Entry]]:
        """Up to a batch of entries pending at least ``reclaim_idle_ms`` (failed sends, dead senders),
        scanning the pending list from ``cursor``; returns where to go on ("0-0": the end)."""
        reply: Any = await self._redis.xautoclaim(
            self.stream, self.group, self.name, self._reclaim_idle_ms, start_id=cursor, count=self._batch_size
        )
        rows = reply[1] if reply else []
        entries = [Entry(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in rows if f]
        return (_text(reply[0]) if reply else "0-0"), entries

    async def reclaim_all(self, stop: asyncio.Event) -> Tally:
        """Claim and send every entry pending long enough, one batch at a time."""
        tally, cursor = Tally(), "0-0"
        while not stop.is_set():
            cursor, claimed = await self.reclaim(cursor)
            if claimed:
                log.info("usage_sender.reclaimed", extra={"consumer": self.name, "entries": len(claimed)})
                tally.add(await self.send(claimed))
            if cursor == "0-0":
                break
        return tally

    async def send(self, entries: list[Entry]) -> Tally:
        """Send one read's entries, per account; ack what Stripe answered for good."""
        tally = Tally()
        by_account: dict[str, list[tuple[Entry, MeterEvent]]] = defaultdict(list)
        for entry in entries:
            try:
                by_account[entry.fields["account"]].append((entry, entry.meter_event()))
            except (KeyError, ValueError, ValidationError) as exc:
                await self._exceptions.record_exception(
                    FLOW, entry.business_key, ErrorClass.bad_event, f"unreadable usage entry: {exc}"
                )
                await self._ack([entry])
                tally.bad += 1
        for account, items in by_account.items():
            tally.add(await self._send_account(account, items))
        return tally

    async def _send_account(self, account: str, items: list[tuple[Entry, MeterEvent]]) -> Tally:
        tally = Tally(accounts={account})
        try:
            answer = await self._system.send_meter_events(
                account, MeterEventBatch(events=[event for _, event in items])
            )
        except SystemRejected as exc:  # the batch as a whole: find the bad one by sending one at a time
            if len(items) > 1:
                for item in items:
                    tally.add(await self._send_account(account, [item]))
                return tally
            entry, _ = items[0]
            await self._reject(entry, "refused", str(exc))
            tally.rejected += 1
            return tally
        except SystemNotFound as exc:  # no such billing account: nothing to retry, hold every event
            for entry, _ in items:
                await self._reject(entry, "unknown_account", str(exc))
            tally.rejected += len(items)
            return tally
        except (SystemUnavailable, SystemConflict) as exc:
            log.warning(
                "usage.send.unavailable", extra={"account": account, "events": len(items), "error": str(exc)}
            )
            tally.failed += len(items)
            return tally
        by_identifier = {r.identifier: r for r in answer.results}
        done: list[Entry] = []
        for entry, event in items:
            result = by_identifier.get(event.identifier)
            if result is None or result.status == MeterEventStatus.failed:
                tally.failed += 1
            elif result.status == MeterEventStatus.rejected:
                await self._reject(entry, result.code or "rejected", result.message or "")
                tally.rejected += 1
            else:
                done.append(entry)
                tally.sent += 1
        await self._ack(done)
        return tally

    async def _reject(self, entry: Entry, code: str, message: str) -> None:
        held = json.dumps(entry.fields, sort_keys=True)
        reason = f"Stripe refused the meter event ({code}: {message}); event: {held}"
        await self._exceptions.record_exception(
            FLOW, entry.business_key, ErrorClass.validation, reason, entry.fields.get("account")
        )
        await self._ack([entry])
        log.warning(
            "usage.event.rejected",
            extra={"business_key": entry.business_key, "code": code, "entry_id": entry.entry_id},
        )

    async def _ack(self, entries: list[Entry]) -> None:
        if entries:
            await self._redis.xack(self.stream, self.group, *(e.entry_id for e in entries))

    async def trim(self) -> None:
        """Drop entries every consumer is done with: those before both the oldest pending entry and the
        group's last delivered one (read in that order: a delivery in between only lies after it)."""
        groups: Any = await self._redis.xinfo_groups(self.stream)
        ours = next((g for g in groups if _text(g["name"]) == self.group), None)
        if ours is None:
            return
        floor = _text(ours["last-delivered-id"])
        pending: Any = await self._redis.xpending(self.stream, self.group)
        if pending and pending.get("min"):
            floor = min(floor, _text(pending["min"]), key=_entry_order)
        if floor != "0-0":
            await self._redis.xtrim(self.stream, minid=floor, approximate=True)


def _entry_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def run(
    settings: Settings, stop: asyncio.Event, reclaim_every: float = 1.0, database: DbSettings | None = None
) -> Tally:
    """The sender's loop until ``stop``; returns what it sent (for tests and the bench).

    Up to ``PROCESS_USAGE_BATCHES_IN_FLIGHT`` reads are being sent at once, so the system API is not
    idle while the slowest events of one batch are still on their way."""
    total = Tally()
    in_flight: set[asyncio.Task[Tally]] = set()

    def done(task: asyncio.Task[Tally]) -> None:
        in_flight.discard(task)
        if not task.cancelled() and task.exception() is None:
            total.add(task.result())
        elif not task.cancelled():  # a bug: its entries stay pending and are reclaimed
            log.error("usage_sender.batch_failed", exc_info=task.exception())

    async with bootstrap(settings, database) as sender:
        await sender.ensure_group()
        log.info("usage_sender.started", extra={"consumer": sender.name, "stream": sender.stream})
        next_reclaim = next_trim = 0.0
        while not stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_reclaim:
                    total.add(await sender.reclaim_all(stop))
                    next_reclaim = time.monotonic() + reclaim_every
                if now >= next_trim:
                    await sender.trim()
                    next_trim = now + TRIM_EVERY_SECONDS
                if len(in_flight) >= settings.usage_batches_in_flight:
                    await asyncio.wait(in_flight, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                    continue
                block = max(1, min(settings.usage_block_ms, int((next_reclaim - time.monotonic()) * 1000)))
                entries = await sender.read_new(block)
                if entries:
                    task = asyncio.create_task(sender.send(entries))
                    in_flight.add(task)
                    task.add_done_callback(done)
            except (RedisError, OSError) as exc:
                log.warning("usage_sender.redis_unavailable", extra={"error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            except Exception:  # a bug must not kill the group member; the entries stay pending
                log.exception("usage_sender.error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
        if in_flight:
            await asyncio.wait(in_flight, timeout=60)
        log.info("usage_sender.stopped", extra={"consumer": sender.name, "sent": total.sent})
    return total


@contextlib.asynccontextmanager
async def bootstrap(settings: Settings, database: DbSettings | None = None) -> AsyncIterator[UsageSender]:
    """The sender's composition root: Redis, the system API client and the exception queue (in
    PostgreSQL)."""
    config = load_config(settings.config_dir)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        async with (
            open_database(database) as engine,
            http_transport(str(settings.system_api_url), settings.timeout_seconds) as http,
        ):
            yield UsageSender(
                redis,
                settings.key_prefix,
                SystemApi(http),
                build_store(redis, engine, settings, config),
                group=settings.usage_group,
                name=f"{socket.gethostname()}-{os.getpid()}",
                batch_size=settings.usage_batch_size,
                reclaim_idle_ms=settings.usage_reclaim_idle_ms,
            )
    finally:
        await redis.aclose()


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop)


def main() -> None:
    configure_logging()
    settings = Settings()
    try:
        load_config(settings.config_dir)
    except ConfigError as exc:
        raise SystemExit(f"usage sender: invalid configuration: {exc}") from exc
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()
