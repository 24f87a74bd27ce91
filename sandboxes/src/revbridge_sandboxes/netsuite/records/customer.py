"""The ``customer`` record: company customers in one subsidiary with one primary currency.

Rules: ``companyName`` and ``subsidiary`` are required; ``currency`` defaults to the
subsidiary's; subsidiary and currency are frozen once the customer has transactions.
"""

from __future__ import annotations

from typing import Any

from ..errors import field_required, user_error
from ..state import Record, SandboxState
from .common import boolean, existing, now_iso, ref_id, text, unique_external_id
from .kinds import RecordKind
from .ledger import has_transactions

TEXT_FIELDS = ("entityId", "companyName", "email", "phone", "comments", "externalId", "url")


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    merged = {**(current or {}), **body}
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if merged.get(name) is not None:
            fields[name] = text(merged[name], name)
    if not fields.get("companyName"):
        raise field_required("companyName", "Company Name")
    subsidiary_id = ref_id(merged, "subsidiary", required=True, label="Subsidiary")
    assert subsidiary_id is not None
    subsidiary = existing(state, "subsidiary", "subsidiary", subsidiary_id)
    currency_id = ref_id(merged, "currency") or subsidiary["currency"]
    existing(state, "currency", "currency", currency_id)
    frozen = current is not None and has_transactions(state, current["id"])
    if frozen and current and (subsidiary_id, currency_id) != (current["subsidiary"], current["currency"]):
        raise user_error("You cannot change the subsidiary or currency of a customer with transactions.")
    fields["subsidiary"], fields["currency"] = subsidiary_id, currency_id
    fields.setdefault("entityId", fields["companyName"])
    for flag in ("isInactive", "isPerson"):
        fields[flag] = boolean(merged.get(flag, False), flag)
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custentity")})
    return fields


def create(state: SandboxState, body: dict[str, Any]) -> Record:
    fields = _validated(state, body, None)
    rid = str(state.next_id("entity"))
    if fields.get("externalId"):
        unique_external_id(state, ("customer",), fields["externalId"], rid)
    stamp = now_iso()
    record: Record = {"id": rid, **fields, "dateCreated": stamp, "lastModifiedDate": stamp}
    state.table("customer")[rid] = record
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("customer",), fields["externalId"], record["id"])
    record.update(fields)
    record["lastModifiedDate"] = now_iso()


def delete(state: SandboxState, record: Record) -> None:
    if has_transactions(state, record["id"]):
        raise user_error("This record cannot be deleted because it has dependent records.")
    del state.table("customer")[record["id"]]


def ref_name(record: Record) -> str:
    entity_id, company = record.get("entityId", ""), record.get("companyName", "")
    return company if entity_id == company else f"{entity_id} {company}".strip()


KIND = RecordKind(
    name="customer",
    ref_name=ref_name,
    refs={"subsidiary": "subsidiary", "currency": "currency"},
    fields=frozenset({*TEXT_FIELDS, "subsidiary", "currency", "isInactive", "isPerson"}),
    read_only=frozenset({"id", "dateCreated", "lastModifiedDate", "refName"}),
    create=create,
    update=update,
    delete=delete,
)
