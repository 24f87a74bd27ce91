"""What the flows need from the world, as Protocols: the system API and the integration's own state.

The composition roots (the app's lifespan, the worker's ``bootstrap``) wire the real
implementations; unit tests hand the flows small fakes that implement the same ports.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from revbridge_contracts.facts import Fact
from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    BillingEventPage,
    BillingLink,
    Contract,
    ContractPage,
    ContractStatus,
    CreditNote,
    CreditNotePage,
    Customer,
    Dispute,
    DisputePage,
    DunningStatus,
    ErpCreditMemoUpsert,
    ErpCustomerUpsert,
    ErpInvoiceUpsert,
    ErpJournalEntryUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpRefundUpsert,
    ErpTransaction,
    ErpTransactionPage,
    Invoice,
    InvoicePage,
    RefundPage,
    Subscription,
    SubscriptionPage,
    SubscriptionUpsert,
)
from revbridge_contracts.process import ErrorClass, ExceptionRecord, OnboardingStatus
from revbridge_contracts.usage import MeterEventBatch, MeterEventBatchResult, TestClock

from revbridge_process.usage.directory import DirectoryEntry


class SystemPort(Protocol):
    """The system API's operations the flows use; each returns canonical models or raises ``errors``."""

    async def get_contract(self, contract_id: str) -> Contract: ...

    async def list_contracts(
        self, status: ContractStatus | None = None, cursor: str | None = None
    ) -> ContractPage: ...

    async def put_billing_link(self, contract_id: str, link: BillingLink) -> Contract: ...

    async def get_account(self, account_id: str) -> Customer: ...

    async def upsert_billing_customer(
        self, account: str, crm_account_id: str, command: BillingCustomerUpsert
    ) -> BillingCustomer: ...

    async def upsert_subscription(
        self, account: str, crm_contract_id: str, command: SubscriptionUpsert
    ) -> Subscription: ...

    async def list_invoices(self, account: str, cursor: str | None = None) -> InvoicePage: ...

    async def get_invoice(self, account: str, invoice_id: str) -> Invoice: ...

    async def get_erp_customer(self, external_id: str) -> ErpRef: ...

    async def upsert_erp_customer(self, external_id: str, command: ErpCustomerUpsert) -> ErpRef: ...

    async def get_erp_invoice(self, external_id: str) -> ErpTransaction: ...

    async def upsert_erp_invoice(self, external_id: str, command: ErpInvoiceUpsert) -> ErpRef: ...

    async def get_erp_payment(self, external_id: str) -> ErpTransaction: ...

    async def upsert_erp_payment(self, external_id: str, command: ErpPaymentUpsert) -> ErpRef: ...

    async def list_erp_transactions(
        self, record_type: str, cursor: str | None = None
    ) -> ErpTransactionPage: ...

    # --- dunning, voids, credits, refunds and revenue (issue 4) ---------------------------

    async def put_dunning_status(self, contract_id: str, status: DunningStatus) -> Contract: ...

    async def get_credit_note(self, account: str, credit_note_id: str) -> CreditNote: ...

    async def list_charge_refunds(self, account: str, charge_id: str) -> RefundPage: ...

    async def get_dispute(self, account: str, dispute_id: str) -> Dispute: ...

    async def get_erp_credit_memo(self, external_id: str) -> ErpTransaction: ...

    async def upsert_erp_credit_memo(self, external_id: str, command: ErpCreditMemoUpsert) -> ErpRef: ...

    async def delete_erp_credit_memo(self, external_id: str) -> None: ...

    async def get_erp_refund(self, external_id: str) -> ErpTransaction: ...

    async def upsert_erp_refund(self, external_id: str, command: ErpRefundUpsert) -> ErpRef: ...

    async def get_erp_journal_entry(self, external_id: str) -> ErpTransaction: ...

    async def upsert_erp_journal_entry(self, external_id: str, command: ErpJournalEntryUpsert) -> ErpRef: ...


class ListingPort(Protocol):
    """The system API's paged listings that replay by time range and reconciliation read."""

    async def list_billing_events(
        self,
        account: str,
        since: dt.datetime,
        until: dt.datetime,
        cursor: str | None = None,
        limit: int = 100,
    ) -> BillingEventPage: ...

    async def list_contracts_in_range(
        self,
        status: ContractStatus | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        cursor: str | None = None,
        limit: int = 2000,
    ) -> ContractPage: ...

    async def list_subscriptions(self, account: str, cursor: str | None = None) -> SubscriptionPage: ...

    async def list_invoice_summaries(self, account: str, cursor: str | None = None) -> InvoicePage: ...

    async def list_credit_notes(self, account: str, cursor: str | None = None) -> CreditNotePage: ...

    async def list_refunds(self, account: str, cursor: str | None = None) -> RefundPage: ...

    async def list_disputes(self, account: str, cursor: str | None = None) -> DisputePage: ...

    async def list_erp_transactions(
        self, record_type: str, cursor: str | None = None
    ) -> ErpTransactionPage: ...


class MeterPort(Protocol):
    """Usage to Stripe's meters through the system API (``usage``), and test clocks' time."""

    async def send_meter_events(self, account: str, batch: MeterEventBatch) -> MeterEventBatchResult: ...

    async def get_test_clock(self, account: str, clock_id: str) -> TestClock: ...


class StatusStore(Protocol):
    """Where each contract's onboarding stands (in PostgreSQL: ``store.PgStore``)."""

    async def get_status(self, contract_id: str) -> OnboardingStatus | None: ...

    async def put_status(self, status: OnboardingStatus) -> None: ...


@runtime_checkable
class ExceptionSink(Protocol):
    """The exception queue: one record per (flow, business key), repeats counted, not duplicated."""

    async def record_exception(
        self, flow: str, business_key: str, error_class: ErrorClass, reason: str, account: str | None = None
    ) -> ExceptionRecord: ...

    async def resolve_exception(self, flow: str, business_key: str) -> None: ...


class UsageRegistry(Protocol):
    """Where onboarding records a metered contract for usage ingestion (``usage.directory``)."""

    async def register(self, entry: DirectoryEntry) -> None: ...


class FactSink(Protocol):
    """Where flows publish ledger facts for the read models (``revbridge_process.facts``)."""

    async def publish(self, *facts: Fact) -> None: ...
