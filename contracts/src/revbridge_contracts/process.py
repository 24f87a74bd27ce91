"""Models of the process API: flow runs, exceptions, revenue positions and lineage.

The experience API reads these from the process API over HTTP; both sides use these classes.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field

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


class ExceptionRecord(Canonical):
    """An unresolved failure with its owner: the unit of work for the ops teams."""

    id: str
    flow: str
    business_key: str
    error_class: ErrorClass
    reason: str
    owner: str
    status: str = "open"
    attempts: int = 1
    first_seen: dt.datetime
    last_seen: dt.datetime
    sla_due: dt.datetime


class ExceptionPage(Canonical):
    items: list[ExceptionRecord]


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
