"""Pure mappings between Salesforce records and canonical models, and the SOQL the adapter sends.

Salesforce money fields are decimals in major units; canonical amounts are integers in the
contract currency's minor unit. SOQL is built here from validated ids and escaped literals only,
so no caller-supplied text reaches a query unescaped.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_contracts.models import (
    BillingLink,
    Contract,
    ContractLine,
    ContractStatus,
    Customer,
    DunningStatus,
)

from revbridge_system.adapters.salesforce.types import SfAccount, SfContract, SfLineItem
from revbridge_system.money import to_major, to_minor

ID_PATTERN = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
CONTRACT_FIELDS = (
    "Id, ContractNumber, AccountId, Status, StartDate, ContractTerm, CurrencyIsoCode, ActivatedDate, "
    "SystemModstamp, Billing_Customer_Id__c, Billing_Subscription_Id__c, ERP_Customer_Id__c, "
    "Billing_Status__c, Dunning_Invoice_Id__c"
)
LINE_FIELDS = (
    "Id, Quantity, UnitPrice, TotalPrice, Product2.ProductCode, Product2.Name, Opportunity.ContractId"
)
ACCOUNT_FIELDS = (
    "Id, Name, ParentId, BillingCountry, CurrencyIsoCode, Tax_Id__c, Tax_Exempt__c, "
    "Billing_Customer_Id__c, ERP_Customer_Id__c"
)
STATUS_FROM_SF = {"Activated": ContractStatus.activated, "Draft": ContractStatus.draft}
STATUS_TO_SF = {ContractStatus.activated: "Activated", ContractStatus.draft: "Draft"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PAST_DUE = "past_due"
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def is_valid_id(value: str) -> bool:
    return bool(ID_PATTERN.fullmatch(value))


def soql_string(value: str) -> str:
    """A quoted SOQL string literal with every special character escaped."""
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def soql_datetime(value: dt.datetime) -> str:
    """A SOQL datetime literal, floored to the second (the coarsest form every org accepts)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str | None) -> dt.datetime | None:
    """Salesforce's ``2024-05-01T12:00:00.000+0000`` (or any ISO form) as an aware UTC datetime."""
    if not value:
        return None
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value.replace("Z", "+00:00"))
    parsed = dt.datetime.fromisoformat(text)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's own datetime format, for write-back fields."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


# --- queries --------------------------------------------------------------------------------


def contract_query(contract_id: str) -> str:
    return f"SELECT {CONTRACT_FIELDS} FROM Contract WHERE Id = {soql_string(contract_id)}"


def soql_in(field: str, ids: list[str]) -> str:
    """``field = 'x'`` for one id, ``field IN ('x', 'y')`` for several (escaped literals)."""
    if len(ids) == 1:
        return f"{field} = {soql_string(ids[0])}"
    return f"{field} IN ({', '.join(soql_string(i) for i in ids)})"


def lines_query(contract_ids: list[str]) -> str:
    where = soql_in("Opportunity.ContractId", contract_ids)
    return f"SELECT {LINE_FIELDS} FROM OpportunityLineItem WHERE {where} ORDER BY Id"


def account_query(account_id: str) -> str:
    return f"SELECT {ACCOUNT_FIELDS} FROM Account WHERE Id = {soql_string(account_id)}"


def soql_datetime_ms(value: dt.datetime) -> str:
    """A SOQL datetime literal with milliseconds (SystemModstamp's precision), for exact keyset paging."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def list_contracts_query(
    status: ContractStatus | None,
    since: dt.datetime | None,
    after: tuple[dt.datetime, str] | None,
    limit: int,
    until: dt.datetime | None = None,
) -> str:
    """Contracts modified at or after ``since`` (and at or before ``until``) and strictly past the
    ``after`` keyset, oldest first."""
    where = []
    if status is ContractStatus.other:
        where.append("Status NOT IN ('Activated', 'Draft')")
    elif status is not None:
        where.append(f"Status = {soql_string(STATUS_TO_SF[status])}")
    if since is not None:
        where.append(f"SystemModstamp >= {soql_datetime(since)}")
    if until is not None:
        where.append(f"SystemModstamp <= {soql_datetime_ms(until)}")
    if after is not None:
        stamp = soql_datetime_ms(after[0])
        where.append(
            f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {soql_string(after[1])}))"
        )
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {CONTRACT_FIELDS} FROM Contract{clause} ORDER BY SystemModstamp ASC, Id ASC LIMIT {limit}"


CONTRACT_BUSINESS_FIELDS = (
    "AccountId",
    "ContractNumber",
    "Status",
    "StartDate",
    "ContractTerm",
    "CurrencyIsoCode",
    "ActivatedDate",
)
"""What onboarding reads from a Contract row: every field but the system stamps and the write-back
fields revbridge itself sets (billing ids, billing and dunning status, last sync)."""


def poll_query(watermark: dt.datetime | None, limit: int = 200) -> str:
    since = soql_datetime(watermark or EPOCH)
    return (
        f"SELECT Id, SystemModstamp, {', '.join(CONTRACT_BUSINESS_FIELDS)} FROM Contract "
        f"WHERE Status = 'Activated' AND SystemModstamp >= {since} ORDER BY SystemModstamp ASC, Id ASC "
        f"LIMIT {limit}"
    )


def position(record: dict[str, Any]) -> tuple[dt.datetime, str]:
    """Where a record sits in (SystemModstamp, Id) order: the watermark and cursor key."""
    return parse_datetime(record.get("SystemModstamp")) or EPOCH, str(record["Id"])


# --- records -> canonical -------------------------------------------------------------------


def to_contract_line(raw: SfLineItem, currency: str) -> ContractLine:
    product = raw.get("Product2") or {}
    quantity = round(raw.get("Quantity") or 0)
    unit = to_minor(raw.get("UnitPrice"), currency)
    total = raw.get("TotalPrice")
    return ContractLine(
        id=raw["Id"],
        product_code=product.get("ProductCode"),
        product_name=product.get("Name"),
        quantity=quantity,
        unit_amount=unit,
        amount=to_minor(total, currency) if total is not None else unit * quantity,
    )


def contract_currency(raw: SfContract) -> str:
    return (raw.get("CurrencyIsoCode") or "USD").upper()


def to_contract(
    raw: SfContract, lines: list[SfLineItem], cpq_lines: list[ContractLine] | None = None
) -> Contract:
    """The contract with its lines: CPQ's segment lines when it has any (``cpq_lines``), else its
    opportunity's products (``lines``)."""
    currency = contract_currency(raw)
    start = raw.get("StartDate")
    return Contract(
        id=raw["Id"],
        number=raw.get("ContractNumber"),
        account_id=raw["AccountId"],
        status=STATUS_FROM_SF.get(raw.get("Status") or "", ContractStatus.other),
        start_date=dt.date.fromisoformat(start) if start else None,
        term_months=raw.get("ContractTerm"),
        currency=currency,
        activated_at=parse_datetime(raw.get("ActivatedDate")),
        modified_at=parse_datetime(raw.get("SystemModstamp")),
        lines=cpq_lines or [to_contract_line(line, currency) for line in lines],
        billing_customer_id=raw.get("Billing_Customer_Id__c"),
        billing_subscription_id=raw.get("Billing_Subscription_Id__c"),
        erp_customer_id=raw.get("ERP_Customer_Id__c"),
        billing_status=raw.get("Billing_Status__c"),
        dunning_invoice_id=raw.get("Dunning_Invoice_Id__c"),
    )


def to_customer(raw: SfAccount) -> Customer:
    country = raw.get("BillingCountry")
    currency = raw.get("CurrencyIsoCode")
    return Customer(
        crm_account_id=raw["Id"],
        name=raw["Name"],
        parent_crm_account_id=raw.get("ParentId"),
        country=country.upper() if country and len(country) == 2 else None,
        currency=currency.upper() if currency else None,
        tax_id=raw.get("Tax_Id__c"),
        tax_exempt=bool(raw.get("Tax_Exempt__c")),
        billing_customer_id=raw.get("Billing_Customer_Id__c"),
        erp_customer_id=raw.get("ERP_Customer_Id__c"),
    )


# --- canonical -> records -------------------------------------------------------------------


def contract_patch(link: BillingLink) -> dict[str, Any]:
    """Write-back fields on the Contract; ids left null in ``link`` are not touched."""
    body: dict[str, Any] = {
        "Billing_Status__c": link.billing_status,
        "Last_Sync__c": format_datetime(link.synced_at),
    }
    for field, value in (
        ("Billing_Customer_Id__c", link.billing_customer_id),
        ("Billing_Subscription_Id__c", link.billing_subscription_id),
        ("ERP_Customer_Id__c", link.erp_customer_id),
    ):
        if value is not None:
            body[field] = value
    return body


def link_unchanged(raw: SfContract, link: BillingLink) -> bool:
    """True when the contract already holds every field ``link`` sets: the write-back is skipped, so a
    re-run flow never bumps SystemModstamp (which the poller would read as a new change)."""
    wanted = contract_patch(link)
    wanted.pop("Last_Sync__c", None)
    return all(raw.get(field) == value for field, value in wanted.items())  # type: ignore[misc]


def dunning_patch(status: DunningStatus, *, clear: bool) -> dict[str, Any]:
    """Collection status fields on the Contract (and Account): attempts, next retry, amount past due.

    ``clear`` (the invoice was settled) empties the per-invoice fields."""
    past_due = not clear
    return {
        "Billing_Status__c": status.billing_status,
        "Dunning_Invoice_Id__c": status.invoice_id if past_due else None,
        "Payment_Attempts__c": status.attempt_count if past_due else 0,
        "Next_Payment_Attempt__c": format_datetime(status.next_attempt_at)
        if past_due and status.next_attempt_at
        else None,
        "Amount_Past_Due__c": float(to_major(status.amount_due, status.currency)) if past_due else 0,
        "Last_Sync__c": format_datetime(status.synced_at),
    }


def account_patch(link: BillingLink) -> dict[str, Any]:
    body: dict[str, Any] = {"Last_Sync__c": format_datetime(link.synced_at)}
    if link.billing_customer_id is not None:
        body["Billing_Customer_Id__c"] = link.billing_customer_id
    if link.erp_customer_id is not None:
        body["ERP_Customer_Id__c"] = link.erp_customer_id
    return body


# --- pushes and polls -> events -------------------------------------------------------------


def contract_activated(
    contract_id: str, source: str, trace: dict[str, str], correlation_id: str | None
) -> EventEnvelope:
    extra = {"correlation_id": correlation_id} if correlation_id else {}
    return EventEnvelope(
        type=EventType.contract_activated,
        source=source,
        subject=contract_id,
        traceparent=trace.get("traceparent"),
        tracestate=trace.get("tracestate"),
        **extra,
    )


# --- opaque list cursor ---------------------------------------------------------------------


def encode_cursor(pos: tuple[dt.datetime, str]) -> str:
    """``<SystemModstamp>|<Id>`` of the last row served, as an opaque urlsafe token."""
    return base64.urlsafe_b64encode(f"{pos[0].isoformat()}|{pos[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, record_id = text.partition("|")
        parsed = dt.datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("malformed cursor") from exc
    if not is_valid_id(record_id):
        raise ValueError("malformed cursor")
    return parsed, record_id
