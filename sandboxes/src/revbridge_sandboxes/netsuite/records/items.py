"""Sale items: ``serviceSaleItem`` and ``nonInventorySaleItem``, creatable and sharing one id space.

Rules: ``itemId`` is required and unique across item types; ``incomeAccount`` defaults to the
seeded Revenue account; an item used on a transaction line cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from ..errors import NetSuiteError, field_required, invalid_ref, user_error
from ..state import Record, SandboxState
from .common import boolean, existing, money, now_iso, ref_id, text, unique_external_id
from .kinds import RecordKind

ITEM_TYPES = ("serviceSaleItem", "nonInventorySaleItem")
TEXT_FIELDS = ("itemId", "displayName", "salesDescription", "externalId")
REVENUE_ACCOUNT = "4"
LINE_TABLES = ("invoice", "creditMemo")


def find_item(
    state: SandboxState, item_id: str, field: str = "item", *, path: str | None = None
) -> tuple[str, Record]:
    for record_type in ITEM_TYPES:
        record = state.table(record_type).get(item_id)
        if record is not None:
            return record_type, record
    raise invalid_ref(field, item_id, path=path)


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    merged = {**(current or {}), **body}
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if merged.get(name) is not None:
            fields[name] = text(merged[name], name)
    if not fields.get("itemId"):
        raise field_required("itemId", "Item Name/Number")
    for record_type in ITEM_TYPES:
        for other in state.table(record_type).values():
            if other["itemId"] == fields["itemId"] and (current is None or other["id"] != current["id"]):
                detail = f"An item with the name {fields['itemId']} already exists."
                raise NetSuiteError(400, "DUP_ITEM", detail, path="itemId")
    fields.setdefault("displayName", fields["itemId"])
    account_id = ref_id(merged, "incomeAccount") or REVENUE_ACCOUNT
    existing(state, "account", "incomeAccount", account_id)
    fields["incomeAccount"] = account_id
    if merged.get("price") is not None:
        fields["price"] = money(merged["price"], "price")
    fields["isInactive"] = boolean(merged.get("isInactive", False), "isInactive")
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custitem")})
    return fields


def _kind(name: str) -> RecordKind:
    def create(state: SandboxState, body: dict[str, Any]) -> Record:
        fields = _validated(state, body, None)
        rid = str(state.next_id("item"))
        if fields.get("externalId"):
            unique_external_id(state, ITEM_TYPES, fields["externalId"], rid)
        stamp = now_iso()
        record: Record = {"id": rid, **fields, "createdDate": stamp, "lastModifiedDate": stamp}
        state.table(name)[rid] = record
        return record

    def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
        fields = _validated(state, body, record)
        if fields.get("externalId"):
            unique_external_id(state, ITEM_TYPES, fields["externalId"], record["id"])
        record.update(fields)
        record["lastModifiedDate"] = now_iso()

    def delete(state: SandboxState, record: Record) -> None:
        for table in LINE_TABLES:
            for tx in state.table(table).values():
                if any(line["item"] == record["id"] for line in tx["item"]):
                    raise user_error("This record cannot be deleted because it has dependent records.")
        del state.table(name)[record["id"]]

    return RecordKind(
        name=name,
        ref_name=lambda record: record["itemId"],
        refs={"incomeAccount": "account"},
        fields=frozenset({*TEXT_FIELDS, "incomeAccount", "price", "isInactive"}),
        read_only=frozenset({"id", "createdDate", "lastModifiedDate", "itemType"}),
        create=create,
        update=update,
        delete=delete,
    )


KINDS = [_kind("serviceSaleItem"), _kind("nonInventorySaleItem")]
