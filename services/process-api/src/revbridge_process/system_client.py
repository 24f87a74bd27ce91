"""Typed async client of the system API, the one layer the process API calls.

It returns canonical models and translates the system API's answers into this service's errors
at one edge (``_translate``): 404, 409, 422, 429 and 503 each mean something different to a flow.
"""

from __future__ import annotations

import email.utils
import time
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
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


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"system API answered {response.status_code}"
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
    return f"system API answered {response.status_code}: {detail or 'no detail'}"


def _translate(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    if status == 404:
        raise SystemNotFound(detail)
    if status == 409:
        raise SystemConflict(detail)
    if status == 429:
        raise SystemRateLimited(detail, retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        raise SystemUnavailable(detail, retry_after_seconds(response.headers.get("Retry-After")))
    raise SystemRejected(detail)


def _p(value: str) -> str:
    return quote(value, safe="")


class SystemApi:
    """Implements ``ports.SystemPort`` over HTTP."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def _call(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: BaseModel | None = None,
    ) -> M:
        json = body.model_dump(mode="json") if body is not None else None
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.TransportError as exc:
            raise SystemUnavailable(f"system API unreachable: {type(exc).__name__}") from exc
        _translate(response)
        return model.model_validate_json(response.content)

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

    async def list_erp_transactions(self, record_type: str, cursor: str | None = None) -> ErpTransactionPage:
        params = {"record_type": record_type, "limit": "1000"} | ({"cursor": cursor} if cursor else {})
        return await self._call(ErpTransactionPage, "GET", "/v1/erp/transactions", params=params)
