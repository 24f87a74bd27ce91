"""The exactly-once step: mark (sender, event id) seen and append the event to the usage stream, in
one Lua script, so ``accepted`` means queued (on Redis with AOF, as ARCHITECTURE §5 runs it) and a
replay of the same event id by the same sender answers ``duplicate`` without queueing it again.

The script takes a whole batch: for each event, a seen mark already there is ``duplicate`` (whatever
this attempt's verdict); else an admitted event is appended and marked (``accepted``), and a refused
one stays unmarked (``rejected``), so fixing it and sending it again is possible. Two events with
one id in one batch: the first counts, the second is a duplicate. Marks expire after
``dedup_seconds`` (longer than Stripe's 35-day window).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from redis.asyncio import Redis

from revbridge_process.usage import keys

FIELDS = (
    "sender",
    "event_id",
    "identifier",
    "contract_id",
    "account",
    "customer_id",
    "meter",
    "quantity",
    "timestamp",
    "original_timestamp",
    "accepted_at",
)
"""The stream entry of one accepted event (every value a string; ``original_timestamp`` empty unless
late usage was moved into the current period)."""

_SUBMIT = """
local ttl = ARGV[1]
local nf = tonumber(ARGV[2])
local base = 2 + nf
local out = {}
for i = 2, #KEYS do
  local off = base + (i - 2) * (nf + 1)
  if redis.call('EXISTS', KEYS[i]) == 1 then
    out[#out + 1] = 0
  elseif ARGV[off + 1] == 'a' then
    local args = {KEYS[1], '*'}
    for j = 1, nf do
      args[#args + 1] = ARGV[2 + j]
      args[#args + 1] = ARGV[off + 1 + j]
    end
    redis.call('XADD', unpack(args))
    redis.call('SET', KEYS[i], '1', 'EX', ttl)
    out[#out + 1] = 1
  else
    out[#out + 1] = 2
  end
end
return out
"""


class Fate(IntEnum):
    duplicate = 0
    accepted = 1
    rejected = 2


@dataclass(frozen=True)
class Submission:
    """One event for the script: ``fields`` (in ``FIELDS`` order) when admitted, None when refused."""

    sender: str
    event_id: str
    fields: tuple[str, ...] | None


class UsageIntake:
    def __init__(self, redis: Redis, prefix: str, dedup_seconds: int) -> None:
        self._redis, self._prefix = redis, prefix
        self._dedup_seconds = dedup_seconds
        self._submit = redis.register_script(_SUBMIT)
        self.stream = keys.stream(prefix)

    async def submit(self, items: list[Submission]) -> list[Fate]:
        if not items:
            return []
        script_keys = [self.stream] + [
            keys.seen(self._prefix, keys.event_digest(i.sender, i.event_id)) for i in items
        ]
        args: list[str | int] = [self._dedup_seconds, len(FIELDS), *FIELDS]
        blank = ("",) * len(FIELDS)
        for item in items:
            args += ["a" if item.fields is not None else "r", *(item.fields or blank)]
        reply = await self._submit(keys=script_keys, args=args)
        return [Fate(int(code)) for code in reply]
