"""Models of the experience API: what finance, revops and executives read."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from revbridge_contracts.models import Canonical, Currency, MinorUnits
from revbridge_contracts.process import ExceptionRecord, OwnerAging, SystemRecord


class Variance(Canonical):
    name: str
    left: MinorUnits
    right: MinorUnits
    difference: MinorUnits
    reconciled: bool


class CurrencySummary(Canonical):
    currency: Currency
    bookings: MinorUnits
    billings: MinorUnits
    collections: MinorUnits
    posted_invoices: MinorUnits
    posted_payments: MinorUnits
    variances: list[Variance]


class RevenueSummary(Canonical):
    as_of: dt.datetime
    currencies: list[CurrencySummary]


class LineageView(Canonical):
    contract_id: str
    crm: list[SystemRecord]
    billing: list[SystemRecord]
    erp: list[SystemRecord]


# --- v2 (additive; v1 shapes above are unchanged) ----------------------------------------


class PairVariance(Variance):
    """A source/target pair (billing or CRM vs the ERP) of the v2 summary, with its reconciliation status.

    ``unmatched`` counts the records of either side whose counterpart is missing (drill down with
    ``figure`` = the variance's name to list them)."""

    pair: str = Field(description="the flow that moves the source to the target, e.g. invoice_posting")
    status: Literal["reconciled", "variance"]
    unmatched: int = 0


class Figures(Canonical):
    """Every figure the read model keeps, in minor units of one currency."""

    bookings: MinorUnits = Field(default=0, description="total contract value of activated CRM contracts")
    billings: MinorUnits = Field(default=0, description="finalized billing invoices")
    collections: MinorUnits = Field(default=0, description="successful billing payments")
    recognized: MinorUnits = Field(default=0, description="revenue journal entries posted in the ERP")
    reversed_revenue: MinorUnits = Field(
        default=0, description="reversing revenue journal entries (of proration credits), not in recognized"
    )
    posted_invoices: MinorUnits = 0
    posted_payments: MinorUnits = 0
    credits: MinorUnits = 0
    posted_credits: MinorUnits = Field(default=0, description="ERP credit memos of billing credit notes")
    refunds: MinorUnits = 0
    posted_refunds: MinorUnits = 0
    voids: MinorUnits = Field(default=0, description="voided or uncollectible invoices")
    posted_voids: MinorUnits = Field(default=0, description="their ERP write-offs")
    failed_payments: MinorUnits = Field(default=0, description="amount due on invoices in dunning")


class CurrencyAmounts(Canonical):
    """One currency's totals in the v2 summary, keyed by its ISO code in ``amounts``."""

    bookings: MinorUnits
    billings: MinorUnits
    collections: MinorUnits
    posted_invoices: MinorUnits
    posted_payments: MinorUnits
    variances: list[PairVariance]
    reconciled: bool
    recognized: MinorUnits = 0
    figures: Figures | None = None


class SummaryCell(Canonical):
    """The figures of one period, legal entity and currency: the grain of the read model."""

    period: str | None = Field(default=None, description="YYYY-MM")
    entity: str | None = Field(default=None, description="legal entity code (config legal_entities)")
    currency: Currency | None = None
    figures: Figures
    variances: list[PairVariance]
    reconciled: bool


class ReportingTotals(Canonical):
    """The four figures (and the ERP postings) converted to one reporting currency at configured rates."""

    currency: Currency
    bookings: MinorUnits
    billings: MinorUnits
    collections: MinorUnits
    recognized: MinorUnits
    posted_invoices: MinorUnits
    posted_payments: MinorUnits
    rates: dict[str, str] = Field(description="units of the reporting currency per unit of each currency")
    rates_as_of: dt.date | None = None


class Reporting(Canonical):
    """What the figures are: when they were read and which currencies they cover."""

    as_of: dt.datetime
    currencies: list[Currency]
    reconciled: bool
    source: str = "process-api"
    period: str | None = None
    entity: str | None = None
    entities: list[str] = Field(default_factory=list)
    periods: list[str] = Field(default_factory=list)
    facts_folded_at: dt.datetime | None = Field(
        default=None, description="when the read model last folded a fact (how fresh the figures are)"
    )


class RevenueSummaryV2(Canonical):
    reporting: Reporting
    amounts: dict[str, CurrencyAmounts]
    breakdown: list[SummaryCell] = Field(default_factory=list, description="per period, entity and currency")
    reporting_totals: ReportingTotals | None = None


# --- v2 revenue waterfall --------------------------------------------------------------------


class WaterfallActual(Canonical):
    """One past month of one legal entity and currency: what the ERP holds, beside the schedule."""

    period: str = Field(description="YYYY-MM")
    posted_invoices: MinorUnits = Field(description="ERP invoices dated in the month")
    posted_credits: MinorUnits = Field(description="ERP credit memos of billing credit notes")
    posted_voids: MinorUnits = Field(description="ERP write-offs of voided or uncollectible invoices")
    billed: MinorUnits = Field(description="posted_invoices - posted_credits - posted_voids")
    journal_entries: MinorUnits = Field(description="revenue journal entries (deferred revenue to revenue)")
    reversals: MinorUnits = Field(description="reversing revenue journal entries")
    recognized: MinorUnits = Field(description="journal_entries - reversals")
    deferred_revenue: MinorUnits = Field(
        description="month-end balance: billed - recognized, cumulative over every month the ERP holds"
    )
    scheduled_billings: MinorUnits = Field(description="what the contracts' schedules bill in the month")
    scheduled_revenue: MinorUnits = Field(description="what the schedules recognise in the month")
    billings_variance: MinorUnits = Field(description="billed - scheduled_billings")
    revenue_variance: MinorUnits = Field(description="recognized - scheduled_revenue")


class WaterfallForecast(Canonical):
    """One month from ``as_of`` on: the schedule, what the ERP already holds for the month, and the
    projected deferred revenue balance."""

    period: str = Field(description="YYYY-MM")
    scheduled_billings: MinorUnits
    scheduled_revenue: MinorUnits
    billed_to_date: MinorUnits = Field(
        description="billed as the ERP holds it so far (as in WaterfallActual)"
    )
    recognized_to_date: MinorUnits = Field(description="recognized as the ERP holds it so far")
    billings: MinorUnits = Field(description="the larger of billed_to_date and scheduled_billings")
    revenue: MinorUnits = Field(description="the larger of recognized_to_date and scheduled_revenue")
    deferred_revenue: MinorUnits = Field(
        description="projected month-end balance: the previous month's + billings - revenue"
    )


class WaterfallSeries(Canonical):
    entity: str | None = Field(default=None, description="legal entity code (config legal_entities)")
    currency: Currency
    opening_deferred_revenue: MinorUnits = Field(
        description="the ERP's deferred revenue balance at the end of the month before as_of"
    )
    actuals: list[WaterfallActual] = Field(description="past months, oldest first")
    forecast: list[WaterfallForecast] = Field(description="as_of and the months after it, oldest first")


class RevenueWaterfall(Canonical):
    """Billings and revenue by month per legal entity and currency: past months as the ERP holds
    them beside the contracts' schedules, then the schedules rolled forward into a projected
    deferred revenue balance. Minor units of each series' currency."""

    as_of: str = Field(description="YYYY-MM: the first forecast month")
    months: int = Field(description="forecast months")
    history_months: int = Field(description="at most this many past months, from the first with data")
    entity: str | None = None
    currency: Currency | None = None
    generated_at: dt.datetime
    facts_folded_at: dt.datetime | None = None
    series: list[WaterfallSeries]


# --- v2 read-model views: drill-down, lineage, operations, exceptions ---------------------


class LedgerRecord(Canonical):
    """One record behind a figure, as the flow that read or wrote it reported it (a ledger fact)."""

    kind: str = Field(description="fact kind, e.g. invoice.billed, invoice.posted, revenue.recognized")
    key: str
    system: Literal["crm", "billing", "erp"]
    record_type: str
    id: str = Field(description="the record's id in its system")
    contract_id: str | None = None
    customer_id: str | None = None
    invoice_id: str | None = None
    entity: str | None = None
    currency: Currency | None = None
    amount: MinorUnits | None = None
    period: str | None = None
    status: str | None = None
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    trace_id: str | None = None
    correlation_id: str | None = None


class RecordPage(Canonical):
    """A page of the records behind a figure, newest first."""

    figure: str
    total: int = Field(description="records behind the figure (all pages)")
    amount: MinorUnits = Field(description="their sum (for a variance: of the unmatched records)")
    items: list[LedgerRecord]
    next_cursor: str | None = None


class LineageInvoice(Canonical):
    invoice_id: str
    billed: LedgerRecord | None = None
    posted: LedgerRecord | None = Field(default=None, description="the ERP invoice")
    payments: list[LedgerRecord] = Field(default_factory=list, description="billing payments")
    posted_payments: list[LedgerRecord] = Field(default_factory=list, description="ERP customer payments")
    journal_entries: list[LedgerRecord] = Field(default_factory=list, description="revenue recognized")
    adjustments: list[LedgerRecord] = Field(
        default_factory=list, description="voids, credits, refunds, failed payments and their ERP records"
    )
    reconciled: bool = Field(description="posted to the ERP at the billed amount, every payment posted")


class LineageContract(Canonical):
    contract_id: str
    contract: LedgerRecord | None = None
    billing_customer: LedgerRecord | None = None
    subscription: LedgerRecord | None = None
    erp_customer: LedgerRecord | None = None
    invoices: list[LineageInvoice] = Field(default_factory=list)


class Lineage(Canonical):
    """CRM contract → billing customer and subscription → invoices → ERP invoice → payments → journal
    entries, from the read model; every record with its ids, timestamps, status and trace id."""

    scope: Literal["contract", "customer", "invoice"]
    key: str
    contracts: list[LineageContract]
    trace_ids: list[str] = Field(default_factory=list)
    truncated: bool = Field(default=False, description="more invoices than one answer holds (newest kept)")


class Percentiles(Canonical):
    count: int
    p50_seconds: float | None = None
    p95_seconds: float | None = None


class SyncRate(Canonical):
    """Share of source records (billing or CRM) whose ERP or billing counterpart exists."""

    flow: str
    entity: str | None = None
    sources: int
    synced: int
    rate: float | None = Field(default=None, description="synced / sources; null without sources")


class ReadModelHealth(Canonical):
    applied: int = 0
    replaced: int = 0
    duplicate: int = 0
    stale: int = 0
    bad: int = 0
    pending: int | None = Field(default=None, description="facts delivered to the projector, not yet folded")
    lag: int | None = Field(
        default=None, description="facts on the stream not yet delivered to the projector"
    )
    folded_at: dt.datetime | None = None


class ReconciliationDrift(Canonical):
    """The process API's latest reconciliation report, in short (``available`` false while there is none)."""

    available: bool
    report_id: str | None = None
    status: str | None = None
    as_of: dt.datetime | None = Field(default=None, description="when it finished (or started, if running)")
    differences: int | None = None
    by_pair: dict[str, int] = Field(default_factory=dict, description="differences per compared pair")


class OperationsMetrics(Canonical):
    as_of: dt.datetime
    periods: list[str] = Field(description="months of posting the latencies cover")
    invoice_latency: Percentiles = Field(description="billing invoice finalized → ERP invoice posted")
    contract_to_first_bill: Percentiles
    sync_by_entity: list[SyncRate]
    sync_by_flow: list[SyncRate]
    exception_aging: list[OwnerAging] | None = Field(
        default=None, description="null when the process API is down"
    )
    dead_letter_depth: int | None = None
    reconciliation: ReconciliationDrift | None = None
    read_model: ReadModelHealth


class ExceptionView(ExceptionRecord):
    """An exception record with its age, as the dashboard shows it."""

    age_seconds: float = 0
    overdue: bool = False


class ExceptionViewPage(Canonical):
    items: list[ExceptionView]
    next_cursor: str | None = None


class DeprecatedOperation(Canonical):
    operation_id: str
    path: str
    sunset: dt.date | None = None
    successor: str | None = None


class ApiVersion(Canonical):
    major: int
    deprecated_operations: list[DeprecatedOperation]


class ApiVersions(Canonical):
    """The majors this API serves and what in each is deprecated: how a client plans its move."""

    versions: list[ApiVersion]


# --- v2 audit trail -----------------------------------------------------------------------


class AuditEvent(Canonical):
    """One row of the append-only audit trail: a change made through the gateway (any outcome) or
    an action on an exception."""

    id: int
    at: dt.datetime
    source: str = Field(description="who wrote it: gateway or process")
    actor: str | None = Field(default=None, description="the token's sub: the signed-in user, or the client")
    client: str | None = Field(default=None, description="the OAuth client")
    operation: str = Field(description="the contract's operationId (or METHOD path when no route matched)")
    method: str | None = None
    path: str | None = None
    business_key: str | None = Field(
        default=None, description="the object acted on (exception, contract id), else the Idempotency-Key"
    )
    outcome: str = Field(description="ok, rejected (4xx) or error (5xx)")
    status: int | None = None
    trace_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(Canonical):
    """A page of the audit trail, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[AuditEvent]
    next_cursor: str | None = None
