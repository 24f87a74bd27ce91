"""Folding the forecast facts (real Redis, the real Lua script): a contract's schedule is replaced
whole by its newer version whatever the order, it stays out of the summary and lineage, and a
reversing journal entry does not add to recognized revenue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from revbridge_contracts.facts import Fact, FactKind
from revbridge_experience.lineage import lineage
from revbridge_experience.readmodel.fold import Folder
from revbridge_experience.readmodel.queries import CellFilter, Page, ReadModel

from tests.integration.experience.conftest import T0, make

pytestmark = pytest.mark.anyio
CONTRACT = "800000000000001AAA"
AMENDED = T0 + dt.timedelta(days=30)


def schedule(months: dict[str, tuple[int, int]], at: dt.datetime = T0, **values: Any) -> list[Fact]:
    """A contract's schedule as onboarding publishes it: (billings, revenue) per month, one version."""
    return [
        make(kind, f"{CONTRACT}:{month}", amounts[i], period=month, occurred_at=at, recorded_at=at, **values)
        for i, kind in enumerate((FactKind.billing_scheduled, FactKind.revenue_scheduled))
        for month, amounts in months.items()
    ]


async def forecast(model: ReadModel) -> dict[str, tuple[int, int]]:
    out = {}
    for c in await model.ledger_cells(CellFilter()):
        figures = (c.sums.get("scheduled_billings", 0), c.sums.get("scheduled_revenue", 0))
        if any(figures) and c.period:
            out[c.period] = figures
    return out


THREE = {"2026-10": (1_000, 500), "2026-11": (1_000, 1_000), "2026-12": (0, 500)}


async def test_a_schedule_folds_into_forecast_cells_the_summary_does_not_read(
    folder: Folder, model: ReadModel
) -> None:
    result = await folder.fold_facts(schedule(THREE, invoice_id=None))
    assert result.outcomes == {"applied": 6} and result.bad == 0
    assert await forecast(model) == THREE
    assert await model.cells(CellFilter()) == []  # no actual: the summary has no cell, no period
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 1_000)])
    with pytest.raises(Exception, match="no contract"):  # a schedule alone is not a lineage
        await lineage(model, "contract", "800000000000009AAA")
    view = await lineage(model, "contract", CONTRACT)
    assert [i.invoice_id for i in view.contracts[0].invoices] == ["in_1"]
    assert await model.index("contract", CONTRACT) == ["invoice.billed|in_1"]


async def test_an_amended_contract_replaces_its_schedule_whole_even_months_it_no_longer_has(
    folder: Folder, model: ReadModel
) -> None:
    await folder.fold_facts(schedule(THREE))
    # the amendment shortens the term to two months and doubles the price; month 3 is not republished
    amended = {"2026-10": (1_000, 500), "2026-11": (2_000, 1_500)}
    result = await folder.fold_facts(schedule(amended, at=AMENDED))
    # its first fact takes the whole older version out (5 other facts); the rest go in afresh
    assert result.outcomes == {"replaced": 1, "applied": 3} and result.bad == 0
    assert (await model.stats())["superseded"] == "5"
    assert await forecast(model) == amended
    [dec] = [c for c in await model.ledger_cells(CellFilter()) if c.period == "2026-12"]
    assert dec.sums == {"scheduled_billings": 0, "n:scheduled_billings": 0} | {
        "scheduled_revenue": 0,
        "n:scheduled_revenue": 0,
    }
    december = CellFilter(period="2026-12")
    cells = await model.ledger_cells(december)
    assert await model.page_measure("scheduled_revenue", cells, december, 10, None) == Page([], 0, None)


async def test_an_older_schedule_arriving_after_the_newer_one_is_stale(
    folder: Folder, model: ReadModel
) -> None:
    amended = {"2026-10": (1_000, 500), "2026-11": (2_000, 1_500)}
    await folder.fold_facts(schedule(amended, at=AMENDED))
    late = await folder.fold_facts(schedule(THREE))  # redelivered out of order, after the amendment
    assert late.outcomes == {"stale": 6}
    assert await forecast(model) == amended
    # half of a newer version so far (its billings): the older version's revenue is already out
    await folder.fold_facts(schedule(THREE, at=AMENDED + dt.timedelta(days=1))[:3])
    assert await forecast(model) == {"2026-10": (1_000, 0), "2026-11": (1_000, 0)}


async def test_a_republished_schedule_of_the_same_version_changes_nothing(
    folder: Folder, model: ReadModel
) -> None:
    await folder.fold_facts(schedule(THREE))
    again = await folder.fold_facts(schedule(THREE))
    assert again.outcomes == {}  # the same versions: no new ledger rows
    assert await forecast(model) == THREE


async def test_a_reversing_journal_entry_is_kept_apart_from_recognized_revenue(
    folder: Folder, model: ReadModel
) -> None:
    await folder.fold_facts(
        [
            make(FactKind.revenue_recognized, "il_1:2026-10", 1_000, status="recognized"),
            make(FactKind.revenue_recognized, "il_2:2026-10", 300, status="reversed"),
        ]
    )
    [cell] = await model.cells(CellFilter())
    assert (cell.sums["recognized"], cell.sums["reversed_revenue"]) == (1_000, 300)
    # a newer version that flips the status moves the amount between the two
    flipped = make(
        FactKind.revenue_recognized,
        "il_2:2026-10",
        300,
        status="recognized",
        recorded_at=T0 + dt.timedelta(minutes=1),
    )
    assert (await folder.fold_facts([flipped])).outcomes == {"replaced": 1}
    [cell] = await model.cells(CellFilter())
    assert (cell.sums["recognized"], cell.sums["reversed_revenue"]) == (1_300, 0)


async def test_a_zero_amount_fact_can_be_replaced(folder: Folder, model: ReadModel) -> None:
    """A replaced 0 must be taken out as 0 (the Lua fold once produced '-0', a bad fact)."""
    await folder.fold_facts([make(FactKind.invoice_billed, "in_0", 0)])
    newer = make(FactKind.invoice_billed, "in_0", 0, status="paid", recorded_at=T0 + dt.timedelta(minutes=1))
    result = await folder.fold_facts([newer])
    assert result.outcomes == {"replaced": 1} and result.bad == 0
