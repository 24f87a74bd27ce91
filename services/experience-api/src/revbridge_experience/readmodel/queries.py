"""Reads of the read model in PostgreSQL: cells for the summary and the waterfall, pages for
drill-down, facts for lineage, metrics.

Every read is one or two indexed queries whatever the volume: the summary reads the aggregate rows of
the matching (period, entity, currency) cells (``rm_agg``, maintained by the fold), a drill-down page
reads ``limit`` rows of an index ordered by occurred time, a lineage reads one index of ``rm_fact``.
While PostgreSQL does not answer, every read raises ``UpstreamUnavailable`` (503 problem+json).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from revbridge_contracts.problems import UpstreamUnavailable
from revbridge_db import readmodel
from revbridge_db.engine import is_unavailable
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_experience.readmodel.keys import NONE, PAIRS, cell_id, fact_id, split_cell


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

    def sql(self) -> tuple[str, dict[str, Any]]:
        """The filter as a WHERE fragment on ``period``/``entity``/``currency`` columns."""
        parts: list[str] = ["true"]
        params: dict[str, Any] = {}
        if self.period:
            parts.append("(period = :f_period OR period LIKE :f_prefix)")
            params |= {"f_period": self.period, "f_prefix": self.period + "-%"}
        if self.entity:
            parts.append("entity = :f_entity")
            params["f_entity"] = self.entity
        if self.currency:
            parts.append("currency = :f_currency")
            params["f_currency"] = self.currency
        return " AND ".join(parts), params


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


Cursor = tuple[int, str] | None
"""(occurred ms, ``kind|key``) of the last record of the previous page."""

DOC_COLUMNS = (
    "kind, key, system, record_id, contract_id, customer_id, invoice_id, entity, currency, amount, "
    "period, status, occurred_at, recorded_at, trace_id, correlation_id, o, r"
)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def doc(row: Any) -> dict[str, Any]:
    """A fact of the read model as the report code reads it: the fact's names, ``_o``/``_r`` (ms)."""
    m = row._mapping
    out: dict[str, Any] = {}
    for name in (
        "kind",
        "key",
        "system",
        "record_id",
        "contract_id",
        "customer_id",
        "invoice_id",
        "entity",
        "currency",
        "amount",
        "period",
        "status",
        "trace_id",
        "correlation_id",
    ):
        value = m[name]
        if value is not None and not (name in ("entity", "currency", "period") and value == NONE):
            out[name] = value
    out["occurred_at"], out["recorded_at"] = _iso(m["occurred_at"]), _iso(m["recorded_at"])
    out["_o"], out["_r"] = m["o"], m["r"]
    return out


def _nearest_rank(sorted_values: list[int], q: float) -> int:
    rank = max(0, min(len(sorted_values) - 1, int(q * len(sorted_values) + 0.999999) - 1))
    return sorted_values[rank]


class ReadModel:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _all(self, sql: str, **params: Any) -> list[Any]:
        try:
            async with self._engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())
        except Exception as exc:
            if is_unavailable(exc):
                raise UpstreamUnavailable("the reporting database is unavailable; retry shortly") from exc
            raise

    # --- summary -----------------------------------------------------------------------------

    async def _cells(self, where: CellFilter, classes: tuple[str, ...]) -> list[Cell]:
        clause, params = where.sql()
        rows = await self._all(
            f"SELECT period, entity, currency, measure, class, total, n FROM revbridge.rm_agg WHERE {clause}",
            **params,
        )
        cells: dict[str, Cell] = {}
        listed: set[str] = set()
        for period, entity, currency, measure, cls, total, n in rows:
            cid = cell_id(period, entity, currency)
            cell = cells.setdefault(cid, Cell(cid, {}, dict.fromkeys(PAIRS, 0)))
            if cls == "u":
                cell.unmatched[measure.removeprefix("um:")] = int(n)
            else:
                cell.sums[measure], cell.sums["n:" + measure] = int(total), int(n)
            if cls in classes:
                listed.add(cid)
        return [cells[c] for c in sorted(listed)]

    async def cells(self, where: CellFilter) -> list[Cell]:
        """The cells with an actual (a record of a platform), with their sums and unmatched counts."""
        return await self._cells(where, ("a",))

    async def ledger_cells(self, where: CellFilter) -> list[Cell]:
        """Every cell with an actual or a forecast: the waterfall's input."""
        return await self._cells(where, ("a", "f"))

    async def stats(self) -> dict[str, str]:
        rows = await self._all("SELECT name, value FROM revbridge.rm_state")
        out = {name: str(value) for name, value in rows}
        if "watermark" in out:
            out["last_entry"] = out.pop("watermark")
        return out

    # --- drill-down ----------------------------------------------------------------------------

    async def _page(
        self,
        column: str,
        value: str,
        extra: str,
        where: CellFilter,
        limit: int,
        cursor: tuple[int, str] | None,
    ) -> Page:
        clause, params = where.sql()
        params |= {"v": value, "lim": limit + 1}
        after = ""
        if cursor is not None:
            kind, _, key = cursor[1].partition("|")
            after = " AND (o, kind, key) < (:c_o, :c_kind, :c_key)"
            params |= {"c_o": cursor[0], "c_kind": kind, "c_key": key}
        newest = "ORDER BY o DESC, kind DESC, key DESC LIMIT :lim"
        in_period = " AND period = p.period" if where.period else ""
        sql = (
            f"SELECT {DOC_COLUMNS} FROM revbridge.rm_fact "
            f"WHERE {column} = :v{extra}{in_period} AND {clause}{after} {newest}"
        )
        if where.period:
            # newest first within each period the filter covers (an index range already in order),
            # then merged: one ordered walk of the book would first pass every newer period's records
            params["agg_m"] = value if column == "measure" else "um:" + value
            sql = (
                "SELECT x.* FROM (SELECT DISTINCT period FROM revbridge.rm_agg WHERE measure = :agg_m "
                f"AND (period = :f_period OR period LIKE :f_prefix)) AS p, LATERAL ({sql}) AS x {newest}"
            )
        rows = await self._all(sql, **params)
        docs = [doc(r) for r in rows[:limit]]
        more = len(rows) > limit
        last = docs[-1] if docs else None
        next_cursor = f"{last['_o']}:{fact_id(last['kind'], last['key'])}" if more and last else None
        return Page(docs, 0, next_cursor)

    async def page_measure(
        self, measure: str, cells: list[Cell], where: CellFilter, limit: int, cursor: Cursor
    ) -> Page:
        """The records behind one measure, newest first, after ``cursor``."""
        page = await self._page("measure", measure, "", where, limit, cursor)
        total = sum(c.sums.get("n:" + measure, 0) for c in cells)
        return Page(page.items, total, page.next_cursor)

    async def page_unmatched(
        self, pair: str, cells: list[Cell], where: CellFilter, limit: int, cursor: Cursor
    ) -> Page:
        """The records of a pair whose counterpart is missing, newest first, after ``cursor``."""
        page = await self._page("pair", pair, " AND unmatched", where, limit, cursor)
        return Page(page.items, sum(c.unmatched.get(pair, 0) for c in cells), page.next_cursor)

    # --- lineage --------------------------------------------------------------------------------

    async def facts(self, ids: Iterable[str]) -> list[dict[str, Any] | None]:
        wanted = list(ids)
        if not wanted:
            return []
        kinds, keys = zip(*(i.split("|", 1) for i in wanted), strict=True)
        rows = await self._all(
            f"SELECT {DOC_COLUMNS} FROM revbridge.rm_fact "
            "WHERE (kind, key) IN (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[])))",
            kinds=list(kinds),
            keys=list(keys),
        )
        found = {fact_id(r.kind, r.key): doc(r) for r in rows}
        return [found.get(i) for i in wanted]

    async def index(self, scope: str, key: str) -> list[str]:
        column = {"contract": "contract_id", "customer": "customer_id", "invoice": "invoice_id"}[scope]
        rows = await self._all(
            f"SELECT kind, key FROM revbridge.rm_fact WHERE {column} = :k AND NOT forecast", k=key
        )
        return sorted(fact_id(kind, k) for kind, k in rows)

    async def fact(self, kind: str, key: str) -> dict[str, Any] | None:
        return (await self.facts([fact_id(kind, key)]))[0]

    # --- operations ------------------------------------------------------------------------------

    async def _percentiles(self, sql: str, **params: Any) -> tuple[int, float | None, float | None]:
        """Count, p50 and p95 (seconds) of the ms values ``sql`` selects (nearest rank)."""
        rows = await self._all(
            f"SELECT count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY ms), "
            f"percentile_disc(0.95) WITHIN GROUP (ORDER BY ms) FROM ({sql}) AS v",
            **params,
        )
        n, p50, p95 = rows[0]
        if not n:
            return 0, None, None
        return int(n), float(p50) / 1000, float(p95) / 1000

    async def latency(self, months: list[str]) -> tuple[int, float | None, float | None]:
        """Invoice latency (billed → first posted) over the months of posting ``months``."""
        return await self._percentiles(
            "SELECT ms FROM revbridge.rm_latency WHERE month = ANY(CAST(:months AS text[]))", months=months
        )

    async def cycle(self) -> tuple[int, float | None, float | None]:
        """Contract-to-first-bill cycle time."""
        return await self._percentiles(
            "SELECT cycle_ms AS ms FROM revbridge.rm_cycle WHERE cycle_ms IS NOT NULL"
        )

    async def latency_months(self) -> list[str]:
        return [m for (m,) in await self._all("SELECT DISTINCT month FROM revbridge.rm_latency ORDER BY 1")]

    async def sync_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT entity, pair, what, n FROM revbridge.rm_sync")
        return {f"{e}|{p}|{w}": int(n) for e, p, w, n in rows}

    async def projector_lag(self) -> tuple[int | None, int | None]:
        """(pending, lag): ledger rows being folded (none are held: 0) and rows not yet folded."""
        rows = await self._all(readmodel.UNFOLDED_SQL)
        return 0, int(rows[0][0])

    async def bad_facts(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self._all(
            "SELECT ledger_id, reason, fields FROM revbridge.rm_bad ORDER BY id DESC LIMIT :lim", lim=limit
        )
        return [{"entry_id": str(lid), "reason": reason, "fields": fields} for lid, reason, fields in rows]
