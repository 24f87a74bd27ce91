"""The ``transactionline`` SuiteQL table: one main line per transaction plus its detail lines.

Enough for reconciliation: each row names its ``transaction``, ``item`` (sales lines), ``account``
and ``amount``. Line 0 is the main line (``mainline = 'T'``: receivables for invoices and credit
memos, the bank/undeposited account for payments and refunds); journal lines carry ``debit`` or
``credit`` and a signed ``amount`` (debit positive). Amounts are in the transaction currency and
positive as entered, rather than NetSuite's posting signs.
"""

from __future__ import annotations

from typing import Any

from ..state import Record, SandboxState
from .evaluate import Row

LINE_COLUMNS = (
    "id",
    "transaction",
    "linesequencenumber",
    "mainline",
    "item",
    "quantity",
    "rate",
    "amount",
    "foreignamount",
    "account",
    "debit",
    "credit",
    "memo",
    "entity",
)
RECEIVABLES = 1
INCOME = 4


def _row(tx: Record, number: int, **values: Any) -> Row:
    row: Row = dict.fromkeys(LINE_COLUMNS)
    row.update(id=number, transaction=int(tx["id"]), linesequencenumber=number, mainline="F")
    row.update(values)
    row["foreignamount"] = row["amount"]
    return row


def _sales(state: SandboxState, record_type: str) -> list[Row]:
    items = {**state.table("serviceSaleItem"), **state.table("nonInventorySaleItem")}
    rows = []
    for tx in state.table(record_type).values():
        entity = int(tx["entity"])
        rows.append(_row(tx, 0, mainline="T", amount=tx["total"], account=RECEIVABLES, entity=entity))
        for line in tx["item"]:
            item = items.get(line["item"])
            account = int(item["incomeAccount"]) if item else INCOME
            rows.append(
                _row(
                    tx,
                    line["line"],
                    item=int(line["item"]),
                    quantity=line["quantity"],
                    rate=line["rate"],
                    amount=line["amount"],
                    account=account,
                    memo=line.get("description"),
                    entity=entity,
                )
            )
    return rows


def _money_moves(state: SandboxState, record_type: str, amount_field: str) -> list[Row]:
    return [
        _row(
            tx,
            0,
            mainline="T",
            amount=tx[amount_field],
            account=int(tx["account"]),
            entity=int(tx["customer"]),
            memo=tx.get("memo"),
        )
        for tx in state.table(record_type).values()
    ]


def _journals(state: SandboxState) -> list[Row]:
    rows = []
    for tx in state.table("journalEntry").values():
        for line in tx["line"]:
            debit, credit = line.get("debit"), line.get("credit")
            rows.append(
                _row(
                    tx,
                    line["line"],
                    amount=debit if debit is not None else -credit,
                    account=int(line["account"]),
                    debit=debit,
                    credit=credit,
                    memo=line.get("memo"),
                    entity=int(line["entity"]) if line.get("entity") else None,
                )
            )
    return rows


def transaction_lines(state: SandboxState) -> list[Row]:
    rows = (
        _sales(state, "invoice")
        + _sales(state, "creditMemo")
        + _money_moves(state, "customerpayment", "payment")
        + _money_moves(state, "customerRefund", "total")
        + _journals(state)
    )
    return sorted(rows, key=lambda row: (row["transaction"], row["id"]))
