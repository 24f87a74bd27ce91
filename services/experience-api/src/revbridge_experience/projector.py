"""The projector: keeps the experience read model current from the facts stream.

``python -m revbridge_experience.projector``. A separate process rather than a task inside the API:
folding a burst of facts (a backfill, a replay) never takes the event loop that answers reports, the
API stays stateless and scales by replicas, and projectors scale by joining the same consumer group
(``experience`` on ``<prefix>events:facts``). Delivery is at least once: entries are acknowledged
after they are folded, entries of a dead projector are claimed after ``reclaim_idle_ms``, and the
fold is idempotent, so a redelivery changes nothing. A bad fact is recorded and acknowledged.
The stream is trimmed by age (``facts_retention_days``), never past what another group may need soon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from revbridge_contracts.facts import FACTS_STREAM

from revbridge_experience.readmodel.fold import Folder, FoldResult
from revbridge_experience.settings import Settings

log = logging.getLogger(__name__)
TRIM_EVERY_SECONDS = 60.0
CLAIM_EVERY_SECONDS = 5.0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Projector:
    def __init__(self, redis: Redis, settings: Settings, name: str | None = None) -> None:
        self._redis, self._settings = redis, settings
        self.stream = settings.key_prefix + FACTS_STREAM
        self.group = settings.consumer_group
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.folder = Folder(redis, settings.key_prefix)
        self._next_trim = self._next_claim = 0.0

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, block_ms: int | None = None) -> FoldResult:
        """Fold what is due: entries a dead member left behind, else new ones (blocking ``block_ms``)."""
        s = self._settings
        entries: list[tuple[Any, Any]] = []
        if time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + min(CLAIM_EVERY_SECONDS, s.reclaim_idle_ms / 2000)
            answer: Any = await self._redis.xautoclaim(
                self.stream, self.group, self.name, min_idle_time=s.reclaim_idle_ms, count=s.batch_size
            )
            claimed, deleted = answer[1], answer[2] if len(answer) > 2 else []
            entries = [(e, f) for e, f in claimed if f]
            if deleted:  # trimmed away while pending: nothing to fold, only to acknowledge
                await self._redis.xack(self.stream, self.group, *deleted)
        if not entries:
            answer = await self._redis.xreadgroup(
                self.group, self.name, {self.stream: ">"}, count=s.batch_size, block=block_ms
            )
            entries = [(e, f) for _, batch in answer or [] for e, f in batch]
        result = await self._apply([(_text(e), f) for e, f in entries])
        await self._trim()
        return result

    async def _apply(self, entries: Sequence[tuple[str, dict[Any, Any]]]) -> FoldResult:
        if not entries:
            return FoldResult()
        result = await self.folder.fold(entries)
        last = entries[-1][0]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, *[e for e, _ in entries])
            pipe.hset(
                self.folder.base + "stats",
                mapping={"last_entry": last, "folded_at_ms": int(time.time() * 1000)},
            )
            await pipe.execute()
        return result

    async def _trim(self) -> None:
        if time.monotonic() < self._next_trim:
            return
        self._next_trim = time.monotonic() + TRIM_EVERY_SECONDS
        horizon_ms = int((time.time() - self._settings.facts_retention_days * 86_400) * 1000)
        await self._redis.xtrim(self.stream, minid=f"{horizon_ms}-0", approximate=True)

    async def run(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        log.info("projector.started", extra={"consumer": self.name, "stream": self.stream})
        while not stop.is_set():
            try:
                await self.step(self._settings.block_ms)
            except (RedisError, OSError) as exc:
                log.warning("projector.redis_unavailable", extra={"error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            except Exception:  # a bug must not kill the member; the entries stay pending and are reclaimed
                log.exception("projector.error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
        log.info("projector.stopped", extra={"consumer": self.name})


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)  # decoded by hiredis, in C
    try:
        await Projector(redis, settings).run(stop)
    finally:
        await redis.aclose()


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_main(Settings()))


if __name__ == "__main__":
    main()
