"""The revenue summary (v1 deprecated, v2), the drill-down from any of its figures to its records, and
the revenue waterfall."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from revbridge_contracts.experience import RecordPage, RevenueSummary, RevenueSummaryV2, RevenueWaterfall

from revbridge_experience import summary, waterfall
from revbridge_experience.deps import (
    CURRENCY,
    CurrencyQ,
    EntityQ,
    Fx,
    Model,
    PeriodQ,
    closed_query,
    invalid,
    utcnow,
)
from revbridge_experience.lineage import record
from revbridge_experience.readmodel.keys import MEASURES
from revbridge_experience.readmodel.queries import CellFilter, ReadModel

router = APIRouter()
FIGURE = "^(" + "|".join((*MEASURES, *summary.VARIANCE_PAIR)) + ")$"


async def _folded_at(rm: ReadModel) -> dt.datetime | None:
    value = (await rm.stats()).get("folded_at_ms")
    return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC) if value else None


@router.get(
    "/v1/revenue/summary", operation_id="getRevenueSummary", response_model=RevenueSummary, deprecated=True
)
async def revenue_summary(rm: Model) -> RevenueSummary:
    return summary.summary_v1(await rm.cells(CellFilter()), utcnow())


@router.get(
    "/v2/revenue/summary",
    operation_id="getRevenueSummaryV2",
    response_model=RevenueSummaryV2,
    dependencies=[Depends(closed_query)],
)
async def revenue_summary_v2(
    rm: Model,
    fx: Fx,
    period: PeriodQ = None,
    entity: EntityQ = None,
    currency: CurrencyQ = None,
    reporting_currency: Annotated[
        str | None, Query(pattern=CURRENCY, description="default: the FX file's default_reporting_currency")
    ] = None,
) -> RevenueSummaryV2:
    if reporting_currency and fx.rate(reporting_currency) is None:
        raise invalid("query.reporting_currency", f"no FX rate for {reporting_currency} in fx-rates.yaml")
    cells = await rm.cells(CellFilter(period, entity, currency))
    try:
        return summary.summary_v2(
            cells, utcnow(), await _folded_at(rm), fx, reporting_currency, period, entity
        )
    except KeyError as exc:
        raise invalid("query.reporting_currency", f"no FX rate for {exc.args[0]} in fx-rates.yaml") from exc


def _cursor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    score, _, member = value.partition(":")
    return int(score), member


@router.get(
    "/v2/revenue/records",
    operation_id="getRevenueRecords",
    response_model=RecordPage,
    dependencies=[Depends(closed_query)],
    summary="The records behind one figure of the summary (a variance: its unmatched records)",
)
async def revenue_records(
    rm: Model,
    figure: Annotated[str, Query(pattern=FIGURE, description="a figure or a variance name of the summary")],
    period: PeriodQ = None,
    entity: EntityQ = None,
    currency: CurrencyQ = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(pattern=r"^\d{1,16}:[^\s]{1,600}$", description="from next_cursor")
    ] = None,
) -> RecordPage:
    name = figure
    where = CellFilter(period, entity, currency)
    cells = await rm.cells(where)
    if name in summary.VARIANCE_PAIR:
        amount = next(
            v.difference for v in summary.variances(cells, summary.figures(cells)) if v.name == name
        )
        page = await rm.page_unmatched(summary.VARIANCE_PAIR[name], cells, where, limit, _cursor(cursor))
    else:
        amount = sum(c.sums.get(name, 0) for c in cells)
        page = await rm.page_measure(name, cells, where, limit, _cursor(cursor))
    return RecordPage(
        figure=name,
        total=page.total,
        amount=amount,
        items=[record(d) for d in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/v2/revenue/waterfall",
    operation_id="getRevenueWaterfall",
    response_model=RevenueWaterfall,
    dependencies=[Depends(closed_query)],
    summary="Billings, revenue and deferred revenue by month: the ERP's past months, then the schedules",
)
async def revenue_waterfall(
    rm: Model,
    months: Annotated[int, Query(ge=1, le=36, description="forecast months from as_of")] = 24,
    entity: EntityQ = None,
    currency: CurrencyQ = None,
    as_of: Annotated[
        str | None,
        Query(pattern=waterfall.MONTH, description="YYYY-MM, the first forecast month (default: now)"),
    ] = None,
) -> RevenueWaterfall:
    now = utcnow()
    start = as_of or now.strftime("%Y-%m")
    cells = await rm.ledger_cells(CellFilter(entity=entity, currency=currency))
    return waterfall.waterfall(cells, start, months, now, await _folded_at(rm), entity, currency)
