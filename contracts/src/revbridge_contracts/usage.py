"""Models of usage ingestion: the process API's ``POST /v1/usage/events`` and the system API's
meter-event batch and test-clock read.

A partner's batch is checked event by event (one malformed event never rejects its neighbours), so
the envelope takes its events as plain objects and ``UsageEvent`` is what each one must be; the
answer names the outcome of every event, in the order sent. Quantities are exact decimals, sent as
JSON strings (a JSON number is read exactly too).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field

from revbridge_contracts.models import Canonical, Command

MAX_BATCH = 1000
"""Events per batch, both in a partner's batch and in a system API meter-event batch."""
EVENT_NAME_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
EVENT_ID_PATTERN = r"^[\x21-\x7e]{1,200}$"
"""Printable ASCII, no spaces: what a partner's own event id (a UUID, a ULID, ``order-42:3``) is."""
CRM_ID_PATTERN = r"^[a-zA-Z0-9]{15,18}$"


class UsageEvent(Command):
    """One usage event as a partner sends it; ``contract_id`` or ``customer`` names whose usage it is."""

    event_id: str = Field(
        pattern=EVENT_ID_PATTERN, description="the sender's own id; a second event with it is a duplicate"
    )
    contract_id: str | None = Field(default=None, pattern=CRM_ID_PATTERN, description="CRM contract id")
    customer: str | None = Field(
        default=None, pattern=CRM_ID_PATTERN, description="CRM account id (a customer with one contract)"
    )
    meter: str = Field(pattern=EVENT_NAME_PATTERN, description="the meter's event name, e.g. api_calls")
    quantity: Decimal = Field(description="exact decimal, zero or more (a string, or a JSON number)")
    timestamp: dt.datetime = Field(description="when the usage happened, RFC 3339 with an offset")


class UsageBatch(Command):
    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="usage events, each checked on its own: {event_id, contract_id or customer (CRM "
        "account id), meter (event name), quantity (exact decimal, string or number), timestamp (RFC 3339)}",
    )


class UsageStatus(StrEnum):
    accepted = "accepted"
    """Durably queued for Stripe (exactly once per sender and event id)."""
    duplicate = "duplicate"
    """This sender already sent an event with this id; nothing more is queued."""
    rejected = "rejected"
    """Not queued; ``reason`` says why."""


class UsageReason(StrEnum):
    invalid_event = "invalid_event"
    unknown_contract = "unknown_contract"
    unknown_customer = "unknown_customer"
    ambiguous_customer = "ambiguous_customer"
    unknown_meter = "unknown_meter"
    meter_not_on_contract = "meter_not_on_contract"
    negative_quantity = "negative_quantity"
    timestamp_too_old = "timestamp_too_old"
    timestamp_in_future = "timestamp_in_future"
    before_billing_start = "before_billing_start"
    period_closed = "period_closed"


class UsageEventResult(Canonical):
    index: int = Field(description="position of the event in the batch, from 0")
    event_id: str | None = None
    status: UsageStatus
    reason: UsageReason | None = None
    field: str | None = Field(default=None, description="the event's field at fault, when one is")
    message: str | None = None
    timestamp: dt.datetime | None = Field(default=None, description="the time Stripe is sent")
    original_timestamp: dt.datetime | None = Field(
        default=None, description="the sender's time, when late usage was moved into the current period"
    )
    exception_id: str | None = Field(default=None, description="the usage_late exception holding the event")


class UsageBatchResult(Canonical):
    accepted: int
    duplicate: int
    rejected: int
    results: list[UsageEventResult]


# --- system API: meter events and test clocks ----------------------------------------------------


class MeterEvent(Command):
    identifier: str = Field(
        min_length=1, max_length=100, description="Stripe de-duplicates meter events by this key"
    )
    event_name: str = Field(pattern=EVENT_NAME_PATTERN)
    customer_id: str = Field(min_length=1, max_length=255, description="Stripe customer id")
    value: Decimal = Field(ge=0)
    timestamp: dt.datetime


class MeterEventBatch(Command):
    events: list[MeterEvent] = Field(min_length=1, max_length=MAX_BATCH)


class MeterEventStatus(StrEnum):
    sent = "sent"
    rejected = "rejected"
    """Stripe refused the event for good (a bad customer, an unknown meter): do not send it again."""
    failed = "failed"
    """No answer, a 429 or a 5xx: worth sending again (the identifier keeps it counted once)."""


class MeterEventResult(Canonical):
    identifier: str
    status: MeterEventStatus
    code: str | None = None
    message: str | None = None


class MeterEventBatchResult(Canonical):
    results: list[MeterEventResult]


class TestClock(Canonical):
    __test__ = False  # not a pytest test class

    id: str
    frozen_time: dt.datetime
    status: str
