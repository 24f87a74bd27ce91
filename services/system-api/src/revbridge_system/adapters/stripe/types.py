"""Private Stripe wire shapes (API version basil and later) the mappers read; never leave the adapter.

Only the fields revbridge uses are declared; everything is optional (``total=False``) because
Stripe adds fields freely and expandable fields may hold an id or an object.
"""

from __future__ import annotations

from typing import Any, TypedDict

METADATA_CRM_ACCOUNT = "revbridge_crm_account_id"
METADATA_CRM_CONTRACT = "revbridge_crm_contract_id"
METADATA_CURRENCY = "revbridge_currency"
METADATA_PRODUCT_CODE = "revbridge_product_code"
METADATA_REVISION = "revbridge_contract_revision"
METADATA_TERM_END = "revbridge_term_end"


class StripeCustomer(TypedDict, total=False):
    id: str
    name: str | None
    email: str | None
    currency: str | None
    metadata: dict[str, str]
    deleted: bool
    test_clock: str | dict[str, Any] | None


class StripeSubscription(TypedDict, total=False):
    id: str
    customer: str | dict[str, Any]
    status: str
    metadata: dict[str, str]
    latest_invoice: str | dict[str, Any] | None
    items: StripeList
    currency: str | None
    ended_at: int | None


class StripePeriod(TypedDict):
    start: int
    end: int


class StripeLineItem(TypedDict, total=False):
    id: str
    amount: int
    currency: str
    description: str | None
    quantity: int | None
    period: StripePeriod
    pricing: dict[str, Any] | None
    metadata: dict[str, str]


class StripeInvoicePayment(TypedDict, total=False):
    id: str
    invoice: str
    amount_paid: int | None
    amount_requested: int
    currency: str
    status: str
    payment: dict[str, Any]
    status_transitions: dict[str, int | None]


class StripeList(TypedDict, total=False):
    object: str
    data: list[Any]
    has_more: bool
    url: str


class StripeInvoice(TypedDict, total=False):
    id: str
    number: str | None
    customer: str | dict[str, Any]
    status: str
    currency: str
    total: int
    amount_paid: int
    amount_due: int
    created: int
    due_date: int | None
    effective_at: int | None
    status_transitions: dict[str, int | None]
    parent: dict[str, Any] | None
    lines: StripeList
    payments: StripeList
    amount_remaining: int
    attempt_count: int
    next_payment_attempt: int | None


class StripeCreditNote(TypedDict, total=False):
    id: str
    number: str | None
    invoice: str | dict[str, Any]
    customer: str | dict[str, Any]
    status: str
    currency: str
    total: int
    pre_payment_amount: int
    post_payment_amount: int
    refunds: list[dict[str, Any]]
    effective_at: int | None
    created: int
    memo: str | None
    lines: StripeList


class StripeRefund(TypedDict, total=False):
    id: str
    amount: int
    charge: str | dict[str, Any] | None
    payment_intent: str | dict[str, Any] | None
    currency: str
    status: str
    created: int


class StripeDispute(TypedDict, total=False):
    id: str
    amount: int
    charge: str | dict[str, Any] | None
    payment_intent: str | dict[str, Any] | None
    currency: str
    status: str
    reason: str | None
    created: int


class StripeEvent(TypedDict, total=False):
    id: str
    type: str
    created: int
    data: dict[str, Any]
