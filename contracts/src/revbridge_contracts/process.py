"""Models of the process API: flow runs, exceptions, revenue positions and lineage.

The experience API reads these from the process API over HTTP; both sides use these classes.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

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


class ReplayFlow(StrEnum):
    """Flows whose business event can be re-published for a business key."""

    onboarding = "onboarding"
    invoice_posting = "invoice_posting"


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
