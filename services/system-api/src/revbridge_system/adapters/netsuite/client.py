"""NetSuite adapter facade: SuiteTalk REST with token-based auth (OAuth 1.0a, HMAC-SHA256).

Writes are upserts by external id (``PUT .../<type>/eid:<id>``). For money (invoices, payments,
credit memos, customer refunds and journal entries) the record is read by external id before any
write: if it exists with the same amount
it is returned untouched; after an ambiguous failure (timeout, dropped connection, 5xx) it is
looked up again before anything would be written twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast
from urllib.parse import quote

import httpx
from cachetools import TTLCache
from revbridge_contracts.models import (
    ErpCreditMemoUpsert,
    ErpCustomerUpsert,
    ErpInvoiceUpsert,
    ErpJournalEntryUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpRefundUpsert,
    ErpTransaction,
    ErpTransactionPage,
)
from revbridge_contracts.telemetry import traced

from revbridge_system.adapters.netsuite import mappers
from revbridge_system.adapters.netsuite.budget import BudgetTransport, NetSuiteBudget
from revbridge_system.adapters.netsuite.errors import is_ambiguous, netsuite_errors
from revbridge_system.adapters.netsuite.settings import NetSuiteSettings
from revbridge_system.adapters.netsuite.tba import TokenAuth
from revbridge_system.adapters.netsuite.types import NsCollection, NsRecord, NsSuiteQlRow
from revbridge_system.errors import Conflict, NotFound, Unprocessable, field_error

log = logging.getLogger("revbridge_system.netsuite")
RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
CUSTOMER_ID_TTL_SECONDS = 300.0
"""How long a customer's internal id (by external id) is reused. Every money write names its
customer, and looking it up again each time was a quarter of the NetSuite calls an invoice makes.
Internal ids never change, and NetSuite refuses to delete a customer that has transactions; a
customer deleted and made again is found afresh within this time."""
CUSTOMER_ID_CACHE_SIZE = 20_000


class NetSuiteErp:
    """The ERP port over SuiteTalk REST."""

    def __init__(self, settings: NetSuiteSettings, budget: NetSuiteBudget | None = None) -> None:
        auth = TokenAuth(
            client_id=settings.consumer_key.get_secret_value(),
            client_secret=settings.consumer_secret.get_secret_value(),
            token=settings.token_id.get_secret_value(),
            token_secret=settings.token_secret.get_secret_value(),
            realm=settings.account,
        )
        self._http = traced(
            httpx.AsyncClient(
                base_url=settings.base_url.rstrip("/"),
                auth=auth,
                timeout=settings.timeout_seconds,
                headers={"X-NetSuite-PropertyNameValidation": "error"},
                transport=BudgetTransport(budget) if budget else None,  # the account-wide budget
            )
        )
        self._currency_ids: dict[str, str] = {}  # ISO -> internal id
        self._currency_codes: dict[str, str] = {}  # internal id -> ISO
        self._currency_lock = asyncio.Lock()
        self._customer_ids: TTLCache[str, str] = TTLCache(CUSTOMER_ID_CACHE_SIZE, CUSTOMER_ID_TTL_SECONDS)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- transport ------------------------------------------------------------------------

    @staticmethod
    def _eid_path(record_type: str, external_id: str) -> str:
        return f"{RECORD}/{record_type}/eid:{quote(external_id, safe='')}"

    async def _get_eid(self, record_type: str, external_id: str) -> NsRecord | None:
        with netsuite_errors(f"get {record_type}"):
            response = await self._http.get(self._eid_path(record_type, external_id))
            if response.status_code == 404:
                return None
            response.raise_for_status()
        return cast(NsRecord, response.json())

    @staticmethod
    def _location_id(response: httpx.Response) -> str | None:
        """The internal id a write's ``Location`` names (None when it names none); raises on an error."""
        response.raise_for_status()
        tail = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        return tail if tail.isdigit() else None

    async def _put_eid(self, record_type: str, external_id: str, body: dict[str, Any]) -> str | None:
        """Upsert by external id."""
        return self._location_id(await self._http.put(self._eid_path(record_type, external_id), json=body))

    async def suiteql(self, q: str, limit: int, offset: int) -> NsCollection:
        with netsuite_errors("suiteql"):
            response = await self._http.post(
                SUITEQL,
                params={"limit": limit, "offset": offset},
                json={"q": q},
                headers={"Prefer": "transient"},
            )
            response.raise_for_status()
        return cast(NsCollection, response.json())

    async def _currencies(self) -> None:
        async with self._currency_lock:
            if self._currency_ids:
                return
            page = await self.suiteql("SELECT id, symbol FROM currency ORDER BY id", 1000, 0)
            for row in page.get("items", []):
                code, internal = str(row["symbol"]).upper(), str(row["id"])
                self._currency_ids[code] = internal
                self._currency_codes[internal] = code

    async def currency_id(self, iso: str, field: str = "currency") -> str:
        await self._currencies()
        found = self._currency_ids.get(iso)
        if found is None:
            raise field_error(Unprocessable, field, f"currency {iso} is not enabled in the ERP")
        return found

    async def currency_codes(self) -> dict[str, str]:
        await self._currencies()
        return self._currency_codes

    # --- customers ------------------------------------------------------------------------

    async def upsert_customer(self, external_id: str, cmd: ErpCustomerUpsert) -> ErpRef:
        body = mappers.customer_body(cmd, await self.currency_id(cmd.currency))
        with netsuite_errors("upsert customer"):
            internal = await self._put_eid("customer", external_id, body)
        if internal is None:
            return await self.get_customer(external_id)
        self._customer_ids[external_id] = internal
        log.info("netsuite.customer.upserted", extra={"external_id": external_id, "internal_id": internal})
        return mappers.to_ref("customer", internal, external_id)

    async def get_customer(self, external_id: str) -> ErpRef:
        record = await self._get_eid("customer", external_id)
        if record is None:
            raise NotFound(f"no ERP customer with external id {external_id}")
        self._customer_ids[external_id] = str(record["id"])
        return mappers.to_ref("customer", record["id"], external_id)

    async def _customer_internal_id(self, external_id: str) -> str:
        """The internal id a money write refers to; 409 (retry later) while the customer is missing.
        Found ids are reused for a while (``CUSTOMER_ID_TTL_SECONDS``); a missing one never is."""
        cached = self._customer_ids.get(external_id)
        if cached is not None:
            return cached
        record = await self._get_eid("customer", external_id)
        if record is None:
            raise Conflict(
                f"customer not in ERP: {external_id}",
                invalid_params=[
                    {"name": "customer_external_id", "reason": "no ERP customer with this external id"}
                ],
            )
        self._customer_ids[external_id] = internal = str(record["id"])
        return internal

    # --- money: one create per key; look up only when it was refused or its answer lost ----

    async def _existing_or_none(
        self, record_type: str, external_id: str, amount: int, currency: str
    ) -> ErpRef | None:
        found = await self._get_eid(record_type, external_id)
        if found is None:
            return None
        stored = mappers.record_amount(found, record_type, currency)
        if stored != amount:
            raise Conflict(
                f"ERP {record_type} {external_id} already exists with amount {stored}, not {amount}",
                error_class="amount_mismatch",
            )
        return mappers.to_ref(record_type, found["id"], external_id)

    async def _create(self, record_type: str, body: dict[str, Any]) -> str | None:
        """``POST`` a new record."""
        return self._location_id(await self._http.post(f"{RECORD}/{record_type}", json=body))

    async def _write_money(
        self, record_type: str, external_id: str, body: dict[str, Any], amount: int, currency: str
    ) -> ErpRef:
        """Create the record under its external id, which NetSuite keeps unique per record type, so
        a second create of the same key is refused rather than duplicated. Only then, or when the
        answer was lost (a timeout, a dropped connection, a 5xx after the write may have happened),
        is the record looked up: found with the same amount, it is the one written before."""
        try:
            internal = await self._create(record_type, {**body, "externalId": external_id})
        except (httpx.HTTPStatusError, httpx.TransportError) as exc:
            refused = isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (400, 409)
            ambiguous = is_ambiguous(exc)
            if ambiguous:
                log.warning(
                    "netsuite.write.ambiguous", extra={"record_type": record_type, "external_id": external_id}
                )
            if refused or ambiguous:
                found = await self._existing_or_none(record_type, external_id, amount, currency)
                if found is not None:
                    event = "netsuite.write.skipped_existing" if refused else "netsuite.write.recovered"
                    log.info(event, extra={"record_type": record_type, "external_id": external_id})
                    return found
            with netsuite_errors(f"create {record_type}"):
                raise
        log.info("netsuite.write.created", extra={"record_type": record_type, "external_id": external_id})
        if internal is not None:
            return mappers.to_ref(record_type, internal, external_id)
        found = await self._existing_or_none(record_type, external_id, amount, currency)
        if found is None:
            raise NotFound(f"ERP {record_type} {external_id} not readable after write")
        return found

    async def upsert_invoice(self, external_id: str, cmd: ErpInvoiceUpsert) -> ErpRef:
        customer = await self._customer_internal_id(cmd.customer_external_id)
        body = mappers.invoice_body(cmd, customer, await self.currency_id(cmd.currency))
        return await self._write_money("invoice", external_id, body, mappers.invoice_total(cmd), cmd.currency)

    async def upsert_payment(self, external_id: str, cmd: ErpPaymentUpsert) -> ErpRef:
        customer = await self._customer_internal_id(cmd.customer_external_id)
        invoice = await self._get_eid("invoice", cmd.invoice_external_id)
        if invoice is None:
            raise Conflict(
                f"invoice not in ERP: {cmd.invoice_external_id}",
                invalid_params=[
                    {"name": "invoice_external_id", "reason": "no ERP invoice with this external id"}
                ],
            )
        body = mappers.payment_body(cmd, customer, await self.currency_id(cmd.currency), str(invoice["id"]))
        return await self._write_money("customerpayment", external_id, body, cmd.amount, cmd.currency)

    async def _internal_id(self, record_type: str, external_id: str, field: str, label: str) -> str:
        """The internal id of a record another write refers to; 409 (retry later) while it is missing."""
        record = await self._get_eid(record_type, external_id)
        if record is None:
            raise Conflict(
                f"{label} not in ERP: {external_id}",
                invalid_params=[{"name": field, "reason": f"no ERP {label} with this external id"}],
            )
        return str(record["id"])

    async def upsert_credit_memo(self, external_id: str, cmd: ErpCreditMemoUpsert) -> ErpRef:
        customer = await self._customer_internal_id(cmd.customer_external_id)
        invoices = [
            await self._internal_id(
                "invoice", a.invoice_external_id, f"apply[{i}].invoice_external_id", "invoice"
            )
            for i, a in enumerate(cmd.apply)
        ]
        body = mappers.credit_memo_body(cmd, customer, await self.currency_id(cmd.currency), invoices)
        total = mappers.credit_memo_total(cmd)
        return await self._write_money("creditMemo", external_id, body, total, cmd.currency)

    async def delete_credit_memo(self, external_id: str) -> None:
        """Delete by external id; a memo already gone is success (the delete is idempotent)."""
        record = await self._get_eid("creditMemo", external_id)
        if record is None:
            return
        with netsuite_errors("delete creditMemo"):
            response = await self._http.delete(f"{RECORD}/creditMemo/{record['id']}")
            if response.status_code != 404:
                response.raise_for_status()
        log.info("netsuite.credit_memo.deleted", extra={"external_id": external_id})

    async def upsert_refund(self, external_id: str, cmd: ErpRefundUpsert) -> ErpRef:
        customer = await self._customer_internal_id(cmd.customer_external_id)
        memo = await self._internal_id(
            "creditMemo", cmd.credit_memo_external_id, "credit_memo_external_id", "credit memo"
        )
        body = mappers.refund_body(cmd, customer, await self.currency_id(cmd.currency), memo)
        return await self._write_money("customerRefund", external_id, body, cmd.amount, cmd.currency)

    async def upsert_journal_entry(self, external_id: str, cmd: ErpJournalEntryUpsert) -> ErpRef:
        customers = {
            ext: await self._customer_internal_id(ext)
            for ext in dict.fromkeys(line.customer_external_id for line in cmd.lines)
            if ext
        }
        body = mappers.journal_body(cmd, await self.currency_id(cmd.currency), customers)
        total = mappers.journal_total(cmd)
        return await self._write_money("journalEntry", external_id, body, total, cmd.currency)

    # --- reads ----------------------------------------------------------------------------

    async def get_transaction(self, record_type: str, external_id: str) -> ErpTransaction:
        record = await self._get_eid(record_type, external_id)
        if record is None:
            raise NotFound(f"no ERP {record_type} with external id {external_id}")
        return mappers.to_transaction(record, record_type, await self.currency_codes())

    async def list_transactions(self, kind: str, limit: int, offset: int) -> ErpTransactionPage:
        page = await self.suiteql(mappers.suiteql_transactions_query(kind), limit, offset)
        codes = await self.currency_codes()
        rows = [cast(NsSuiteQlRow, row) for row in page.get("items", [])]
        items = [mappers.row_to_transaction(row, kind, codes) for row in rows]
        next_cursor = str(offset + len(rows)) if page.get("hasMore") and rows else None
        return ErpTransactionPage(items=items, next_cursor=next_cursor)
