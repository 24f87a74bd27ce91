"""Typed async client of the system API, the one layer the process API calls.

It returns canonical models and translates the system API's answers into this service's errors
at one edge (``_translate``): 404, 409, 422, 429 and 503 each mean something different to a flow.

The calls go through a ``Transport``; ``HttpTransport`` sends them with ``revbridge_contracts.http``
(aiohttp, about a fifth of httpx's CPU per call; see there).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import time
from collections.abc import AsyncIterator, Mapping
from typing import Protocol, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel
from revbridge_contracts import http
from revbridge_contracts.http import Reply
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
from revbridge_contracts.usage import MeterEventBatch, MeterEventBatchResult, TestClock

from revbridge_process.errors import (
    SystemConflict,
    SystemNotFound,
    SystemRateLimited,
    SystemRejected,
    SystemUnavailable,
)

M = TypeVar("M", bound=BaseModel)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds, from either form the RFC allows (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class Transport(Protocol):
    """Sends one request to the system API; raises ``SystemUnavailable`` when no answer came."""

    async def send(
        self, method: str, path: str, params: Mapping[str, str] | None, body: bytes | None
    ) -> Reply: ...


class HttpTransport:
    """The system API over HTTP (``revbridge_contracts.http``: aiohttp, the trace context and the
    correlation id injected); no answer at all (refused, reset, timed out, cut) is
    ``SystemUnavailable``."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    async def send(
        self, method: str, path: str, params: Mapping[str, str] | None, body: bytes | None
    ) -> Reply:
        try:
            return await http.send(self._session, method, self._base + path, params=params, body=body)
        except http.NoAnswer as exc:
            raise SystemUnavailable(f"system API unreachable: {exc}") from exc


@contextlib.asynccontextmanager
async def http_transport(base_url: str, timeout_seconds: float) -> AsyncIterator[HttpTransport]:
    """An ``HttpTransport`` with its own connection pool, closed on exit."""
    async with http.session(timeout_seconds) as session:
        yield HttpTransport(session, base_url)


def _detail(reply: Reply) -> str:
    try:
        body = reply.json()
    except ValueError:
        return f"system API answered {reply.status}"
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
    return f"system API answered {reply.status}: {detail or 'no detail'}"


def _translate(reply: Reply) -> None:
    status = reply.status
    if status < 400:
        return
    detail = _detail(reply)
    if status == 404:
        raise SystemNotFound(detail)
    if status == 409:
        raise SystemConflict(detail)
    if status == 429:
        raise SystemRateLimited(detail, retry_after_seconds(reply.headers.get("Retry-After")))
    if status >= 500:
        raise SystemUnavailable(detail, retry_after_seconds(reply.headers.get("Retry-After")))
    raise SystemRejected(detail)


def _p(value: str) -> str:
    return quote(value, safe="")


class SystemApi:
    """Implements ``ports.SystemPort`` over HTTP."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _call(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: BaseModel | None = None,
    ) -> M:
        payload = body.model_dump_json().encode() if body is not None else None
        reply = await self._transport.send(method, path, params, payload)
        _translate(reply)
        return model.model_validate_json(reply.body)

    async def get_contract(self, contract_id: str) -> Contract:
        return await self._call(Contract, "GET", f"/v1/crm/contracts/{_p(contract_id)}")

    async def list_contracts(
        self, status: ContractStatus | None = None, cursor: str | None = None
    ) -> ContractPage:
        params = (
            {"limit": "2000"}
            | ({"status": status.value} if status else {})
            | ({"cursor": cursor} if cursor else {})
        )
        return await self._call(ContractPage, "GET", "/v1/crm/contracts", params=params)

    async def put_billing_link(self, contract_id: str, link: BillingLink) -> Contract:
        return await self._call(
            Contract, "PUT", f"/v1/crm/contracts/{_p(contract_id)}/billing-link", body=link
        )

    async def get_account(self, account_id: str) -> Customer:
        return await self._call(Customer, "GET", f"/v1/crm/accounts/{_p(account_id)}")

    async def upsert_billing_customer(
        self, account: str, crm_account_id: str, command: BillingCustomerUpsert
    ) -> BillingCustomer:
        path = f"/v1/billing/{_p(account)}/customers/{_p(crm_account_id)}"
        return await self._call(BillingCustomer, "PUT", path, body=command)

    async def upsert_subscription(
        self, account: str, crm_contract_id: str, command: SubscriptionUpsert
    ) -> Subscription:
        path = f"/v1/billing/{_p(account)}/subscriptions/{_p(crm_contract_id)}"
        return await self._call(Subscription, "PUT", path, body=command)

    async def list_invoices(self, account: str, cursor: str | None = None) -> InvoicePage:
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        return await self._call(InvoicePage, "GET", f"/v1/billing/{_p(account)}/invoices", params=params)

    async def get_invoice(self, account: str, invoice_id: str) -> Invoice:
        return await self._call(Invoice, "GET", f"/v1/billing/{_p(account)}/invoices/{_p(invoice_id)}")

    async def get_erp_customer(self, external_id: str) -> ErpRef:
        return await self._call(ErpRef, "GET", f"/v1/erp/customers/{_p(external_id)}")

    async def upsert_erp_customer(self, external_id: str, command: ErpCustomerUpsert) -> ErpRef:
        return await self._call(ErpRef, "PUT", f"/v1/erp/customers/{_p(external_id)}", body=command)

    async def get_erp_invoice(self, external_id: str) -> ErpTransaction:
        return await self._call(ErpTransaction, "GET", f"/v1/erp/invoices/{_p(external_id)}")

    async def upsert_erp_invoice(self, external_id: str, command: ErpInvoiceUpsert) -> ErpRef:
        return await self._call(ErpRef, "PUT", f"/v1/erp/invoices/{_p(external_id)}", body=command)

    async def get_erp_payment(self, external_id: str) -> ErpTransaction:
        return await self._call(ErpTransaction, "GET", f"/v1/erp/payments/{_p(external_id)}")

    async def upsert_erp_payment(self, external_id: str, command: ErpPaymentUpsert) -> ErpRef:
        return await self._call(ErpRef, "PUT", f"/v1/erp/payments/{_p(external_id)}", body=command)

    async def put_dunning_status(self, contract_id: str, status: DunningStatus) -> Contract:
        path = f"/v1/crm/contracts/{_p(contract_id)}/dunning-status"
        return await self._call(Contract, "PUT", path, body=status)

    async def get_credit_note(self, account: str, credit_note_id: str) -> CreditNote:
        path = f"/v1/billing/{_p(account)}/credit-notes/{_p(credit_note_id)}"
        return await self._call(CreditNote, "GET", path)

    async def list_charge_refunds(self, account: str, charge_id: str) -> RefundPage:
        path = f"/v1/billing/{_p(account)}/charges/{_p(charge_id)}/refunds"
        return await self._call(RefundPage, "GET", path)

    async def get_dispute(self, account: str, dispute_id: str) -> Dispute:
        path = f"/v1/billing/{_p(account)}/disputes/{_p(dispute_id)}"
        return await self._call(Dispute, "GET", path)

    async def get_erp_credit_memo(self, external_id: str) -> ErpTransaction:
        return await self._call(ErpTransaction, "GET", f"/v1/erp/credit-memos/{_p(external_id)}")

    async def upsert_erp_credit_memo(self, external_id: str, command: ErpCreditMemoUpsert) -> ErpRef:
        return await self._call(ErpRef, "PUT", f"/v1/erp/credit-memos/{_p(external_id)}", body=command)

    async def delete_erp_credit_memo(self, external_id: str) -> None:
        path = f"/v1/erp/credit-memos/{_p(external_id)}"
        _translate(await self._transport.send("DELETE", path, None, None))

    async def get_erp_refund(self, external_id: str) -> ErpTransaction:
        return await self._call(ErpTransaction, "GET", f"/v1/erp/refunds/{_p(external_id)}")

    async def upsert_erp_refund(self, external_id: str, command: ErpRefundUpsert) -> ErpRef:
        return await self._call(ErpRef, "PUT", f"/v1/erp/refunds/{_p(external_id)}", body=command)

    async def get_erp_journal_entry(self, external_id: str) -> ErpTransaction:
        return await self._call(ErpTransaction, "GET", f"/v1/erp/journal-entries/{_p(external_id)}")

    async def upsert_erp_journal_entry(self, external_id: str, command: ErpJournalEntryUpsert) -> ErpRef:
        path = f"/v1/erp/journal-entries/{_p(external_id)}"
        return await self._call(ErpRef, "PUT", path, body=command)

    async def send_meter_events(self, account: str, batch: MeterEventBatch) -> MeterEventBatchResult:
        path = f"/v1/billing/{_p(account)}/meter-events"
        return await self._call(MeterEventBatchResult, "POST", path, body=batch)

    async def get_test_clock(self, account: str, clock_id: str) -> TestClock:
        path = f"/v1/billing/{_p(account)}/test-clocks/{_p(clock_id)}"
        return await self._call(TestClock, "GET", path)

    async def list_erp_transactions(self, record_type: str, cursor: str | None = None) -> ErpTransactionPage:
        params = {"record_type": record_type, "limit": "1000"} | ({"cursor": cursor} if cursor else {})
        return await self._call(ErpTransactionPage, "GET", "/v1/erp/transactions", params=params)

    # --- listings for replay by time range and reconciliation ------------------------------

    async def list_billing_events(
        self,
        account: str,
        since: dt.datetime,
        until: dt.datetime,
        cursor: str | None = None,
        limit: int = 100,
    ) -> BillingEventPage:
        params = {"since": since.isoformat(), "until": until.isoformat(), "limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        path = f"/v1/billing/{_p(account)}/events"
        return await self._call(BillingEventPage, "GET", path, params=params)

    async def list_contracts_in_range(
        self,
        status: ContractStatus | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        cursor: str | None = None,
        limit: int = 2000,
    ) -> ContractPage:
        params = {"limit": str(limit)} | ({"status": status.value} if status else {})
        if since is not None:
            params["modified_after"] = since.isoformat()
        if until is not None:
            params["modified_before"] = until.isoformat()
        if cursor:
            params["cursor"] = cursor
        return await self._call(ContractPage, "GET", "/v1/crm/contracts", params=params)

    async def list_subscriptions(self, account: str, cursor: str | None = None) -> SubscriptionPage:
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        path = f"/v1/billing/{_p(account)}/subscriptions"
        return await self._call(SubscriptionPage, "GET", path, params=params)

    async def list_invoice_summaries(self, account: str, cursor: str | None = None) -> InvoicePage:
        params = {"limit": "100", "lines": "false"} | ({"cursor": cursor} if cursor else {})
        return await self._call(InvoicePage, "GET", f"/v1/billing/{_p(account)}/invoices", params=params)

    async def list_credit_notes(self, account: str, cursor: str | None = None) -> CreditNotePage:
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        path = f"/v1/billing/{_p(account)}/credit-notes"
        return await self._call(CreditNotePage, "GET", path, params=params)

    async def list_disputes(self, account: str, cursor: str | None = None) -> DisputePage:
        """A page of the account's disputes, newest first (amount, currency, status; no invoice)."""
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        path = f"/v1/billing/{_p(account)}/disputes"
        return await self._call(DisputePage, "GET", path, params=params)

    async def list_refunds(self, account: str, cursor: str | None = None) -> RefundPage:
        """A page of the account's refunds, newest first (amount, currency, status; no invoice)."""
        params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
        path = f"/v1/billing/{_p(account)}/refunds"
        return await self._call(RefundPage, "GET", path, params=params)
