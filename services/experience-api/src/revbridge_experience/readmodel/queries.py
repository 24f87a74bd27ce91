"""Reads of the read model: cells for the summary and the waterfall, pages for drill-down, facts for
lineage, metrics.

Every read is a handful of pipelined commands whatever the volume: the summary reads one hash per
(period, entity, currency) cell, a drill-down page reads ``limit`` members of each matching cell's
sorted set, a lineage reads one or two index sets and the facts they name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from revbridge_contracts.facts import FACTS_STREAM

from revbridge_experience.readmodel import codec
from revbridge_experience.readmodel.keys import NONE, PAIRS, base, fact_id, split_cell


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class CellFilter:
    period: str | None = None
    """YYYY-MM, or YYYY for a whole year."""
    entity: str | None = None
    currency: str | None = None

    def matches(self, cell: str) -> bool:
        period, entity, currency = split_cell(cell)
        if self.period and not (period == self.period or period.startswith(self.period + "-")):
            return False
        if self.entity and entity != self.entity:
            return False
        return not (self.currency and currency != self.currency)


@dataclass
class Cell:
    id: str
    sums: dict[str, int]
    unmatched: dict[str, int] = field(default_factory=dict)

    @property
    def period(self) -> str | None:
        p = split_cell(self.id)[0]
        return None if p == NONE else p

    @property
    def entity(self) -> str | None:
        e = split_cell(self.id)[1]
        return None if e == NONE else e

    @property
    def currency(self) -> str | None:
        c = split_cell(self.id)[2]
        return None if c == NONE else c


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


class ReadModel:
    def __init__(self, redis: Redis, prefix: str, group: str = "experience") -> None:
        self._redis, self.prefix, self.group = redis, prefix, group
        self.base = base(prefix)

    # --- summary -----------------------------------------------------------------------------

    async def cells(self, where: CellFilter) -> list[Cell]:
        ids = sorted(
            c for c in map(_text, await self._redis.smembers(self.base + "cells")) if where.matches(c)
        )
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for cell in ids:
                pipe.hgetall(self.base + "agg:" + cell)
                for pair in PAIRS:
                    pipe.zcard(f"{self.base}um:{pair}:{cell}")
            answers = await pipe.execute()
        out, step = [], 1 + len(PAIRS)
        for i, cell in enumerate(ids):
            sums = {_text(k): int(v) for k, v in answers[i * step].items()}
            unmatched = dict(zip(PAIRS, answers[i * step + 1 : (i + 1) * step], strict=True))
            out.append(Cell(cell, sums, unmatched))
        return out

    async def ledger_cells(self, where: CellFilter) -> list[Cell]:
        """Every cell with an actual or a forecast (``cells`` and ``fcells``): the waterfall's input."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.smembers(self.base + "cells")
            pipe.smembers(self.base + "fcells")
            actual, forecast = await pipe.execute()
        ids = sorted(c for c in {*map(_text, actual), *map(_text, forecast)} if where.matches(c))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for cell in ids:
                pipe.hgetall(self.base + "agg:" + cell)
            answers = await pipe.execute()
        return [
            Cell(cell, {_text(k): int(v) for k, v in sums.items()})
            for cell, sums in zip(ids, answers, strict=True)
        ]

    async def stats(self) -> dict[str, str]:
        return {_text(k): _text(v) for k, v in (await self._redis.hgetall(self.base + "stats")).items()}

    # --- drill-down ----------------------------------------------------------------------------

    async def page(self, sets: list[str], limit: int, cursor: tuple[int, str] | None) -> Page:
        """Newest first across ``sets`` (sorted sets scored by occurred ms), after ``cursor``."""
        keys = [self.base + s for s in sets]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zcard(key)
                top = "+inf" if cursor is None else cursor[0]
                pipe.zrevrangebyscore(key, top, "-inf", start=0, num=limit + 64, withscores=True)
            answers = await pipe.execute()
        total = sum(answers[0::2])
        merged: list[tuple[int, str]] = []
        for rows in answers[1::2]:
            for member, score in rows:
                item = (int(score), _text(member))
                if cursor is None or item < cursor:
                    merged.append(item)
        merged.sort(reverse=True)
        chosen = merged[:limit]
        docs = await self.facts([m for _, m in chosen])
        more = len(merged) > limit
        next_cursor = f"{chosen[-1][0]}:{chosen[-1][1]}" if more and chosen else None
        return Page([d for d in docs if d is not None], total, next_cursor)

    # --- lineage --------------------------------------------------------------------------------

    async def facts(self, ids: Iterable[str]) -> list[dict[str, Any] | None]:
        wanted = list(ids)
        if not wanted:
            return []
        raw = await self._redis.hmget(self.base + "facts", wanted)
        return [codec.decode(i, r) if r is not None else None for i, r in zip(wanted, raw, strict=True)]

    async def index(self, scope: str, key: str) -> list[str]:
        letter = {"contract": "lc", "customer": "lu", "invoice": "li"}[scope]
        return sorted(_text(m) for m in await self._redis.smembers(f"{self.base}{letter}:{key}"))

    async def fact(self, kind: str, key: str) -> dict[str, Any] | None:
        return (await self.facts([fact_id(kind, key)]))[0]

    # --- operations ------------------------------------------------------------------------------

    async def percentiles(self, keys: list[str]) -> tuple[int, float | None, float | None]:
        """Count, p50 and p95 (seconds) of scores (ms) across ``keys`` (nearest rank)."""
        full = [self.base + k for k in keys]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in full:
                pipe.zcard(key)
            sizes = await pipe.execute()
        present = [k for k, n in zip(full, sizes, strict=True) if n]
        count = sum(sizes)
        if not count:
            return 0, None, None
        if len(present) == 1:
            source = present[0]
        else:
            source = f"{self.base}tmp:pct:{dt.datetime.now(dt.UTC).timestamp()}"
            await self._redis.zunionstore(source, present)
            await self._redis.expire(source, 30)
        out = []
        for q in (0.50, 0.95):
            rank = max(0, min(count - 1, int(q * count + 0.999999) - 1))
            row = await self._redis.zrange(source, rank, rank, withscores=True)
            out.append(float(row[0][1]) / 1000 if row else None)
        if source not in present:
            await self._redis.delete(source)
        return count, out[0], out[1]

    async def latency_months(self) -> list[str]:
        found = [_text(k) async for k in self._redis.scan_iter(match=self.base + "lat:*", count=1000)]
        return sorted(k.rsplit(":", 1)[1] for k in found)

    async def sync_counts(self) -> dict[str, int]:
        return {_text(k): int(v) for k, v in (await self._redis.hgetall(self.base + "sync")).items()}

    async def projector_lag(self) -> tuple[int | None, int | None]:
        """(pending, lag) of the projector's group on the facts stream; None when unknown."""
        try:
            groups = await self._redis.xinfo_groups(self.prefix + FACTS_STREAM)
        except Exception:  # no stream yet
            return None, None
        for g in groups:
            if _text(g.get("name")) == self.group:
                lag = g.get("lag")
                return int(g.get("pending") or 0), (int(lag) if lag is not None else None)
        return None, None

    async def bad_facts(self, limit: int = 50) -> list[dict[str, Any]]:
        return [json.loads(r) for r in await self._redis.lrange(self.base + "bad", 0, limit - 1)]
