"""The ``journalEntry`` record: a balanced set of debits and credits to GL accounts.

Rules: ``subsidiary`` is required and ``currency`` defaults to the subsidiary's; the ``line``
sublist holds ``{account, debit | credit, memo, entity}`` lines, each with exactly one positive
side, and total debits must equal total credits (``USER_ERROR`` otherwise).
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid_content, lines_required, user_error
from ..state import Record, SandboxState
from .common import existing, iso_date, money, now_iso, ref_id, sublist_lines, text, today, unique_external_id
from .kinds import RecordKind

HEADER_TEXT = ("externalId", "memo", "tranId")
LINE_FIELDS = frozenset({"account", "debit", "credit", "memo", "entity", "line"})


def _lines(state: SandboxState, raw_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not raw_lines:
        raise lines_required("line")
    lines: list[dict[str, Any]] = []
    for number, raw in enumerate(raw_lines):
        where = f"line.items[{number}]"
        account_id = ref_id(raw, "account", required=True, label="Account", path=f"{where}.account")
        assert account_id is not None
        existing(state, "account", "account", account_id, path=f"{where}.account")
        line: dict[str, Any] = {"line": number, "account": account_id}
        sides = {
            side: money(raw[side], f"{where}.{side}")
            for side in ("debit", "credit")
            if raw.get(side) is not None
        }
        sides = {side: amount for side, amount in sides.items() if amount != 0}
        if len(sides) != 1 or min(sides.values()) < 0:
            raise invalid_content(
                f"Line {number} needs exactly one positive amount, debit or credit.", path=f"{where}.debit"
            )
        line.update(sides)
        if raw.get("memo") is not None:
            line["memo"] = text(raw["memo"], f"{where}.memo")
        entity_id = ref_id(raw, "entity", path=f"{where}.entity")
        if entity_id is not None:
            line["entity"] = existing(state, "customer", "entity", entity_id, path=f"{where}.entity")["id"]
        lines.append(line)
    debits = round(sum(line.get("debit", 0.0) for line in lines), 2)
    credits = round(sum(line.get("credit", 0.0) for line in lines), 2)
    if debits != credits:
        raise user_error(
            f"The transaction is out of balance: debits {debits:.2f}, credits {credits:.2f}.", path="line"
        )
    return lines


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    merged = {**(current or {}), **body}
    subsidiary_id = ref_id(merged, "subsidiary", required=True, label="Subsidiary")
    assert subsidiary_id is not None
    subsidiary = existing(state, "subsidiary", "subsidiary", subsidiary_id)
    currency_id = ref_id(merged, "currency") or subsidiary["currency"]
    existing(state, "currency", "currency", currency_id)
    fields: dict[str, Any] = {
        "subsidiary": subsidiary_id,
        "currency": currency_id,
        "tranDate": iso_date(merged.get("tranDate") or today(), "tranDate"),
    }
    for name in HEADER_TEXT:
        if merged.get(name) is not None:
            fields[name] = text(merged[name], name)
    raw_lines = sublist_lines(body, "line")
    if raw_lines is not None:
        fields["line"] = _lines(state, raw_lines)
    elif current is None:
        raise lines_required("line")
    lines = fields.get("line") or (current["line"] if current else [])
    fields["total"] = round(sum(line.get("debit", 0.0) for line in lines), 2)
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custbody")})
    return fields


def create(state: SandboxState, body: dict[str, Any]) -> Record:
    fields = _validated(state, body, None)
    rid = str(state.next_id("transaction"))
    if fields.get("externalId"):
        unique_external_id(state, ("journalEntry",), fields["externalId"], rid)
    fields.setdefault("tranId", f"JE{state.next_id('journal_number')}")
    stamp = now_iso()
    record: Record = {"id": rid, **fields, "approved": True, "createdDate": stamp, "lastModifiedDate": stamp}
    state.table("journalEntry")[rid] = record
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("journalEntry",), fields["externalId"], record["id"])
    record.update(fields)
    record["lastModifiedDate"] = now_iso()


def delete(state: SandboxState, record: Record) -> None:
    del state.table("journalEntry")[record["id"]]


KIND = RecordKind(
    name="journalEntry",
    ref_name=lambda record: f"Journal #{record['tranId']}",
    refs={"subsidiary": "subsidiary", "currency": "currency"},
    sublists={"line": {"account": "account", "entity": "customer"}},
    fields=frozenset({*HEADER_TEXT, "subsidiary", "currency", "tranDate", "line"}),
    line_fields=LINE_FIELDS,
    read_only=frozenset({"id", "total", "approved", "createdDate", "lastModifiedDate"}),
    create=create,
    update=update,
    delete=delete,
)
