"""Canonical business models: the shapes that travel between layers.

Money is always an integer in the currency's minor unit plus an ISO 4217 code, so no float
rounding ever reaches a ledger. Models are additive within a major version: new optional
fields only. Request bodies forbid unknown fields so a typo is a 422, not silently ignored.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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


class ContractLine(Canonical):
    id: str
    product_code: str | None
    product_name: str | None = None
    quantity: int
    unit_amount: MinorUnits
    amount: MinorUnits


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


class SubscriptionItem(Canonical):
    billing_price_ref: str
    quantity: int = Field(ge=1)


class SubscriptionUpsert(Command):
    """Upserted by CRM contract id (the path key): one subscription per contract."""

    customer_id: str
    currency: Currency
    items: list[SubscriptionItem] = Field(min_length=1)
    days_until_due: int = Field(default=30, ge=0, le=365)


class Subscription(Canonical):
    id: str
    customer_id: str
    crm_contract_id: str | None
    status: str
    latest_invoice_id: str | None = None
    created: bool = False


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


class InvoicePage(Canonical):
    items: list[Invoice]
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


class ErpTransaction(Canonical):
    """An ERP invoice or customer payment, amounts in minor units."""

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


class WebhookReceipt(Canonical):
    """The answer to a platform's push: recorded (or recognised as a duplicate) and enqueued."""

    received: bool = True
    duplicate: bool = False
    event_id: str | None = None
