"""What the HTTP layer needs from each platform, as Protocols; the adapters implement them.

Routes depend on these ports (via ``deps.py``), never on the adapter modules, so the HTTP layer
never pulls a vendor SDK in (import-linter ``stripe-sdk-confined``) and tests can pass fakes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from revbridge_contracts.events import EventEnvelope
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


class BillingPort(Protocol):
    def verify_webhook(self, account: str, raw_body: bytes, signature: str | None) -> Mapping[str, Any]: ...
    def to_envelope(
        self, event: Any, account: str, trace: dict[str, str], correlation_id: str | None
    ) -> EventEnvelope | None: ...
    async def upsert_customer(
        self, account: str, crm_account_id: str, cmd: BillingCustomerUpsert
    ) -> BillingCustomer: ...
    async def upsert_subscription(
        self, account: str, crm_contract_id: str, cmd: SubscriptionUpsert
    ) -> Subscription: ...
    async def get_invoice(self, account: str, invoice_id: str) -> Invoice: ...
    async def list_invoices(self, account: str, limit: int, cursor: str | None) -> InvoicePage: ...
    async def get_credit_note(self, account: str, credit_note_id: str) -> CreditNote: ...
    async def list_charge_refunds(self, account: str, charge_id: str) -> RefundPage: ...
    async def list_events(
        self,
        account: str,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
        cursor: str | None,
    ) -> BillingEventPage: ...
    async def list_subscriptions(self, account: str, limit: int, cursor: str | None) -> SubscriptionPage: ...
    async def list_invoice_summaries(self, account: str, limit: int, cursor: str | None) -> InvoicePage: ...
    async def list_credit_notes(self, account: str, limit: int, cursor: str | None) -> CreditNotePage: ...
    async def list_refunds(self, account: str, limit: int, cursor: str | None) -> RefundPage: ...


class CrmPort(Protocol):
    def verify_callout(self, header: str | None, raw_body: bytes) -> None: ...
    async def get_contract(self, contract_id: str) -> Contract: ...
    async def list_contracts(
        self,
        status: ContractStatus | None,
        modified_after: dt.datetime | None,
        limit: int,
        cursor: str | None,
        modified_before: dt.datetime | None = None,
    ) -> ContractPage: ...
    async def get_account(self, account_id: str) -> Customer: ...
    async def put_billing_link(self, contract_id: str, link: BillingLink) -> Contract: ...
    async def put_dunning_status(self, contract_id: str, status: DunningStatus) -> Contract: ...


class ErpPort(Protocol):
    async def upsert_customer(self, external_id: str, cmd: ErpCustomerUpsert) -> ErpRef: ...
    async def get_customer(self, external_id: str) -> ErpRef: ...
    async def upsert_invoice(self, external_id: str, cmd: ErpInvoiceUpsert) -> ErpRef: ...
    async def upsert_payment(self, external_id: str, cmd: ErpPaymentUpsert) -> ErpRef: ...
    async def get_transaction(self, record_type: str, external_id: str) -> ErpTransaction: ...
    async def list_transactions(self, kind: str, limit: int, offset: int) -> ErpTransactionPage: ...
    async def upsert_credit_memo(self, external_id: str, cmd: ErpCreditMemoUpsert) -> ErpRef: ...
    async def delete_credit_memo(self, external_id: str) -> None: ...
    async def upsert_refund(self, external_id: str, cmd: ErpRefundUpsert) -> ErpRef: ...
    async def upsert_journal_entry(self, external_id: str, cmd: ErpJournalEntryUpsert) -> ErpRef: ...
