"""Where the browser sign-in keeps its state: pending sign-ins, codes and failure counts, in Redis.

Codes are stored only as their SHA-256 and taken with GETDEL, so one works once even when two
exchanges race. Failure counts are keyed by a digest of the user name (no names in key listings).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

REQUEST_TTL = 600  # seconds a sign-in form stays usable
LOCKOUT_SECONDS = 300  # the window failed sign-ins of one user name are counted in


@dataclass(frozen=True)
class Pending:
    """An authorization request that passed the checks, waiting for the user to sign in."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    state: str | None
    scopes: list[str]
    binding: str  # the CSRF token: in the form, in the cookie, and here
    attempts: int = 0


@dataclass(frozen=True)
class Grant:
    """What a code stands for; the exchange must present the same client, redirect URI and verifier."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    subject: str
    scopes: list[str]


class SignInStore:
    """Pending requests, codes and failure counts in Redis; codes are stored only as their SHA-256."""

    def __init__(self, redis: Redis, prefix: str, code_ttl: int) -> None:
        self._redis, self._prefix, self._code_ttl = redis, prefix + "oauth:", code_ttl

    async def put_pending(self, request_id: str, pending: Pending) -> None:
        await self._redis.set(f"{self._prefix}req:{request_id}", json.dumps(asdict(pending)), ex=REQUEST_TTL)

    async def pending(self, request_id: str) -> Pending | None:
        raw = await self._redis.get(f"{self._prefix}req:{request_id}")
        return Pending(**json.loads(raw)) if raw else None

    async def drop_pending(self, request_id: str) -> None:
        await self._redis.delete(f"{self._prefix}req:{request_id}")

    async def failures(self, username: str, add: bool = False) -> int:
        key = f"{self._prefix}fail:{hashlib.sha256(username.encode()).hexdigest()}"
        if not add:
            return int(await self._redis.get(key) or 0)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, LOCKOUT_SECONDS, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def put_code(self, code: str, grant: Grant) -> None:
        await self._redis.set(self._code_key(code), json.dumps(asdict(grant)), ex=self._code_ttl)

    async def take_code(self, code: str) -> Grant | None:
        raw = await self._redis.getdel(self._code_key(code))
        return Grant(**json.loads(raw)) if raw else None

    def _code_key(self, code: str) -> str:
        return f"{self._prefix}code:{hashlib.sha256(code.encode()).hexdigest()}"
