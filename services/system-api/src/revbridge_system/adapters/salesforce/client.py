"""Salesforce adapter facade: OAuth client credentials, SOQL, write-back, and the signed push check.

The access token is fetched with the client-credentials grant (HTTP Basic client auth), cached,
and refreshed once when a call answers 401 ``INVALID_SESSION_ID``. Queries follow
``nextRecordsUrl`` until ``done``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json as _json
import logging
import time
from typing import Any, cast

import aiohttp
from revbridge_contracts import http
from revbridge_contracts.models import (
    BillingLink,
    Contract,
    ContractLine,
    ContractPage,
    ContractStatus,
    Customer,
    DunningStatus,
)

from revbridge_system.adapters.salesforce import cpq, mappers
from revbridge_system.adapters.salesforce.errors import SalesforceStatus, first_error, salesforce_errors
from revbridge_system.adapters.salesforce.settings import SalesforceSettings
from revbridge_system.adapters.salesforce.types import SfAccount, SfContract, SfLineItem, SfQueryResult
from revbridge_system.errors import BadRequest, NotFound, field_error

log = logging.getLogger("revbridge_system.salesforce")
SIGNATURE_HEADER = "X-Revbridge-Signature"


def verify_signature(
    secret: str, header: str | None, raw_body: bytes, *, tolerance: int, now: float | None = None
) -> None:
    """Check ``t=<ts>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; 400 naming the header otherwise."""
    if not header:
        raise field_error(BadRequest, SIGNATURE_HEADER, "missing signature header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise field_error(BadRequest, SIGNATURE_HEADER, "no timestamp") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise field_error(BadRequest, SIGNATURE_HEADER, "timestamp outside the tolerance window")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise field_error(BadRequest, SIGNATURE_HEADER, "signature does not verify")


def check_id(value: str, name: str) -> str:
    if not mappers.is_valid_id(value):
        raise field_error(BadRequest, name, "not a Salesforce id (15 or 18 letters and digits)")
    return value


class SalesforceCrm:
    """The CRM port over Salesforce REST."""

    def __init__(self, settings: SalesforceSettings) -> None:
        self._settings = settings
        self._base = settings.instance_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None  # made in the event loop, on first use
        self._data = f"/services/data/v{settings.api_version}"
        self._token: str | None = None
        self._token_lock = asyncio.Lock()
        self._fields = cpq.load_fields(settings.config_dir)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _send(self, method: str, path: str, **kwargs: Any) -> http.Reply:
        if self._session is None:
            self._session = http.session(self._settings.timeout_seconds)
        return await http.send(self._session, method, self._base + path, **kwargs)

    def verify_callout(self, header: str | None, raw_body: bytes) -> None:
        verify_signature(
            self._settings.callout_secret.get_secret_value(),
            header,
            raw_body,
            tolerance=self._settings.callout_tolerance_seconds,
        )

    # --- transport ------------------------------------------------------------------------

    async def _fetch_token(self, stale: str | None) -> str:
        async with self._token_lock:
            if self._token is not None and self._token != stale:
                return self._token  # another task already refreshed it
            basic = aiohttp.encode_basic_auth(
                self._settings.client_id, self._settings.client_secret.get_secret_value()
            )
            with salesforce_errors("token"):
                reply = await self._send(
                    "POST",
                    "/services/oauth2/token",
                    form={"grant_type": "client_credentials"},
                    headers={"Authorization": basic},
                )
                SalesforceStatus.check(reply)
            self._token = str(reply.json()["access_token"])
            log.info("salesforce.token.issued")
            return self._token

    async def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> http.Reply:
        token = self._token or await self._fetch_token(None)
        body = None if json is None else _json.dumps(json).encode()
        with salesforce_errors(what):
            for attempt in range(2):
                reply = await self._send(
                    method, path, params=params, body=body, headers={"Authorization": f"Bearer {token}"}
                )
                expired = reply.status == 401 and first_error(reply).get("errorCode") == "INVALID_SESSION_ID"
                if not expired or attempt:
                    break
                token = await self._fetch_token(token)
            SalesforceStatus.check(reply)
        return reply

    async def query(self, soql: str, what: str) -> list[dict[str, Any]]:
        """Every record of ``soql``, following ``nextRecordsUrl``."""
        reply = await self._request("GET", f"{self._data}/query", what, params={"q": soql})
        result = cast(SfQueryResult, reply.json())
        records = list(result.get("records", []))
        while not result.get("done", True) and result.get("nextRecordsUrl"):
            reply = await self._request("GET", result["nextRecordsUrl"], what)
            result = cast(SfQueryResult, reply.json())
            records += result.get("records", [])
        return records

    # --- CRM operations -------------------------------------------------------------------

    async def _lines_by_contract(self, contract_ids: list[str]) -> dict[str, list[SfLineItem]]:
        out: dict[str, list[SfLineItem]] = {cid: [] for cid in contract_ids}
        if not contract_ids:
            return out
        for row in await self.query(mappers.lines_query(contract_ids), "query contract lines"):
            contract_id = (row.get("Opportunity") or {}).get("ContractId")
            if contract_id in out:
                out[contract_id].append(cast(SfLineItem, row))
            elif len(contract_ids) == 1:
                out[contract_ids[0]].append(cast(SfLineItem, row))
        return out

    async def _cpq_lines(self, raws: list[SfContract]) -> dict[str, list[ContractLine]]:
        """Each contract's CPQ subscription lines (one per segment), with a usage line's rates."""
        out: dict[str, list[ContractLine]] = {r["Id"]: [] for r in raws}
        if self._fields.source != "cpq" or not raws:
            return out
        currency = {r["Id"]: mappers.contract_currency(r) for r in raws}
        subs = await self.query(
            cpq.subscriptions_query(self._fields, list(out)), "query contract subscriptions"
        )
        rates: dict[str, list[dict[str, Any]]] = {}
        usage = [str(s["Id"]) for s in subs if cpq.value(s, self._fields.subscription.charge_type) == "Usage"]
        if usage:
            for rate in await self.query(cpq.rates_query(self._fields, usage), "query consumption rates"):
                rates.setdefault(str(cpq.value(rate, self._fields.rates.subscription)), []).append(rate)
        for sub in subs:
            contract_id = str(cpq.value(sub, self._fields.subscription.contract))
            if contract_id in out:
                out[contract_id].append(
                    cpq.to_line(sub, self._fields, currency[contract_id], rates.get(str(sub["Id"]), []))
                )
        return out

    async def _contracts(self, raws: list[SfContract]) -> list[Contract]:
        cpq_lines = await self._cpq_lines(raws)
        plain = [r["Id"] for r in raws if not cpq_lines[r["Id"]]]
        lines = await self._lines_by_contract(plain)
        return [mappers.to_contract(r, lines.get(r["Id"], []), cpq_lines[r["Id"]]) for r in raws]

    async def get_contract(self, contract_id: str) -> Contract:
        check_id(contract_id, "contract_id")
        rows = await self.query(mappers.contract_query(contract_id), "query contract")
        if not rows:
            raise NotFound(f"no contract {contract_id}")
        return (await self._contracts([cast(SfContract, rows[0])]))[0]

    async def list_contracts(
        self,
        status: ContractStatus | None,
        modified_after: dt.datetime | None,
        limit: int,
        cursor: str | None,
        modified_before: dt.datetime | None = None,
    ) -> ContractPage:
        try:
            after = mappers.decode_cursor(cursor) if cursor else None
        except ValueError as exc:
            raise field_error(BadRequest, "cursor", "not a cursor this API issued") from exc
        rows = await self.query(
            mappers.list_contracts_query(status, modified_after, after, limit, until=modified_before),
            "query contracts",
        )
        fresh = [r for r in rows if modified_after is None or mappers.position(r)[0] > modified_after]
        if modified_before is not None:
            fresh = [r for r in fresh if mappers.position(r)[0] <= modified_before]
        items = await self._contracts([cast(SfContract, r) for r in fresh])
        next_cursor = mappers.encode_cursor(mappers.position(rows[-1])) if len(rows) == limit else None
        return ContractPage(items=items, next_cursor=next_cursor)

    async def get_account(self, account_id: str) -> Customer:
        check_id(account_id, "account_id")
        rows = await self.query(mappers.account_query(account_id), "query account")
        if not rows:
            raise NotFound(f"no account {account_id}")
        return mappers.to_customer(cast(SfAccount, rows[0]))

    async def put_billing_link(self, contract_id: str, link: BillingLink) -> Contract:
        check_id(contract_id, "contract_id")
        rows = await self.query(mappers.contract_query(contract_id), "query contract")
        if not rows:
            raise NotFound(f"no contract {contract_id}")
        if mappers.link_unchanged(cast(SfContract, rows[0]), link):
            log.info("salesforce.billing_link.unchanged", extra={"contract_id": contract_id})
            return await self.get_contract(contract_id)
        account_id = rows[0]["AccountId"]
        await self._request(
            "PATCH",
            f"{self._data}/sobjects/Contract/{contract_id}",
            "update contract",
            json=mappers.contract_patch(link),
        )
        await self._request(
            "PATCH",
            f"{self._data}/sobjects/Account/{account_id}",
            "update account",
            json=mappers.account_patch(link),
        )
        log.info(
            "salesforce.billing_link.written",
            extra={"contract_id": contract_id, "billing_status": link.billing_status},
        )
        return await self.get_contract(contract_id)

    async def put_dunning_status(self, contract_id: str, status: DunningStatus) -> Contract:
        """Write the collection status to the contract and its account.

        Converges rather than appends: a settled invoice (``billing_status`` other than past due)
        clears the fields only if the contract's dunning is about that invoice, so a late
        notification about an old invoice never hides a newer one that is still past due.
        """
        check_id(contract_id, "contract_id")
        rows = await self.query(mappers.contract_query(contract_id), "query contract")
        if not rows:
            raise NotFound(f"no contract {contract_id}")
        raw = cast(SfContract, rows[0])
        clear = status.billing_status != mappers.PAST_DUE
        current = raw.get("Dunning_Invoice_Id__c")
        if clear and current not in (None, "", status.invoice_id):
            return await self.get_contract(contract_id)
        patch = mappers.dunning_patch(status, clear=clear)
        for sobject, record_id in (("Contract", contract_id), ("Account", raw["AccountId"])):
            await self._request(
                "PATCH",
                f"{self._data}/sobjects/{sobject}/{record_id}",
                f"update {sobject.lower()}",
                json=patch,
            )
        log.info(
            "salesforce.dunning_status.written",
            extra={"contract_id": contract_id, "billing_status": status.billing_status},
        )
        return await self.get_contract(contract_id)

    async def activated_since(self, watermark: dt.datetime | None) -> list[dict[str, Any]]:
        """One polling page: activated contracts at or after ``watermark``, in (SystemModstamp, Id) order."""
        return await self.query(mappers.poll_query(watermark), "poll contracts")
