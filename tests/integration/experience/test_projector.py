"""The projector on a real facts stream: a bad fact is recorded with its reason and never blocks the
ones after it; everything read is acknowledged; a restart folds nothing twice."""

from __future__ import annotations

import json
import time

import pytest
from redis.asyncio import Redis
from revbridge_contracts.facts import FACTS_STREAM, FactKind
from revbridge_experience.projector import Projector
from revbridge_experience.readmodel.queries import CellFilter, ReadModel
from revbridge_experience.settings import Settings

from tests.integration.experience.conftest import make

pytestmark = pytest.mark.anyio


def projector(redis: Redis, prefix: str, name: str = "p1") -> Projector:
    return Projector(redis, Settings(key_prefix=prefix, block_ms=10), name=name)


async def test_a_bad_fact_is_recorded_and_the_next_fact_is_applied(
    redis: Redis, prefix: str, model: ReadModel
) -> None:
    stream = prefix + FACTS_STREAM
    p = projector(redis, prefix)
    await p.ensure_group()
    await redis.xadd(stream, {"kind": "invoice.billed", "key": "in_bad", "amount": "twelve"})
    await redis.xadd(stream, {"kind": "no.such.kind", "key": "x"})
    await redis.xadd(stream, make(FactKind.invoice_billed, "in_1", 12_000).to_fields())
    result = await p.step(block_ms=10)
    assert result.bad == 2 and result.outcomes == {"applied": 1}
    assert (await model.cells(CellFilter()))[0].sums["billings"] == 12_000
    bad = await model.bad_facts()
    assert len(bad) == 2 and all(b["reason"] for b in bad)
    assert {b["fields"].get("key") for b in bad} == {"in_bad", "x"}
    assert "amount" in json.dumps(bad)  # the reason names the field that was wrong
    assert (await model.stats())["bad"] == "2"
    pending = await redis.xpending(stream, "experience")
    assert pending["pending"] == 0


async def test_entries_a_dead_projector_read_are_claimed_and_folded_once(
    redis: Redis, prefix: str, model: ReadModel
) -> None:
    stream = prefix + FACTS_STREAM
    await projector(redis, prefix, "dead").ensure_group()
    await redis.xadd(stream, make(FactKind.invoice_billed, "in_1", 100).to_fields())
    await redis.xreadgroup("experience", "dead", {stream: ">"}, count=10)  # read, then died before folding
    alive = Projector(redis, Settings(key_prefix=prefix, block_ms=10, reclaim_idle_ms=1000), name="alive")

    async def folded() -> bool:
        return (await alive.step(block_ms=50)).outcomes == {"applied": 1}

    deadline = time.monotonic() + 10
    while not await folded():
        assert time.monotonic() < deadline, "the dead member's entry was never claimed"
    assert (await redis.xpending(stream, "experience"))["pending"] == 0
    # redelivered once more (a second projector racing the claim): the fold is idempotent
    again = await alive.folder.fold([(e.decode(), f) for e, f in await redis.xrange(stream)])
    assert again.outcomes == {"duplicate": 1}
    assert (await model.cells(CellFilter()))[0].sums["billings"] == 100
