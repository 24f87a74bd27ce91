"""Models of the process API: flow runs, exceptions, revenue positions and lineage.

The experience API reads these from the process API over HTTP; both sides use these classes.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from revbridge_contracts.models import Canonical, Command, Currency, MinorUnits


class OnboardingRequest(Command):
    contract_id: str = Field(min_length=15, max_length=18, pattern=r"^[a-zA-Z0-9]+$")


class FlowState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class OnboardingStatus(Canonical):
    contract_id: str
    state: FlowState
    billing_customer_id: str | None = None
    billing_subscription_id: str | None = None
    erp_customer_id: str | None = None
    error: str | None = None
    updated_at: dt.datetime


class ErrorClass(StrEnum):
    mapping_missing = "mapping_missing"
    tax_code_missing = "tax_code_missing"
    entity_mismatch = "entity_mismatch"
    validation = "validation"
    upstream_unavailable = "upstream_unavailable"
    rate_limited = "rate_limited"
    conflict = "conflict"
    bad_event = "bad_event"
    payment_overdue = "payment_overdue"
    """An invoice's failed payment attempts crossed the dunning threshold (``config/flows.yaml``)."""
    usage_late = "usage_late"
    """Usage for a billing period already invoiced, held for revops (``usage.late: exception``)."""
    unknown = "unknown"


class ExceptionStatus(StrEnum):
    """``open`` → ``retrying`` (an operator re-published the event) → ``resolved`` (the flow succeeded,
    or an operator closed it); a failed retry reopens the record."""

    open = "open"
    retrying = "retrying"
    resolved = "resolved"


class ExceptionAction(StrEnum):
    opened = "opened"
    retry_failed = "retry_failed"
    retry = "retry"
    reassign = "reassign"
    resolve = "resolve"
    resolved_by_flow = "resolved_by_flow"


class ExceptionHistoryEntry(Canonical):
    """One step in a record's life: who did what, when, and why."""

    at: dt.datetime
    action: ExceptionAction
    by: str | None = Field(default=None, description="the gateway client, or the worker")
    note: str | None = None


class ExceptionRecord(Canonical):
    """An unresolved failure with its owner: the unit of work for the ops teams."""

    id: str
    flow: str
    business_key: str
    error_class: ErrorClass
    reason: str
    owner: str
    status: str = Field(default="open", description="open, retrying or resolved (ExceptionStatus)")
    attempts: int = 1
    first_seen: dt.datetime
    last_seen: dt.datetime
    sla_due: dt.datetime
    account: str | None = Field(default=None, description="billing account of the event, when it named one")
    history: list[ExceptionHistoryEntry] = Field(default_factory=list, description="oldest first")


class ExceptionPage(Canonical):
    items: list[ExceptionRecord]
    next_cursor: str | None = Field(default=None, description="pass as ``cursor`` for the next page")


class ExceptionResolve(Command):
    note: str = Field(min_length=1, max_length=2000, description="what was done; kept in the history")


class ExceptionReassign(Command):
    owner: str = Field(min_length=1, max_length=100, description="an owner team of config/exceptions.yaml")
    note: str | None = Field(default=None, max_length=2000)


class OwnerAging(Canonical):
    """The live (open or retrying) exceptions of one owner team, by age."""

    owner: str
    open: int = 0
    retrying: int = 0
    overdue: int = 0
    oldest_first_seen: dt.datetime | None = None
    age_buckets: dict[str, int] = Field(
        default_factory=dict, description="live records by age: lt_1h, 1h_24h, 1d_7d, gt_7d"
    )


class OperationsStats(Canonical):
    """Counts for the operations dashboard: exception aging per owner and the dead-letter depth."""

    as_of: dt.datetime
    exception_aging: list[OwnerAging]
    dead_letter_depth: int


class ReplayFlow(StrEnum):
    """Flows whose business event can be re-published for a business key: every flow the worker runs."""

    onboarding = "onboarding"
    """Key: the contract id (activations, amendments and renewals)."""
    invoice_posting = "invoice_posting"
    """Key: the invoice id (the invoice and its payments)."""
    invoice_dunning = "invoice_dunning"
    """Key: the invoice id (its dunning status, from a failed payment)."""
    invoice_voiding = "invoice_voiding"
    """Key: the invoice id (the write-off of a void or uncollectible invoice)."""
    credit_posting = "credit_posting"
    """Key: the credit note id."""
    refund_posting = "refund_posting"
    """Key: the charge id (every refund of the charge)."""
    dispute_posting = "dispute_posting"
    """Key: the dispute id (a lost dispute's credit memo and customer refund)."""


class DeadLetterReplay(Command):
    """Re-publish dead-lettered entries (by id, or all of them) to their original streams."""

    source: Literal["dead_letter"]
    ids: list[Annotated[str, Field(pattern=r"^[0-9]{1,19}-[0-9]{1,19}$")]] | None = Field(
        default=None, min_length=1, max_length=1000
    )
    all: bool = False

    @model_validator(mode="after")
    def _ids_or_all(self) -> DeadLetterReplay:
        if bool(self.ids) == self.all:
            raise ValueError("give either ids or all=true")
        return self


class BusinessKeyReplay(Command):
    """Publish the flow's business event for one key (a contract id, an invoice id)."""

    source: Literal["business_key"]
    flow: ReplayFlow
    business_key: str = Field(min_length=1, max_length=255)
    account: str | None = Field(default=None, max_length=100, description="billing account of an invoice")


ReplayRequest = Annotated[DeadLetterReplay | BusinessKeyReplay, Field(discriminator="source")]


class ReplayedEntry(Canonical):
    stream: str
    entry_id: str
    event_id: str
    dead_letter_id: str | None = None


class ReplayResult(Canonical):
    replayed: list[ReplayedEntry]
    missing: list[str] = Field(default_factory=list, description="dead-letter ids not found")


class DeadLetter(Canonical):
    """An entry moved off its stream after too many deliveries, with the original fields."""

    id: str
    stream: str
    entry_id: str
    reason: str
    type: str | None = None
    subject: str | None = None
    event_id: str | None = None
    fields: dict[str, str]


class DeadLetterPage(Canonical):
    items: list[DeadLetter]
    next_cursor: str | None = None


class CurrencyPosition(Canonical):
    """Totals per currency as each system of record reports them."""

    currency: Currency
    bookings: MinorUnits = 0
    billings: MinorUnits = 0
    collections: MinorUnits = 0
    erp_invoiced: MinorUnits = 0
    erp_collected: MinorUnits = 0


class RevenuePositions(Canonical):
    as_of: dt.datetime
    positions: list[CurrencyPosition]


class SystemRecord(Canonical):
    system: str
    record_type: str
    id: str
    status: str | None = None
    amount: MinorUnits | None = None
    currency: Currency | None = None


class ContractLineage(Canonical):
    """Every id one contract has across CRM, billing and ERP."""

    contract_id: str
    records: list[SystemRecord]


# --- replay by time range -------------------------------------------------------------------


class ReplaySource(StrEnum):
    """Where a time-range replay reads what happened: the billing system's events API, or the
    CRM's contracts (by their last modification)."""

    billing = "billing"
    crm = "crm"


def _rfc3339(value: object) -> object:
    """Times travel as RFC 3339 text: a bare number is refused rather than read as Unix time."""
    if not isinstance(value, (str, dt.datetime)):
        raise ValueError("expected an RFC 3339 date-time")
    return value


Instant = Annotated[dt.datetime, BeforeValidator(_rfc3339)]


class TimeRangeReplay(Command):
    """Re-publish what the platforms recorded in [since, until] (beyond the bus's retention).

    Answered a page of work at a time: pass ``next_cursor`` back as ``cursor`` (with the same
    range) until it is null. A cursor from another range is refused."""

    since: Instant = Field(description="RFC 3339; events created (contracts modified) at or after")
    until: Instant | None = Field(default=None, description="at or before; default: now")
    sources: list[ReplaySource] = Field(
        default_factory=lambda: [ReplaySource.billing, ReplaySource.crm], min_length=1
    )
    accounts: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="billing accounts; default: every configured one",
    )
    max_events: int = Field(
        default=500, ge=1, le=5000, strict=True, description="events published by this call, at most"
    )
    cursor: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _ordered(self) -> TimeRangeReplay:
        if self.until is not None and _utc(self.until) < _utc(self.since):
            raise ValueError("until is before since")
        return self


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class TimeRangeReplayResult(Canonical):
    published: int = Field(description="events put on the bus by this call")
    skipped: int = Field(default=0, description="repeats of a flow and key already published, unknown types")
    by_type: dict[str, int] = Field(default_factory=dict)
    entries: list[ReplayedEntry] = Field(default_factory=list)
    next_cursor: str | None = Field(default=None, description="null: the whole range is done")
    progress: float = Field(ge=0, le=1, description="share of the range done, over every source")
    position: dt.datetime | None = Field(default=None, description="how far the current source has got")


# --- reconciliation -------------------------------------------------------------------------


class ReconciliationCategory(StrEnum):
    matched = "matched"
    missing_in_target = "missing_in_target"
    duplicated = "duplicated"
    amount_mismatch = "amount_mismatch"
    currency_mismatch = "currency_mismatch"
    status_mismatch = "status_mismatch"
    unexpected_in_target = "unexpected_in_target"


class ReconciliationPair(StrEnum):
    """What is compared with what (source → target)."""

    contract_subscription = "contract_subscription"
    """Salesforce activated contracts → Stripe subscriptions (per legal entity's account)."""
    invoice = "invoice"
    """Stripe invoices → NetSuite invoices."""
    payment = "payment"
    """Stripe invoice payments → NetSuite customer payments."""
    credit_note = "credit_note"
    """Stripe credit notes → NetSuite credit memos."""
    refund = "refund"
    """Stripe refunds → NetSuite customer refunds."""


class ReconciliationCounts(Canonical):
    matched: int = 0
    missing_in_target: int = 0
    duplicated: int = 0
    amount_mismatch: int = 0
    currency_mismatch: int = 0
    status_mismatch: int = 0
    unexpected_in_target: int = 0
    known_exception: int = Field(
        default=0,
        description="missing or behind in the target, but its flow already holds an open exception (owned)",
    )
    in_grace: int = Field(default=0, description="source records newer than the grace period: not judged")
    source_records: int = 0
    target_records: int = 0

    @property
    def differences(self) -> int:
        return (
            self.missing_in_target
            + self.duplicated
            + self.amount_mismatch
            + self.currency_mismatch
            + self.status_mismatch
            + self.unexpected_in_target
        )


class ReconciliationDifference(Canonical):
    pair: ReconciliationPair
    category: ReconciliationCategory
    business_key: str = Field(description="the source record's id (or the target's, when unexpected)")
    account: str | None = Field(default=None, description="billing account (legal entity)")
    detail: str
    source: SystemRecord | None = None
    targets: list[SystemRecord] = Field(default_factory=list)
    exception_id: str | None = None


class ReconciliationStatus(StrEnum):
    running = "running"
    completed = "completed"
    failed = "failed"


class ReconciliationRequest(Command):
    grace_seconds: float | None = Field(
        default=None,
        ge=0,
        le=30 * 86_400,
        strict=True,
        description="skip records newer than this (in flight); default: PROCESS_RECONCILE_GRACE_SECONDS",
    )
    pairs: list[ReconciliationPair] | None = Field(default=None, min_length=1, description="default: all")
    wait: bool = Field(
        default=False, strict=True, description="answer 200 with the finished report instead of 202 at once"
    )


class ReconciliationReport(Canonical):
    id: str
    status: ReconciliationStatus
    trigger: str = Field(description="scheduled or on_demand")
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    grace_seconds: float = 0
    pairs: list[ReconciliationPair] = Field(default_factory=list)
    progress: float = Field(default=0, ge=0, le=1)
    phase: str | None = Field(default=None, description="what it is doing now (while running)")
    counts: ReconciliationCounts = Field(default_factory=ReconciliationCounts, description="all pairs")
    by_pair: dict[str, ReconciliationCounts] = Field(default_factory=dict)
    differences: list[ReconciliationDifference] = Field(default_factory=list)
    differences_total: int = 0
    truncated: bool = Field(default=False, description="more differences than the report lists")
    exceptions_opened: int = Field(default=0, description="differences recorded in the exception queue")
    exceptions_resolved: int = Field(default=0, description="earlier reconciliation exceptions now matched")
    error: str | None = None
