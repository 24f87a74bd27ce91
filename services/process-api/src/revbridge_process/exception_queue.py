"""The exception queue in PostgreSQL: one record per (flow, business key), its full history, and its
actions (``revbridge.exception_record`` and the append-only ``revbridge.exception_action``).

Every change is one transaction holding the record's row lock, so concurrent workers repeating a
failure count attempts instead of duplicating the record, and an operator's action never races a
worker's resolve into a state the lifecycle forbids (open → retrying → resolved; a failed retry
reopens). Nothing expires: resolved records and every step of their history are kept for the
retention period (``DbSettings.retention_years``); a failure seen again after its record was resolved
reopens the same record, its earlier history kept.

The steps revbridge takes by itself (a worker opening, failing a retry of or resolving a record, a
reconciliation run resolving one) append their audit row (``revbridge.audit_event``, source
``worker``) in the same transaction as the step; an operator's action is audited by the API, which
knows the caller (``api/exceptions.py``).

While PostgreSQL does not answer, writes wait and retry (``wait_seconds``) and reads try once; then
``StoreUnavailable`` (a ``SystemUnavailable``): the worker leaves the entry pending and it is
redelivered, the API answers 503 problem+json.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from revbridge_contracts.process import (
    ErrorClass,
    ExceptionAction,
    ExceptionHistoryEntry,
    ExceptionRecord,
    ExceptionStatus,
)
from revbridge_db.engine import DatabaseUnavailable, retrying
from revbridge_db.schema import audit_event, exception_action, exception_record
from sqlalchemy import ColumnElement, RowMapping, Text, and_, any_, false, insert, select, true, update
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from revbridge_process.config import ExceptionPolicies
from revbridge_process.errors import SystemUnavailable
from revbridge_process.facts import current_trace_id

SAFE_KEY = re.compile(r"[A-Za-z0-9_.:@~-]{1,200}")
LIVE = (ExceptionStatus.open.value, ExceptionStatus.retrying.value)
UPDATABLE = frozenset({"owner"})
"""The record fields an action may set besides its status (``transition(fields=...)``)."""
T = TypeVar("T")


class StoreUnavailable(SystemUnavailable):
    """PostgreSQL did not answer in time: a worker's entry is redelivered, the API answers 503."""


def clean_text(value: str) -> str:
    """``value`` as PostgreSQL takes text: a NUL or a lone surrogate (a JSON ``\\u0000`` or
    ``\\ud800`` a caller sent) would refuse the whole write, so each is replaced."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _clean(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def storable(value: str) -> bool:
    """Whether ``value`` can be text in PostgreSQL as it is (a key with a NUL names no record)."""
    return clean_text(value) == value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def exception_id(flow: str, business_key: str) -> str:
    """``flow:key``, stable and safe in a URL path segment as it is; a key with other characters
    (a ``/``, a space, a ``%``) is replaced by a digest of it (the record still carries the key)."""
    if SAFE_KEY.fullmatch(business_key):
        return f"{flow}:{business_key}"
    return f"{flow}:sha1-{hashlib.sha1(business_key.encode()).hexdigest()[:20]}"


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    flow: str | None = None
    owner: str | None = None
    error_class: ErrorClass | None = None
    business_key: str | None = None
    overdue: bool = False
    live: bool = False
    """Only open or retrying records."""

    def where(self, now: dt.datetime) -> ColumnElement[bool]:
        t = exception_record.c
        clauses: list[ColumnElement[bool]] = [true()]
        for column, wanted in (
            (t.status, self.status),
            (t.flow, self.flow),
            (t.owner, self.owner),
            (t.error_class, self.error_class.value if self.error_class else None),
            (t.business_key, self.business_key),
        ):
            if wanted is not None:
                clauses.append(column == wanted if storable(wanted) else false())
        if self.live or self.overdue:
            clauses.append(t.status.in_(LIVE))
        if self.overdue:
            clauses.append(t.sla_due < now)
        return and_(*clauses)


class TransitionRefused(Exception):
    """The record's status does not allow the action (``status`` is what it is now)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class PgExceptionQueue:
    """Implements ``ports.ExceptionSink`` for the workers, and the queue's reads and actions for the API."""

    def __init__(
        self,
        engine: AsyncEngine,
        policies: ExceptionPolicies,
        now: Callable[[], dt.datetime] = utcnow,
        flow_sla_hours: Mapping[str, float] | None = None,
        wait_seconds: float = 10.0,
    ) -> None:
        self.engine = engine
        self._policies = policies
        self._now = now
        self._flow_sla_hours = dict(flow_sla_hours or {})
        self._wait = wait_seconds

    async def _write(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await retrying(call, wait_seconds=self._wait)
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await retrying(call, wait_seconds=0)
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc

    # --- the worker's side (ports.ExceptionSink) -----------------------------------------------

    async def record_exception(
        self, flow: str, business_key: str, error_class: ErrorClass, reason: str, account: str | None = None
    ) -> ExceptionRecord:
        record_id = exception_id(flow, business_key)
        flow, business_key, reason = clean_text(flow), clean_text(business_key), clean_text(reason)
        account = _clean(account)
        policy = self._policies.for_class(error_class)
        sla_hours = min(policy.sla_hours, self._flow_sla_hours.get(flow, policy.sla_hours))
        note = f"{error_class.value}: {reason}"[:2000]

        async def go() -> ExceptionRecord:
            now = self._now()
            sla_due = now + dt.timedelta(hours=sla_hours)
            t = exception_record.c
            async with self.engine.begin() as conn:
                current = await _locked(conn, record_id)
                if current is None:
                    await conn.execute(
                        pg_insert(exception_record)
                        .values(
                            id=record_id,
                            flow=flow,
                            business_key=business_key,
                            error_class=error_class.value,
                            reason=reason,
                            owner=policy.owner,
                            status=ExceptionStatus.open.value,
                            attempts=0,
                            first_seen=now,
                            last_seen=now,
                            sla_due=sla_due,
                        )
                        .on_conflict_do_nothing(index_elements=["id"])
                    )
                    current = await _locked(conn, record_id)  # ours, or a concurrent worker's
                    assert current is not None
                    fresh = current["attempts"] == 0 and current["status"] == ExceptionStatus.open
                else:
                    fresh = current["status"] == ExceptionStatus.resolved
                values: dict[str, Any] = {
                    "error_class": error_class.value,
                    "reason": reason,
                    "last_seen": now,
                    "attempts": t.attempts + 1,
                }
                if fresh and current["attempts"] > 0:  # resolved earlier: reopened as a new failure
                    values |= {"status": ExceptionStatus.open.value, "first_seen": now, "attempts": 1}
                    values |= {"resolved_at": None, "account": None}
                if fresh or current["error_class"] != error_class.value:
                    values |= {"sla_due": sla_due, "owner": policy.owner}
                if account:
                    values["account"] = account
                action = None
                if fresh:
                    action = ExceptionAction.opened
                elif current["status"] == ExceptionStatus.retrying:
                    values["status"] = ExceptionStatus.open.value
                    action = ExceptionAction.retry_failed
                row = (
                    await conn.execute(
                        update(exception_record)
                        .where(t.id == record_id)
                        .values(**values)
                        .returning(*exception_record.c)
                    )
                ).one()
                if action is not None:
                    await _append(conn, record_id, now, action, "worker", note, audit=True)
                return _record(row._mapping)

        return await self._write(go)

    async def resolve_exception(self, flow: str, business_key: str) -> None:
        """The flow succeeded: close an open or retrying record (a no-op when there is none)."""
        try:
            await self.transition(
                exception_id(flow, business_key),
                allowed=(ExceptionStatus.open, ExceptionStatus.retrying),
                to=ExceptionStatus.resolved,
                action=ExceptionAction.resolved_by_flow,
                by="worker",
                audit=True,
            )
        except (KeyError, TransitionRefused):
            return

    # --- reads and operator actions ------------------------------------------------------------

    async def transition(
        self,
        record_id: str,
        *,
        allowed: tuple[ExceptionStatus, ...],
        action: ExceptionAction,
        to: ExceptionStatus | None = None,
        by: str | None = None,
        note: str | None = None,
        fields: Mapping[str, str] | None = None,
        audit: bool = False,
    ) -> str:
        """Apply one action atomically; returns the status before it. ``KeyError`` for an unknown id,
        ``TransitionRefused`` when the current status does not allow the action. ``audit``: revbridge
        acts by itself, so the audit row is written here, in the same transaction."""
        unknown = set(fields or {}) - UPDATABLE
        if unknown:
            raise ValueError(f"an action cannot set {sorted(unknown)}")
        by, note = _clean(by), _clean(note)
        fields = {k: clean_text(v) for k, v in (fields or {}).items()}

        if not storable(record_id):
            raise KeyError(record_id)

        async def go() -> str:
            now = self._now()
            async with self.engine.begin() as conn:
                current = await _locked(conn, record_id)
                if current is None:
                    raise KeyError(record_id)
                before = str(current["status"])
                if before not in allowed:
                    raise TransitionRefused(before)
                values: dict[str, Any] = {"last_seen": now, **fields}
                if to is not None:
                    values["status"] = to.value
                    values["resolved_at"] = now if to == ExceptionStatus.resolved else None
                await conn.execute(
                    update(exception_record).where(exception_record.c.id == record_id).values(**values)
                )
                await _append(conn, record_id, now, action, by, note, audit=audit)
                return before

        return await self._write(go)

    async def get_by_id(self, record_id: str) -> ExceptionRecord | None:
        if not storable(record_id):
            return None

        async def go() -> ExceptionRecord | None:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(select(exception_record).where(exception_record.c.id == record_id))
                ).one_or_none()
                if row is None:
                    return None
                history = (
                    await conn.execute(
                        select(exception_action)
                        .where(exception_action.c.exception_id == record_id)
                        .order_by(exception_action.c.id)
                    )
                ).all()
            entries = [
                ExceptionHistoryEntry(
                    at=_utc(h.at), action=ExceptionAction(h.action), by=h.actor, note=h.note
                )
                for h in history
            ]
            return _record(row._mapping).model_copy(update={"history": entries})

        return await self._read(go)

    async def live_ids(self, record_ids: list[str]) -> set[str]:
        """Which of ``record_ids`` are records open or retrying (one query)."""
        t = exception_record.c
        record_ids = [i for i in record_ids if storable(i)]
        query = select(t.id).where(t.id == any_(array(record_ids, type_=Text)), t.status.in_(LIVE))

        async def go() -> set[str]:
            async with self.engine.connect() as conn:
                return set((await conn.execute(query)).scalars())

        return await self._read(go) if record_ids else set()

    async def get_exception(self, flow: str, business_key: str) -> ExceptionRecord | None:
        return await self.get_by_id(exception_id(flow, business_key))

    async def list_exceptions(
        self,
        status: str | None = None,
        flow: str | None = None,
        filters: Filters | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ExceptionRecord]:
        """Records matching the filters, most recent activity first (without their history)."""
        filters = filters or Filters(status=status, flow=flow)
        t = exception_record.c
        query = (
            select(exception_record)
            .where(filters.where(self._now()))
            .order_by(t.last_seen.desc(), t.id.desc())
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)

        async def go() -> list[ExceptionRecord]:
            async with self.engine.connect() as conn:
                return [_record(r._mapping) for r in (await conn.execute(query)).all()]

        return await self._read(go)


async def _locked(conn: AsyncConnection, record_id: str) -> RowMapping | None:
    row = (
        await conn.execute(
            select(exception_record).where(exception_record.c.id == record_id).with_for_update()
        )
    ).one_or_none()
    return row._mapping if row is not None else None


async def _append(
    conn: AsyncConnection,
    record_id: str,
    at: dt.datetime,
    action: ExceptionAction,
    by: str | None,
    note: str | None,
    *,
    audit: bool = False,
) -> None:
    await conn.execute(
        insert(exception_action).values(
            exception_id=record_id, at=at, action=action.value, actor=by, note=note
        )
    )
    if audit:
        await conn.execute(
            insert(audit_event).values(
                source="worker",
                operation=f"exception.{action.value}",
                outcome="ok",
                actor=by,
                business_key=record_id,
                trace_id=current_trace_id(),
                detail={"note": note} if note else {},
            )
        )


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _record(row: RowMapping) -> ExceptionRecord:
    return ExceptionRecord(
        id=row["id"],
        flow=row["flow"],
        business_key=row["business_key"],
        error_class=ErrorClass(row["error_class"]),
        reason=row["reason"],
        owner=row["owner"],
        status=row["status"],
        attempts=row["attempts"],
        first_seen=_utc(row["first_seen"]),
        last_seen=_utc(row["last_seen"]),
        sla_due=_utc(row["sla_due"]),
        account=row["account"],
    )
