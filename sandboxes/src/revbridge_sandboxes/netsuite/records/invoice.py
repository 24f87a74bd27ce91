"""The ``invoice`` record: customer invoices with an ``item`` sublist of service lines.

Rules: ``entity`` must be an existing customer; subsidiary and currency default to the
customer's and must equal them; lines need an existing item and an amount (or a rate);
``total`` is the sum of line amounts; ``amountPaid``/``amountRemaining``/``status`` follow the
customer payments applied to it (kept current by ``refresh``).
"""

from __future__ import annotations

from typing import Any

from ..errors import field_required, lines_required, user_error
from ..state import Record, SandboxState
from .common import existing, iso_date, money, now_iso, ref_id, sublist_lines, text, today, unique_external_id
from .items import find_item
from .kinds import RecordKind
from .ledger import applied_to

HEADER_TEXT = ("externalId", "memo", "otherRefNum", "tranId")
PAID_BY = ("customerpayment", "creditMemo")
LINE_FIELDS = frozenset(
    {
        "item",
        "quantity",
        "rate",
        "amount",
        "description",
        "custcol_service_start",
        "custcol_service_end",
        "line",
    }
)


def item_lines(state: SandboxState, raw_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validated ``item`` sublist lines (shared with credit memos)."""
    if not raw_lines:
        raise lines_required("item")
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        where = f"item.items[{number - 1}]"
        item_id = ref_id(raw, "item", required=True, label="Item", path=f"{where}.item")
        assert item_id is not None
        find_item(state, item_id, path=f"{where}.item")
        quantity = money(raw.get("quantity", 1), f"{where}.quantity")
        rate = money(raw["rate"], f"{where}.rate") if raw.get("rate") is not None else None
        if raw.get("amount") is not None:
            amount = money(raw["amount"], f"{where}.amount")
        elif rate is not None:
            amount = round(quantity * rate, 2)
        else:
            raise field_required("amount", "Amount", path=f"{where}.amount")
        line: dict[str, Any] = {"line": number, "item": item_id, "quantity": quantity, "amount": amount}
        line["rate"] = rate if rate is not None else round(amount / quantity, 2) if quantity else amount
        if raw.get("description") is not None:
            line["description"] = text(raw["description"], f"{where}.description")
        for name in ("custcol_service_start", "custcol_service_end"):
            if raw.get(name) is not None:
                line[name] = iso_date(raw[name], f"{where}.{name}")
        line.update({k: v for k, v in raw.items() if k.startswith("custcol") and k not in line})
        lines.append(line)
    return lines


def header_fields(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    """Customer, subsidiary, currency, texts and dates of a customer sales transaction."""
    merged = {**(current or {}), **body}
    entity_id = ref_id(merged, "entity", required=True, label="Customer")
    assert entity_id is not None
    customer = existing(state, "customer", "entity", entity_id)
    subsidiary_id = ref_id(merged, "subsidiary") or customer["subsidiary"]
    existing(state, "subsidiary", "subsidiary", subsidiary_id)
    if subsidiary_id != customer["subsidiary"]:
        raise user_error("The subsidiary of the transaction does not match the subsidiary of the customer.")
    currency_id = ref_id(merged, "currency") or customer["currency"]
    existing(state, "currency", "currency", currency_id)
    if currency_id != customer["currency"]:
        raise user_error(
            "The currency of the transaction is not a currency of the customer.", path="currency"
        )
    fields: dict[str, Any] = {"entity": entity_id, "subsidiary": subsidiary_id, "currency": currency_id}
    for name in HEADER_TEXT:
        if merged.get(name) is not None:
            fields[name] = text(merged[name], name)
    fields["tranDate"] = iso_date(merged.get("tranDate") or today(), "tranDate")
    if merged.get("dueDate") is not None:
        fields["dueDate"] = iso_date(merged["dueDate"], "dueDate")
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custbody")})
    return fields


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    fields = header_fields(state, body, current)
    raw_lines = sublist_lines(body, "item")
    if raw_lines is not None:
        fields["item"] = item_lines(state, raw_lines)
    elif current is None:
        raise lines_required("item")
    return fields


def paid_amount(state: SandboxState, invoice_id: str, *, excluding: str | None = None) -> float:
    """What customer payments and credit memos (optionally all but one) have applied to this invoice."""
    return applied_to(state, invoice_id, PAID_BY, excluding=excluding)


def refresh(state: SandboxState, record: Record) -> None:
    """Recompute total, amountPaid, amountRemaining and status from lines, payments and credits."""
    record["total"] = round(sum(line["amount"] for line in record["item"]), 2)
    record["amountPaid"] = paid_amount(state, record["id"])
    record["amountRemaining"] = round(record["total"] - record["amountPaid"], 2)
    record["status"] = "Paid In Full" if record["amountRemaining"] <= 0 else "Open"


def create(state: SandboxState, body: dict[str, Any]) -> Record:
    fields = _validated(state, body, None)
    rid = str(state.next_id("transaction"))
    if fields.get("externalId"):
        unique_external_id(state, ("invoice",), fields["externalId"], rid)
    fields.setdefault("tranId", f"INV{state.next_id('invoice_number')}")
    stamp = now_iso()
    record: Record = {"id": rid, **fields, "createdDate": stamp, "lastModifiedDate": stamp}
    refresh(state, record)
    state.table("invoice")[rid] = record
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("invoice",), fields["externalId"], record["id"])
    paid = paid_amount(state, record["id"])
    if paid and fields["entity"] != record["entity"]:
        raise user_error("You cannot change the customer of an invoice with payments or credits applied.")
    lines: list[dict[str, Any]] = fields.get("item") or record["item"]
    if round(sum(line["amount"] for line in lines), 2) < paid:
        raise user_error("The invoice total cannot be less than the amount already paid.")
    record.update(fields)
    record["lastModifiedDate"] = now_iso()
    refresh(state, record)


def delete(state: SandboxState, record: Record) -> None:
    if paid_amount(state, record["id"]):
        raise user_error("This record cannot be deleted because it has dependent records.")
    del state.table("invoice")[record["id"]]


KIND = RecordKind(
    name="invoice",
    ref_name=lambda record: f"Invoice #{record['tranId']}",
    refs={"entity": "customer", "subsidiary": "subsidiary", "currency": "currency"},
    sublists={"item": {"item": "item"}},
    fields=frozenset({*HEADER_TEXT, "entity", "subsidiary", "currency", "tranDate", "dueDate", "item"}),
    line_fields=LINE_FIELDS,
    read_only=frozenset(
        {"id", "total", "amountPaid", "amountRemaining", "status", "createdDate", "lastModifiedDate"}
    ),
    create=create,
    update=update,
    delete=delete,
)
