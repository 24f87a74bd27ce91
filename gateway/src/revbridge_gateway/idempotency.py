"""``Idempotency-Key`` for partner POSTs that start money-moving work (``x-idempotency: required``).

One Redis key per client and idempotency key (``{prefix}gw:idem:{client_id}:<sha256 of the key>``),
claimed atomically by one Lua script: ``SET NX`` of a *running* marker, or the value already there.
The marker carries a fingerprint of the request (method, canonical path, canonical JSON body), so
the same key with another body is a 422 and the same key while the first call runs is a 409. When
the upstream answers below 500 the marker is replaced by the stored response (status, body, the
passed headers), kept 24 h and replayed with ``Idempotent-Replayed: true``. A 5xx or an unreachable
upstream releases the claim so the client may retry (the process API dedups by the same key); the
running marker expires on its own after ``running_ttl`` in case a replica dies mid-call.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from revbridge_gateway.errors import (
    IdempotencyInFlight,
    IdempotencyKeyMissing,
    IdempotencyMismatch,
    RateLimiterUnavailable,
)

KEEP_SECONDS = 24 * 3600
REPLAYED_HEADER = "Idempotent-Replayed"

CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
"""
# finish (ARGV[3] = value) or release (no ARGV[3]) only while our own marker is still there
SETTLE = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current)['owner'] ~= ARGV[1] then return 0 end
if ARGV[3] then redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1
"""


def fingerprint(method: str, path: str, body: Any, raw: bytes) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode() if body is not None else raw
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True)
class Stored:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claim:
    key: str
    owner: str
    fingerprint: str


class IdempotencyStore:
    def __init__(self, redis: Redis, prefix: str, running_ttl: int, keep: int = KEEP_SECONDS) -> None:
        self._redis = redis
        self._prefix = prefix
        self._running_ttl = running_ttl
        self._keep = keep
        self._claim = redis.register_script(CLAIM)
        self._settle = redis.register_script(SETTLE)

    def key(self, client_id: str, idempotency_key: str) -> str:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        return f"{self._prefix}gw:idem:{{{client_id}}}:{digest}"

    async def claim(self, client_id: str, idempotency_key: str | None, fp: str) -> Claim | Stored:
        """Our claim to run the request, or the stored answer of an earlier identical one."""
        if not idempotency_key:
            raise IdempotencyKeyMissing("this operation needs an Idempotency-Key header")
        key = self.key(client_id, idempotency_key)
        owner = uuid.uuid4().hex
        marker = json.dumps({"state": "running", "fp": fp, "owner": owner})
        try:
            existing = await self._claim(keys=[key], args=[marker, self._running_ttl])
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        if existing is None:
            return Claim(key=key, owner=owner, fingerprint=fp)
        record = json.loads(existing)
        if record["fp"] != fp:
            raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
        if record["state"] == "running":
            raise IdempotencyInFlight("the first request with this Idempotency-Key is still running")
        return Stored(record["status"], record["headers"], base64.b64decode(record["body"]))

    async def finish(self, claim: Claim, status: int, headers: dict[str, str], body: bytes) -> None:
        """Store the answer for replay (below 500), or release the claim so a retry may run."""
        args: list[Any] = [claim.owner, self._keep]
        if status < 500:
            record = {
                "state": "done",
                "fp": claim.fingerprint,
                "owner": claim.owner,
                "status": status,
                "headers": headers,
                "body": base64.b64encode(body).decode(),
            }
            args.append(json.dumps(record))
        # if Redis fails here the running marker expires after running_ttl; a retry then runs again
        with contextlib.suppress(RedisError, OSError):
            await self._settle(keys=[claim.key], args=args)

    async def release(self, claim: Claim) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._settle(keys=[claim.key], args=[claim.owner, self._keep])


def _unavailable() -> RateLimiterUnavailable:
    return RateLimiterUnavailable(
        "idempotency store unavailable; retry shortly", headers={"Retry-After": "1"}
    )
