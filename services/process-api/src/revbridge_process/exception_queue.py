"""The exception queue in Redis: one record per (flow, business key), its history, and its actions.

Every change is one Lua script, so concurrent workers repeating a failure count attempts instead of
duplicating the record, and an operator's action never races a worker's resolve into a state the
lifecycle forbids (open → retrying → resolved; a failed retry reopens). Resolved records expire
after ``resolved_ttl_seconds``; a failure seen again before then reopens the same record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from revbridge_contracts.process import (
    ErrorClass,
    ExceptionAction,
    ExceptionHistoryEntry,
    ExceptionRecord,
    ExceptionStatus,
)

from revbridge_process.config import ExceptionPolicies

RESOLVED_TTL_SECONDS = 30 * 86_400
HISTORY_MAX = 100
SAFE_KEY = re.compile(r"[A-Za-z0-9_.:@~-]{1,200}")

_RECORD = """
local status = redis.call('HGET', KEYS[1], 'status')
local fresh = (not status) or status == 'resolved'
if fresh then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'flow', ARGV[2], 'business_key', ARGV[3],
             'first_seen', ARGV[7], 'attempts', 0, 'status', 'open')
  redis.call('RPUSH', KEYS[3], ARGV[10])
elseif status == 'retrying' then
  redis.call('HSET', KEYS[1], 'status', 'open')
  redis.call('RPUSH', KEYS[3], ARGV[11])
end
if fresh or redis.call('HGET', KEYS[1], 'error_class') ~= ARGV[4] then
  redis.call('HSET', KEYS[1], 'sla_due', ARGV[8], 'owner', ARGV[6])
end
redis.call('HSET', KEYS[1], 'error_class', ARGV[4], 'reason', ARGV[5], 'last_seen', ARGV[7])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'account', ARGV[9]) end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[12]), -1)
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[3])
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""

_TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return {'refused', status} end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[2]) end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return {'ok', status}
"""


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

    def match(self, record: ExceptionRecord, now: dt.datetime) -> bool:
        if self.overdue and (record.status == ExceptionStatus.resolved or record.sla_due >= now):
            return False
        wanted = (
            (self.status, record.status),
            (self.flow, record.flow),
            (self.owner, record.owner),
            (self.error_class, record.error_class),
            (self.business_key, record.business_key),
        )
        return all(want is None or want == have for want, have in wanted)


@dataclass(frozen=True)
class TransitionRefused(Exception):
    """The record's status does not allow the action (``status`` is what it is now)."""

    status: str


class RedisExceptionQueue:
    """Implements ``ports.ExceptionSink`` for the worker, and the queue's reads and actions for the API."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        policies: ExceptionPolicies,
        now: Callable[[], dt.datetime] = utcnow,
        flow_sla_hours: Mapping[str, float] | None = None,
        resolved_ttl_seconds: int = RESOLVED_TTL_SECONDS,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._policies = policies
        self._now = now
        self._flow_sla_hours = dict(flow_sla_hours or {})
        self._resolved_ttl = resolved_ttl_seconds
        self._record = redis.register_script(_RECORD)
        self._transition = redis.register_script(_TRANSITION)

    def _key(self, *parts: str) -> str:
        return self._prefix + "process:" + ":".join(parts)

    def _keys(self, record_id: str) -> tuple[str, str]:
        return self._key("exception", record_id), self._key("exception", record_id, "history")

    def _entry(self, action: ExceptionAction, by: str | None, note: str | None) -> str:
        entry = ExceptionHistoryEntry(at=self._now(), action=action, by=by, note=note)
        return entry.model_dump_json(exclude_none=True)

    # --- the worker's side (ports.ExceptionSink) -----------------------------------------------

    async def record_exception(
        self, flow: str, business_key: str, error_class: ErrorClass, reason: str, account: str | None = None
    ) -> ExceptionRecord:
        record_id = exception_id(flow, business_key)
        policy = self._policies.for_class(error_class)
        now = self._now()
        sla_hours = min(policy.sla_hours, self._flow_sla_hours.get(flow, policy.sla_hours))
        record_key, history_key = self._keys(record_id)
        args = [
            record_id,
            flow,
            business_key,
            error_class.value,
            reason,
            policy.owner,
            now.isoformat(),
            (now + dt.timedelta(hours=sla_hours)).isoformat(),
            account or "",
            self._entry(ExceptionAction.opened, "worker", f"{error_class.value}: {reason}"[:2000]),
            self._entry(ExceptionAction.retry_failed, "worker", f"{error_class.value}: {reason}"[:2000]),
            HISTORY_MAX,
        ]
        flat = await self._record(keys=[record_key, self._key("exceptions"), history_key], args=args)
        return _exception(dict(zip(flat[::2], flat[1::2], strict=True)))

    async def resolve_exception(self, flow: str, business_key: str) -> None:
        """The flow succeeded: close an open or retrying record (a no-op when there is none)."""
        with contextlib.suppress(KeyError, TransitionRefused):
            await self.transition(
                exception_id(flow, business_key),
                allowed=(ExceptionStatus.open, ExceptionStatus.retrying),
                to=ExceptionStatus.resolved,
                action=ExceptionAction.resolved_by_flow,
                by="worker",
            )

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
    ) -> str:
        """Apply one action atomically; returns the status before it. ``KeyError`` for an unknown id,
        ``TransitionRefused`` when the current status does not allow the action."""
        record_key, history_key = self._keys(record_id)
        updates = {"last_seen": self._now().isoformat(), **(fields or {})}
        ttl = self._resolved_ttl if to == ExceptionStatus.resolved else 0
        args: list[Any] = [",".join(allowed), to.value if to else "", self._entry(action, by, note)]
        args += [ttl, HISTORY_MAX, *[v for pair in updates.items() for v in pair]]
        reply = [_text(v) for v in await self._transition(keys=[record_key, history_key], args=args)]
        if reply[0] == "missing":
            raise KeyError(record_id)
        if reply[0] == "refused":
            raise TransitionRefused(reply[1])
        return reply[1]

    async def get_by_id(self, record_id: str) -> ExceptionRecord | None:
        record_key, history_key = self._keys(record_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(record_key)
            pipe.lrange(history_key, 0, -1)
            raw, history = await pipe.execute()
        if not raw:
            return None
        record = _exception(raw)
        entries = [ExceptionHistoryEntry.model_validate(json.loads(_text(e))) for e in history]
        return record.model_copy(update={"history": entries})

    async def get_exception(self, flow: str, business_key: str) -> ExceptionRecord | None:
        return await self.get_by_id(exception_id(flow, business_key))

    async def list_exceptions(
        self, status: str | None = None, flow: str | None = None, filters: Filters | None = None
    ) -> list[ExceptionRecord]:
        """Records matching the filters, most recent activity first (without their history)."""
        filters = filters or Filters(status=status, flow=flow)
        index = self._key("exceptions")
        ids = sorted(_text(i) for i in await self._redis.smembers(index))  # type: ignore[misc]
        async with self._redis.pipeline(transaction=False) as pipe:
            for record_id in ids:
                pipe.hgetall(self._key("exception", record_id))
            rows = await pipe.execute()
        expired = [record_id for record_id, row in zip(ids, rows, strict=True) if not row]
        if expired:  # resolved records that reached their TTL: drop them from the index too
            await self._redis.srem(index, *expired)
        now = self._now()
        records = [r for r in (_exception(row) for row in rows if row) if filters.match(r, now)]
        return sorted(records, key=lambda r: (r.last_seen, r.id), reverse=True)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _exception(raw: dict[Any, Any]) -> ExceptionRecord:
    return ExceptionRecord.model_validate({_text(k): _text(v) for k, v in raw.items()})
