"""Canonical business models: the shapes that travel between layers.

Money is always an integer in the currency's minor unit plus an ISO 4217 code, so no float
rounding ever reaches a ledger. Models are additive within a major version: new optional
fields only. Request bodies forbid unknown fields so a typo is a 422, not silently ignored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case")]
MinorUnits = Annotated[int, Field(description="amount in the currency's minor unit (e.g. cents)")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]


class Canonical(BaseModel):
    """Base for response models: tolerant of additive fields from newer minor versions."""

    model_config = ConfigDict(extra="ignore")


class Command(BaseModel):
    """Base for request bodies: closed, so an unknown field is rejected and named."""

    model_config = ConfigDict(extra="forbid")


# --- CRM side -------------------------------------------------------------------------------


class Customer(Canonical):
    """A billed party, keyed by its CRM account id, with its ids in the other systems."""

    crm_account_id: str
    name: str
    parent_crm_account_id: str | None = None
    country: Country | None = None
    currency: Currency | None = None
    tax_id: str | None = None
    tax_exempt: bool = False
    """Exempt from tax (with or without a tax id); the tax gate then maps it to the exempt code."""
    billing_customer_id: str | None = None
    erp_customer_id: str | None = None


class Product(Canonical):
    """A sellable product and how each system refers to it."""

    code: str
    name: str
    billing_price_ref: str | None = None
    erp_item_id: str | None = None


class ContractStatus(StrEnum):
    draft = "draft"
    activated = "activated"
    other = "other"


class ChargeType(StrEnum):
    recurring = "recurring"
    usage = "usage"
    one_time = "one_time"


class ContractLine(Canonical):
    """One line of a contract: a product, its quantity and price, and — for a segmented (ramped or
    phased) line as Salesforce CPQ stores it — the service period the price holds for.

    A line without ``start_date``/``end_date`` holds for the whole term. ``unit_amount`` is the
    monthly price per unit; ``amount`` the monthly total. A usage line (``charge_type: usage``)
    carries the quantity included in each monthly period and the price per unit beyond it, in
    minor units as an exact decimal (usage is often priced in fractions of a cent).
    """

    id: str
    product_code: str | None
    product_name: str | None = None
    quantity: int
    unit_amount: MinorUnits
    amount: MinorUnits
    charge_type: ChargeType = ChargeType.recurring
    start_date: dt.date | None = Field(default=None, description="first day of the segment")
    end_date: dt.date | None = Field(default=None, description="last day of the segment (inclusive)")
    segment_index: int | None = Field(default=None, description="CPQ's segment number (1 = first year)")
    segment_label: str | None = None
    segment_key: str | None = Field(default=None, description="one key for all segments of one line")
    currency: Currency | None = Field(
        default=None, description="the line's own currency, when the CRM has one"
    )
    segment_unit_amount: MinorUnits | None = Field(
        default=None,
        description="the segment's own price per unit over the whole segment, as the CRM holds it",
    )
    segment_months: int | None = Field(
        default=None, description="whole months the segment spans (None: not whole)"
    )
    included_quantity: Decimal | None = Field(default=None, description="usage: units included per period")
    overage_unit_amount: Decimal | None = Field(
        default=None, description="usage: minor units per unit beyond the included quantity"
    )


class Contract(Canonical):
    """An approved commercial agreement: what sales closed, per CRM."""

    id: str
    number: str | None = None
    account_id: str
    status: ContractStatus
    start_date: dt.date | None = None
    term_months: int | None = None
    currency: Currency
    activated_at: dt.datetime | None = None
    modified_at: dt.datetime | None = None
    lines: list[ContractLine] = Field(default_factory=list)
    billing_customer_id: str | None = None
    billing_subscription_id: str | None = None
    erp_customer_id: str | None = None
    billing_status: str | None = None
    dunning_invoice_id: str | None = Field(
        default=None, description="the invoice the dunning status written back is about (past due)"
    )

    @property
    def monthly_amount(self) -> int:
        return sum(line.amount for line in self.lines)


class ContractPage(Canonical):
    items: list[Contract]
    next_cursor: str | None = None


class BillingLink(Command):
    """The write-back fields revbridge owns on the CRM contract and account (ARCHITECTURE §3)."""

    billing_customer_id: str | None = None
    billing_subscription_id: str | None = None
    erp_customer_id: str | None = None
    billing_status: str
    synced_at: dt.datetime


class DunningStatus(Command):
    """Where collection of one invoice stands, written back to the CRM contract and its account.

    ``billing_status`` is ``past_due`` while a failed invoice is still owed and ``active`` once it is
    paid, voided or written off; ``attempt_count`` and ``next_attempt_at`` are the billing system's.
    """

    billing_status: str = Field(min_length=1, max_length=40)
    invoice_id: str = Field(min_length=1, max_length=255)
    attempt_count: int = Field(ge=0)
    next_attempt_at: dt.datetime | None = None
    amount_due: MinorUnits = Field(ge=0)
    currency: Currency
    synced_at: dt.datetime


# --- Billing side ---------------------------------------------------------------------------


class BillingCustomerUpsert(Command):
    """Upserted by CRM account id (the path key): looked up before it is ever created."""

    name: str
    email: str | None = None
    country: Country | None = None
    currency: Currency


class BillingCustomer(Canonical):
    id: str
    crm_account_id: str | None
    name: str | None
    currency: Currency | None = None
    created: bool = False
    test_clock: str | None = Field(default=None, description="the Stripe test clock it runs on (test mode)")


class SubscriptionItem(Canonical):
    billing_price_ref: str
    quantity: int = Field(ge=1)


ProrationBehavior = Literal["create_prorations", "none", "always_invoice"]


class PhaseItem(Command):
    """One item of a schedule phase: a licensed price at the contract's own monthly unit price, or a
    metered price with the contract's included quantity and overage rate.

    ``billing_price_ref`` is the product's list price (lookup key): its product (and, for a metered
    price, its meter) carry over to the price the contract's terms make.
    """

    billing_price_ref: str = Field(min_length=1, max_length=200)
    quantity: int | None = Field(default=None, ge=1, description="licensed items; None for metered")
    unit_amount: MinorUnits | None = Field(
        default=None, ge=0, description="monthly price per unit; None: the list price as it is"
    )
    metered: bool = False
    included_quantity: Decimal | None = Field(
        default=None, ge=0, description="metered: free units per period"
    )
    overage_unit_amount: Decimal | None = Field(
        default=None, ge=0, description="metered: minor units per unit beyond the included quantity"
    )

    @model_validator(mode="after")
    def _shape(self) -> PhaseItem:
        if self.metered and self.quantity is not None:
            raise ValueError("a metered item has no quantity")
        if not self.metered and self.quantity is None:
            raise ValueError("quantity: a licensed item needs one")
        return self


class SubscriptionPhase(Command):
    """A span of the contract with one set of items: one per segment boundary of its lines."""

    start_date: dt.date
    end_date: dt.date = Field(description="the next phase's start (exclusive)")
    items: list[PhaseItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> SubscriptionPhase:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self


class SubscriptionUpsert(Command):
    """Upserted by CRM contract id (the path key): one subscription per contract.

    A flat contract names its ``items``. A ramped or phased one (CPQ segments, usage) names its
    ``phases`` instead and becomes a subscription schedule with one phase per segment boundary.
    An existing subscription (or schedule) converges to the command (amendments, renewals) with
    ``proration_behavior``; the update's idempotency key is derived from ``revision``, the
    contract version it implements, so a retry after a lost answer never applies it twice.
    """

    customer_id: str
    currency: Currency
    items: list[SubscriptionItem] = Field(default_factory=list)
    phases: list[SubscriptionPhase] = Field(default_factory=list, max_length=50)
    days_until_due: int = Field(default=30, ge=0, le=365)
    revision: str | None = Field(
        default=None, max_length=100, description="contract version (e.g. its last modification stamp)"
    )
    term_end: dt.date | None = Field(default=None, description="end of the contract term (renewals move it)")
    proration_behavior: ProrationBehavior = "create_prorations"

    @model_validator(mode="after")
    def _items_or_phases(self) -> SubscriptionUpsert:
        if bool(self.items) == bool(self.phases):
            raise ValueError("items or phases: give exactly one of them")
        for before, after in zip(self.phases, self.phases[1:], strict=False):
            if after.start_date != before.end_date:
                gap = f"one ends {before.end_date}, the next starts {after.start_date}"
                raise ValueError(f"phases must follow each other: {gap}")
        return self


class Subscription(Canonical):
    id: str
    customer_id: str
    crm_contract_id: str | None
    status: str
    latest_invoice_id: str | None = None
    created: bool = False
    updated: bool = False
    """An existing subscription was changed to match the command (an amendment or renewal)."""
    revision: str | None = None
    items: list[SubscriptionItem] = Field(default_factory=list)
    currency: Currency | None = None
    schedule_id: str | None = Field(
        default=None, description="the subscription schedule of a phased contract"
    )
    ended_at: dt.datetime | None = Field(default=None, description="when a canceled subscription ended")


class SubscriptionPage(Canonical):
    items: list[Subscription]
    next_cursor: str | None = None


class InvoiceStatus(StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    uncollectible = "uncollectible"
    void = "void"


class InvoiceLine(Canonical):
    id: str
    product_code: str | None = None
    description: str | None = None
    quantity: int
    amount: MinorUnits
    period_start: dt.date
    period_end: dt.date


class Payment(Canonical):
    id: str
    invoice_id: str
    amount: MinorUnits
    currency: Currency
    paid_at: dt.datetime | None = None
    status: str


class Invoice(Canonical):
    """A billing-system invoice, with the CRM contract it bills when known."""

    id: str
    number: str | None = None
    customer_id: str
    subscription_id: str | None = None
    crm_contract_id: str | None = None
    status: InvoiceStatus
    currency: Currency
    total: MinorUnits
    amount_paid: MinorUnits
    amount_due: MinorUnits
    issued_at: dt.datetime | None = None
    due_date: dt.date | None = None
    lines: list[InvoiceLine] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    amount_remaining: MinorUnits | None = Field(
        default=None, description="still owed: amount_due less amount_paid (None from older producers)"
    )
    attempt_count: int = 0
    next_payment_attempt: dt.datetime | None = None
    voided_at: dt.datetime | None = None
    marked_uncollectible_at: dt.datetime | None = None

    @property
    def remaining(self) -> int:
        """What is still owed on the invoice, in minor units."""
        if self.amount_remaining is not None:
            return self.amount_remaining
        return max(0, self.amount_due - self.amount_paid)


class InvoicePage(Canonical):
    items: list[Invoice]
    next_cursor: str | None = None


class BillingEvent(Canonical):
    """A change the billing system recorded (Stripe's events API), as the bus notification it maps to:
    ``type`` is the bus event type (``billing.invoice.paid``...), ``subject`` its business key."""

    id: str = Field(description="the billing system's event id")
    type: str
    subject: str
    account: str
    occurred_at: dt.datetime


class BillingEventPage(Canonical):
    items: list[BillingEvent]
    next_cursor: str | None = None


class CreditNoteLine(Canonical):
    id: str
    invoice_line_id: str | None = Field(default=None, description="the invoice line credited, when one is")
    description: str | None = None
    quantity: int = 1
    amount: MinorUnits


class CreditNote(Canonical):
    """A billing credit note on one invoice. ``pre_payment_amount`` reduced what the invoice asked
    for; ``post_payment_amount`` credits an invoice already paid (refunded or left as credit)."""

    id: str
    number: str | None = None
    invoice_id: str
    customer_id: str
    status: str
    currency: Currency
    total: MinorUnits
    pre_payment_amount: MinorUnits = 0
    post_payment_amount: MinorUnits = 0
    refund_ids: list[str] = Field(default_factory=list)
    issued_at: dt.datetime | None = None
    memo: str | None = None
    lines: list[CreditNoteLine] = Field(default_factory=list)


class Refund(Canonical):
    """Money paid back on a charge, with the invoice (and credit note, if any) it belongs to."""

    id: str
    charge_id: str
    payment_id: str | None = Field(default=None, description="the payment it refunds (its payment intent)")
    invoice_id: str | None = None
    credit_note_id: str | None = None
    amount: MinorUnits
    currency: Currency
    status: str
    created_at: dt.datetime | None = None


class RefundPage(Canonical):
    items: list[Refund]
    next_cursor: str | None = None


class Dispute(Canonical):
    """A cardholder's dispute of a payment, with the invoice the payment paid. A lost one returns
    the disputed amount to the cardholder, as a refund would."""

    id: str
    charge_id: str
    payment_id: str | None = Field(default=None, description="the disputed payment (its payment intent)")
    invoice_id: str | None = None
    amount: MinorUnits
    currency: Currency
    status: str = Field(description="needs_response, under_review, won, lost, warning_* for inquiries")
    reason: str | None = None
    created_at: dt.datetime | None = None

    @property
    def lost(self) -> bool:
        return self.status == "lost"


class DisputePage(Canonical):
    items: list[Dispute]
    next_cursor: str | None = None


class CreditNotePage(Canonical):
    items: list[CreditNote]
    next_cursor: str | None = None


# --- ERP side -------------------------------------------------------------------------------


class ErpRef(Canonical):
    """A record in the ERP: its internal id and the external id revbridge keyed it by."""

    record_type: str
    internal_id: str
    external_id: str


class ErpCustomerUpsert(Command):
    """Upserted by external id (the path key, the CRM account id)."""

    name: str
    subsidiary_id: str
    currency: Currency
    email: str | None = None
    crm_account_id: str
    tax_code: str | None = Field(default=None, max_length=60, description="from the tax gate's mapping")
    tax_id: str | None = Field(default=None, max_length=60)


class ErpInvoiceLine(Command):
    item_id: str
    description: str | None = None
    quantity: int
    amount: MinorUnits
    period_start: dt.date
    period_end: dt.date


class ErpInvoiceUpsert(Command):
    customer_external_id: str
    currency: Currency
    tran_date: dt.date
    memo: str | None = None
    lines: list[ErpInvoiceLine] = Field(min_length=1)


class ErpPaymentUpsert(Command):
    customer_external_id: str
    invoice_external_id: str
    currency: Currency
    amount: MinorUnits
    tran_date: dt.date


class ErpCreditLine(Command):
    item_id: str
    description: str | None = None
    quantity: int = 1
    amount: MinorUnits = Field(gt=0)
    period_start: dt.date | None = None
    period_end: dt.date | None = None


class ErpApplication(Command):
    invoice_external_id: str
    amount: MinorUnits = Field(gt=0)


class ErpCreditMemoUpsert(Command):
    """A credit memo (a billing credit note, or the write-off of a voided or uncollectible invoice),
    applied to the invoices in ``apply``; what is not applied stays as the customer's credit."""

    customer_external_id: str
    currency: Currency
    tran_date: dt.date
    memo: str | None = None
    lines: list[ErpCreditLine] = Field(min_length=1)
    apply: list[ErpApplication] = Field(default_factory=list)


class ErpRefundUpsert(Command):
    """A customer refund paid out of the credit memo named by ``credit_memo_external_id``."""

    customer_external_id: str
    credit_memo_external_id: str
    currency: Currency
    amount: MinorUnits = Field(gt=0)
    tran_date: dt.date
    memo: str | None = None


class ErpJournalLine(Command):
    account_id: str
    debit: MinorUnits = Field(default=0, ge=0)
    credit: MinorUnits = Field(default=0, ge=0)
    memo: str | None = None
    customer_external_id: str | None = None


class ErpJournalEntryUpsert(Command):
    """A balanced journal entry (e.g. deferred revenue → revenue for one schedule period)."""

    subsidiary_id: str
    currency: Currency
    tran_date: dt.date
    memo: str | None = None
    lines: list[ErpJournalLine] = Field(min_length=2)

    @model_validator(mode="after")
    def _balanced(self) -> ErpJournalEntryUpsert:
        for i, line in enumerate(self.lines):
            if (line.debit > 0) == (line.credit > 0):
                raise ValueError(f"lines[{i}] needs exactly one positive amount, debit or credit")
        if sum(line.debit for line in self.lines) != sum(line.credit for line in self.lines):
            raise ValueError("debits and credits do not balance")
        return self


class ErpTransaction(Canonical):
    """An ERP transaction (invoice, payment, credit memo, refund, journal entry), amounts in minor units.

    ``amount_paid`` is what was applied to it (invoices) or what it applied (credit memos)."""

    record_type: str
    internal_id: str
    external_id: str | None
    tran_id: str | None = None
    customer_internal_id: str | None = None
    status: str | None = None
    currency: Currency | None = None
    total: MinorUnits
    amount_paid: MinorUnits = 0
    tran_date: dt.date | None = None
    memo: str | None = Field(
        default=None, description="the transaction's memo (a copier without keys writes its source id here)"
    )


class ErpTransactionPage(Canonical):
    items: list[ErpTransaction]
    next_cursor: str | None = None


# --- Revenue --------------------------------------------------------------------------------


class RevenueScheduleEntry(Canonical):
    period: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
    amount: MinorUnits
    journal_entry_id: str | None = None


class RevenueSchedule(Canonical):
    """A ratable schedule for one invoice line with a service period."""

    invoice_id: str
    invoice_line_id: str
    currency: Currency
    total: MinorUnits
    entries: list[RevenueScheduleEntry]


class InvoiceRevenue(Canonical):
    """An invoice's revenue schedules, with what the ERP shows as recognised (journal entries read back)."""

    invoice_id: str
    currency: Currency
    schedules: list[RevenueSchedule]
    recognized: MinorUnits = Field(description="sum of the entries the ERP has a journal entry for")
    deferred: MinorUnits = Field(description="the rest of the schedules' totals, not recognised yet")


class RecognitionRunRequest(Command):
    """Post every schedule period due by ``as_of`` (all billing accounts, or one invoice)."""

    as_of: dt.date | None = Field(default=None, description="default: today (UTC)")
    invoice_id: str | None = Field(default=None, min_length=1, max_length=255)
    account: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[a-z0-9_-]+$", description="billing account"
    )

    @field_validator("as_of", mode="before")
    @classmethod
    def _iso_date_only(cls, value: object) -> object:
        """YYYY-MM-DD as the contract says: a number would otherwise be read as Unix time."""
        if value is not None and not isinstance(value, str | dt.date):
            raise ValueError("expected a date (YYYY-MM-DD)")
        return value


class RecognitionRunResult(Canonical):
    as_of: dt.date
    invoices: int = Field(description="invoices whose schedules were looked at")
    posted: int = Field(description="journal entries written by this run")
    already_posted: int = Field(description="due periods found in the ERP already")
    failed: list[str] = Field(default_factory=list, description="invoice ids that could not be recognised")


class WebhookReceipt(Canonical):
    """The answer to a platform's push: recorded (or recognised as a duplicate) and enqueued."""

    received: bool = True
    duplicate: bool = False
    event_id: str | None = None
