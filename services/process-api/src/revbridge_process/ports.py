"""What the flows need from the world, as Protocols: the system API and the integration's own state.

The composition roots (the app's lifespan, the worker's ``bootstrap``) wire the real
implementations; unit tests hand the flows small fakes that implement the same ports.
"""

from __future__ import annotations

from typing import Protocol

from revbridge_contracts.facts import Fact
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
from revbridge_contracts.process import ErrorClass, ExceptionRecord, OnboardingStatus


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


class StatusStore(Protocol):
    """Where each contract's onboarding stands (a working set, never the system of record)."""

    async def get_status(self, contract_id: str) -> OnboardingStatus | None: ...

    async def put_status(self, status: OnboardingStatus) -> None: ...


class ExceptionSink(Protocol):
    """The exception queue: one record per (flow, business key), repeats counted, not duplicated."""

    async def record_exception(
        self, flow: str, business_key: str, error_class: ErrorClass, reason: str, account: str | None = None
    ) -> ExceptionRecord: ...

    async def resolve_exception(self, flow: str, business_key: str) -> None: ...


class FactSink(Protocol):
    """Where flows publish ledger facts for the read models (``revbridge_process.facts``)."""

    async def publish(self, *facts: Fact) -> None: ...
