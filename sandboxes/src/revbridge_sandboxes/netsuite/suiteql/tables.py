"""The SuiteQL tables the sandbox exposes, built from the record store at query time.

Column names are SuiteQL's (lower-case, e.g. ``foreignamountunpaid``); transaction ``status`` is
the one-letter code SuiteQL returns (invoice A = Open, B = Paid In Full; credit memo A = Open,
B = Fully Applied), not the display text. ``transaction.type`` is CustInvc, CustPymt, CustCred,
CustRfnd or Journal; ``transactionline`` comes from ``lines``.
"""

from __future__ import annotations

from ..state import Record, SandboxState
from .evaluate import Row, Table
from .lines import LINE_COLUMNS, transaction_lines

INVOICE_STATUS = {"Open": "A", "Paid In Full": "B"}
CREDIT_STATUS = {"Open": "A", "Fully Applied": "B"}
JOURNAL_APPROVED = "B"
ITEM_TYPES = {"serviceSaleItem": "Service", "nonInventorySaleItem": "NonInvtPart"}
PAYMENT_STATUS = "C"  # Deposited / Not Deposited share the base code in this sandbox


def build_tables(state: SandboxState) -> dict[str, Table]:
    return {
        "customer": Table(
            ("id", "entityid", "companyname", "externalid", "subsidiary", "currency", "email"),
            [_customer(r) for r in _sorted(state.table("customer"))],
        ),
        "transaction": Table(
            (
                "id",
                "tranid",
                "type",
                "entity",
                "externalid",
                "status",
                "foreigntotal",
                "foreignamountpaid",
                "foreignamountunpaid",
                "currency",
                "trandate",
                "subsidiary",
                "memo",
            ),
            sorted(
                [_invoice(r) for r in state.table("invoice").values()]
                + [_payment(r) for r in state.table("customerpayment").values()]
                + [_credit_memo(r) for r in state.table("creditMemo").values()]
                + [_refund(r) for r in state.table("customerRefund").values()]
                + [_journal(r) for r in state.table("journalEntry").values()],
                key=lambda row: row["id"],
            ),
        ),
        "transactionline": Table(LINE_COLUMNS, transaction_lines(state)),
        "currency": Table(
            ("id", "symbol", "name"),
            [
                {"id": int(r["id"]), "symbol": r["symbol"], "name": r["name"]}
                for r in _sorted(state.table("currency"))
            ],
        ),
        "subsidiary": Table(
            ("id", "name", "country", "currency"),
            [
                {
                    "id": int(r["id"]),
                    "name": r["name"],
                    "country": r["country"],
                    "currency": int(r["currency"]),
                }
                for r in _sorted(state.table("subsidiary"))
            ],
        ),
        "item": Table(
            ("id", "itemid", "displayname", "itemtype", "incomeaccount", "externalid"),
            sorted(
                (
                    {
                        "id": int(r["id"]),
                        "itemid": r["itemId"],
                        "displayname": r["displayName"],
                        "itemtype": item_type,
                        "incomeaccount": int(r["incomeAccount"]),
                        "externalid": r.get("externalId"),
                    }
                    for record_type, item_type in ITEM_TYPES.items()
                    for r in state.table(record_type).values()
                ),
                key=lambda row: row["id"],
            ),
        ),
        "account": Table(
            ("id", "acctname", "accttype"),
            [
                {"id": int(r["id"]), "acctname": r["acctName"], "accttype": r["acctType"]}
                for r in _sorted(state.table("account"))
            ],
        ),
    }


def _sorted(table: dict[str, Record]) -> list[Record]:
    return [table[key] for key in sorted(table, key=int)]


def _customer(r: Record) -> Row:
    return {
        "id": int(r["id"]),
        "entityid": r.get("entityId"),
        "companyname": r.get("companyName"),
        "externalid": r.get("externalId"),
        "subsidiary": int(r["subsidiary"]),
        "currency": int(r["currency"]),
        "email": r.get("email"),
    }


def _invoice(r: Record) -> Row:
    return {
        "id": int(r["id"]),
        "tranid": r.get("tranId"),
        "type": "CustInvc",
        "entity": int(r["entity"]),
        "externalid": r.get("externalId"),
        "status": INVOICE_STATUS[r["status"]],
        "foreigntotal": r["total"],
        "foreignamountpaid": r["amountPaid"],
        "foreignamountunpaid": r["amountRemaining"],
        "currency": int(r["currency"]),
        "trandate": r["tranDate"],
        "subsidiary": int(r["subsidiary"]),
        "memo": r.get("memo"),
    }


def _payment(r: Record) -> Row:
    return {
        "id": int(r["id"]),
        "tranid": r.get("tranId"),
        "type": "CustPymt",
        "entity": int(r["customer"]),
        "externalid": r.get("externalId"),
        "status": PAYMENT_STATUS,
        "foreigntotal": r["payment"],
        "foreignamountpaid": None,
        "foreignamountunpaid": None,
        "currency": int(r["currency"]),
        "trandate": r["tranDate"],
        "subsidiary": int(r["subsidiary"]),
        "memo": r.get("memo"),
    }


def _credit_memo(r: Record) -> Row:
    return {
        **_invoice({**r, "status": "Open", "amountPaid": None, "amountRemaining": None}),
        "type": "CustCred",
        "status": CREDIT_STATUS[r["status"]],
        "foreignamountpaid": r["applied"],
        "foreignamountunpaid": r["unapplied"],
    }


def _refund(r: Record) -> Row:
    return {
        **_payment({**r, "payment": r["total"]}),
        "type": "CustRfnd",
        "status": None,
    }


def _journal(r: Record) -> Row:
    return {
        "id": int(r["id"]),
        "tranid": r.get("tranId"),
        "type": "Journal",
        "entity": None,
        "externalid": r.get("externalId"),
        "status": JOURNAL_APPROVED,
        "foreigntotal": r["total"],
        "foreignamountpaid": None,
        "foreignamountunpaid": None,
        "currency": int(r["currency"]),
        "trandate": r["tranDate"],
        "subsidiary": int(r["subsidiary"]),
        "memo": r.get("memo"),
    }
