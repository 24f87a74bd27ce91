"""Folds ledger facts into the read model: one Lua script per fact, so each fold is atomic.

A fact's identity is ``(kind, key)``. The newest version wins (``occurred_at``, then
``recorded_at``): a redelivered fact is a ``duplicate`` and changes nothing, an older one arriving
late is ``stale`` and is dropped, and a newer one ``replaced`` the old — its contribution to every
aggregate, drill-down and lineage index is taken out before the new one goes in, so a figure never
counts a record twice. A fact that can't be read is recorded with its reason (``bad``) and skipped.

A forecast (``billing.scheduled``, ``revenue.scheduled``: a contract's schedule, one fact per month)
is also versioned by contract: the newest schedule's ``occurred_at`` wins whole, so the months an
amended contract no longer has leave the forecast even when the flow does not republish them at 0.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from revbridge_contracts.events import BadEvent
from revbridge_contracts.facts import Fact

from revbridge_experience.readmodel import codec
from revbridge_experience.readmodel.keys import ROLES, base, fact_id

log = logging.getLogger(__name__)
SCRIPT = resources.files("revbridge_experience.readmodel").joinpath("fold.lua").read_text()
BAD_KEPT = 1000
LATENCY_TTL_SECONDS = 400 * 86_400
"""Invoice latency samples are kept per month of posting for a little over a year."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def fold_args(prefix: str, item: Fact, fields: dict[str, str] | None = None) -> list[str | int]:
    """The script's arguments for one fact (pure: unit-tested without Redis).

    ``fields`` is the stream entry the fact was validated from: its values are stored as they came
    (cheaper than dumping the model again), in the compact form of ``codec``. Few, long arguments:
    packing many small ones cost the projector more CPU than the fold itself."""
    return [
        base(prefix),
        fact_id(item.kind.value, item.key),
        codec.encode(item, fields),
        LATENCY_TTL_SECONDS,
    ]


def _lua_roles() -> str:
    """``keys.ROLES`` as a Lua table, prepended to the script: one source for both languages."""
    rows = [
        f'["{kind.value}"]={{"{r.measure}","{r.pair}","{r.side}","{r.other.value if r.other else ""}",'
        f'"{"1" if r.forecast else ""}","{r.reversed_measure}"}}'
        for kind, r in ROLES.items()
    ]
    return "local ROLES = {" + ",".join(rows) + "}\n"


SCRIPT = _lua_roles() + codec.lua_names() + SCRIPT


@dataclass
class FoldResult:
    outcomes: dict[str, int] = field(default_factory=dict)
    bad: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class Folder:
    """Applies facts (stream entries) to the read model under ``prefix``."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis, self.prefix = redis, prefix
        self.base = base(prefix)
        self.facts_key = self.base + "facts"
        self._script = redis.register_script(SCRIPT)
        self._decoded = bool(redis.get_connection_kwargs().get("decode_responses"))

    async def fold(self, entries: Sequence[tuple[str, dict[Any, Any]]]) -> FoldResult:
        """Fold stream entries ``(entry id, fields)`` in order; never raises for a bad fact."""
        result = FoldResult()
        parsed: list[tuple[str, Fact, dict[str, str]]] = []
        for entry_id, fields in entries:
            decoded = fields if self._decoded else {_text(k): _text(v) for k, v in fields.items()}
            try:
                parsed.append((entry_id, Fact.from_fields(decoded), decoded))
            except BadEvent as exc:
                await self.record_bad(entry_id, str(exc), fields)
                result.bad += 1
        if not parsed:
            return result
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, item, decoded in parsed:
                args = fold_args(self.prefix, item, decoded)
                await self._script(keys=[self.facts_key], args=args, client=pipe)
            answers = await pipe.execute(raise_on_error=False)
        for (entry_id, item, _), answer in zip(parsed, answers, strict=True):
            if isinstance(answer, Exception):
                await self.record_bad(entry_id, f"fold failed: {answer}", item.to_fields())
                result.bad += 1
            else:
                result.count(answer.decode() if isinstance(answer, bytes) else str(answer))
        return result

    async def fold_facts(self, facts: Sequence[Fact]) -> FoldResult:
        """Fold facts that are not stream entries (tests, the benchmark's direct loads)."""
        return await self.fold([(str(i), f.to_fields()) for i, f in enumerate(facts)])

    async def record_bad(self, entry_id: str, reason: str, fields: dict[Any, Any]) -> None:
        """Keep the reason and what arrived (capped), count it; the projector then acknowledges it."""
        shown = {
            (k.decode() if isinstance(k, bytes) else str(k)): (
                v.decode() if isinstance(v, bytes) else str(v)
            )[:200]
            for k, v in list(fields.items())[:20]
        }
        record = json.dumps({"entry_id": entry_id, "reason": reason[:1000], "fields": shown})
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.lpush(self.base + "bad", record)
                pipe.ltrim(self.base + "bad", 0, BAD_KEPT - 1)
                pipe.hincrby(self.base + "stats", "bad", 1)
                await pipe.execute()
        except ResponseError as exc:  # pragma: no cover - a wrong key type; logged, never blocks
            log.warning("readmodel.bad_unrecorded", extra={"entry_id": entry_id, "error": str(exc)})
        log.warning("readmodel.bad_fact", extra={"entry_id": entry_id, "reason": reason[:200]})
