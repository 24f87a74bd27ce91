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
    BillingLink,
    Contract,
    ContractPage,
    ContractStatus,
    Customer,
    ErpCustomerUpsert,
    ErpInvoiceUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpTransaction,
    ErpTransactionPage,
    Invoice,
    InvoicePage,
    Subscription,
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


class CrmPort(Protocol):
    def verify_callout(self, header: str | None, raw_body: bytes) -> None: ...
    async def get_contract(self, contract_id: str) -> Contract: ...
    async def list_contracts(
        self,
        status: ContractStatus | None,
        modified_after: dt.datetime | None,
        limit: int,
        cursor: str | None,
    ) -> ContractPage: ...
    async def get_account(self, account_id: str) -> Customer: ...
    async def put_billing_link(self, contract_id: str, link: BillingLink) -> Contract: ...


class ErpPort(Protocol):
    async def upsert_customer(self, external_id: str, cmd: ErpCustomerUpsert) -> ErpRef: ...
    async def get_customer(self, external_id: str) -> ErpRef: ...
    async def upsert_invoice(self, external_id: str, cmd: ErpInvoiceUpsert) -> ErpRef: ...
    async def upsert_payment(self, external_id: str, cmd: ErpPaymentUpsert) -> ErpRef: ...
    async def get_transaction(self, record_type: str, external_id: str) -> ErpTransaction: ...
    async def list_transactions(self, kind: str, limit: int, offset: int) -> ErpTransactionPage: ...
