"""Business events on the Redis Streams bus (documented in ``asyncapi/events.yaml``).

Events are notifications: they name what changed (``subject``) and never carry a vendor
payload. A consumer reads the current state from the system of record and converges to it,
so a duplicate or a reordered event changes nothing (ARCHITECTURE §5).

Each stream entry is a flat string map (``to_fields``); the W3C trace context and a business
correlation id ride along so one trace spans push → worker → ERP write.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Stream(StrEnum):
    """Stream names, without the deployment's key prefix."""

    crm = "events:crm"
    billing = "events:billing"
    dead_letter = "events:dead-letter"
    facts = "events:facts"
    """Ledger facts published by the process flows (``revbridge_contracts.facts``)."""


class EventType(StrEnum):
    contract_activated = "crm.contract.activated"
    invoice_finalized = "billing.invoice.finalized"
    invoice_paid = "billing.invoice.paid"
    invoice_payment_failed = "billing.invoice.payment_failed"
    invoice_voided = "billing.invoice.voided"
    invoice_marked_uncollectible = "billing.invoice.marked_uncollectible"
    credit_note_created = "billing.credit_note.created"
    """Subject: the credit note id."""
    charge_refunded = "billing.charge.refunded"
    """Subject: the charge id; every refund of the charge is converged."""
    dispute_created = "billing.dispute.created"
    """Subject: the dispute id; recorded for lineage (the funds are withheld on Stripe's side)."""
    dispute_closed = "billing.dispute.closed"
    """Subject: the dispute id; a lost dispute posts the money returned to the cardholder."""


STREAM_OF: dict[EventType, Stream] = {
    EventType.contract_activated: Stream.crm,
    EventType.invoice_finalized: Stream.billing,
    EventType.invoice_paid: Stream.billing,
    EventType.invoice_payment_failed: Stream.billing,
    EventType.invoice_voided: Stream.billing,
    EventType.invoice_marked_uncollectible: Stream.billing,
    EventType.credit_note_created: Stream.billing,
    EventType.charge_refunded: Stream.billing,
    EventType.dispute_created: Stream.billing,
    EventType.dispute_closed: Stream.billing,
}


class BadEvent(ValueError):
    """A stream entry that is not a valid envelope; it is recorded, never retried."""


class StreamEntry(BaseModel):
    """A model that travels as one stream entry: a flat map of string fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_fields(self) -> dict[str, str]:
        data = self.model_dump(mode="json", exclude_none=True)
        return {key: str(value) for key, value in data.items()}

    @classmethod
    def from_fields(cls, fields: dict[Any, Any]) -> Self:
        """Parse an entry as Redis returns it (bytes or str); ``BadEvent`` names what is wrong."""
        decoded = {
            (k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        try:
            return cls.model_validate(decoded)
        except ValidationError as exc:
            raise BadEvent(
                json.dumps(exc.errors(include_url=False, include_input=False), default=str)
            ) from exc


class EventEnvelope(StreamEntry):
    """The one shape of every message on the bus."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="dedupe key of the notification")
    type: EventType
    source: str = Field(description="who noticed: salesforce.push, salesforce.poll, stripe.webhook, api")
    subject: str = Field(
        min_length=1, description="business key: contract id, invoice id, credit note id, charge id"
    )
    occurred_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    account: str | None = Field(default=None, description="billing account (legal entity) when relevant")
    vendor_event_id: str | None = None
    correlation_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def stream(self) -> Stream:
        return STREAM_OF[self.type]
