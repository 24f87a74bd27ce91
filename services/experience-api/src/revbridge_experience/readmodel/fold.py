"""Folds the ledger into the read model, inside PostgreSQL (``revbridge.rm_fold_pending``).

A fact's identity is ``(kind, key)``. The newest version wins (``occurred_at``, then
``recorded_at``): a version folded again is a ``duplicate`` and changes nothing, an older one arriving
late is ``stale`` and is dropped, and a newer one ``replaced`` the old — its contribution to every
aggregate, drill-down and lineage is taken out before the new one goes in, so a figure never counts a
record twice. A row that can't be folded is recorded with its reason (``bad``) and skipped.

A forecast (``billing.scheduled``, ``revenue.scheduled``: a contract's schedule, one fact per month)
is also versioned by contract: the newest schedule's ``occurred_at`` wins whole, so the months an
amended contract no longer has leave the forecast even when the flow does not republish them at 0.

The fold reads the ledger in commit-safe order past a watermark and commits the fold, the watermark
and the counters together: each ledger row is folded exactly once, whoever runs the fold and however
often it is interrupted. ``keys.ROLES`` (what each kind contributes) is written to ``rm_role`` before
the first fold, so Python and the SQL fold share one source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from revbridge_contracts.facts import Fact
from revbridge_db import ledger, readmodel
from revbridge_db.schema import rm_role
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_experience.readmodel.keys import ROLES


@dataclass
class FoldResult:
    outcomes: dict[str, int] = field(default_factory=dict)
    bad: int = 0

    @property
    def folded(self) -> int:
        return sum(self.outcomes.values()) + self.bad


def role_rows() -> list[dict[str, object]]:
    return [
        {
            "kind": kind.value,
            "measure": r.measure,
            "pair": r.pair,
            "side": r.side,
            "other": r.other.value if r.other else "",
            "forecast": r.forecast,
            "reversed_measure": r.reversed_measure,
        }
        for kind, r in ROLES.items()
    ]


class Folder:
    """Folds the ledger in ``engine``'s database into its read model."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._roles_written = False

    async def write_roles(self) -> None:
        statement = insert(rm_role).values(role_rows())
        statement = statement.on_conflict_do_update(
            index_elements=["kind"], set_={c: statement.excluded[c] for c in role_rows()[0] if c != "kind"}
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)
        self._roles_written = True

    async def fold_pending(self, batch: int = 500) -> FoldResult:
        """Fold up to ``batch`` ledger rows past the watermark (one transaction)."""
        if not self._roles_written:
            await self.write_roles()
        return _result(await readmodel.fold_pending(self._engine, batch))

    async def fold_all(self, batch: int = 2000) -> FoldResult:
        """Fold until nothing is pending."""
        if not self._roles_written:
            await self.write_roles()
        return _result(await readmodel.fold_all(self._engine, batch))

    async def fold_facts(self, facts: Sequence[Fact]) -> FoldResult:
        """Append ``facts`` to the ledger and fold them (tests, the benchmark's direct loads)."""
        await ledger.append(self._engine, [ledger.fact_row(f) for f in facts])
        return await self.fold_all()

    async def rebuild(self, batch: int = 2000) -> FoldResult:
        """Empty the read model and fold the whole ledger again (``revbridge rebuild``)."""
        await self.write_roles()
        return _result(await readmodel.rebuild(self._engine, batch))


def _result(counts: dict[str, int]) -> FoldResult:
    bad = counts.pop("bad", 0)
    return FoldResult(counts, bad)
