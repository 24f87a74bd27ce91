"""Stored records to NetSuite's JSON: self links, references with ``refName``, sublists as links.

A reference renders as ``{"links": [self], "id": "1", "refName": "..."}``; a sublist renders as
``{"links": [self]}`` unless ``expandSubResources=true``, when it also carries its ``items``.
"""

from __future__ import annotations

from typing import Any

from ..state import Record, SandboxState
from .kinds import RecordKind

# reference targets that may be one of several record types (found by id, which they share)
POLYMORPHIC = {
    "item": ("serviceSaleItem", "nonInventorySaleItem"),
    "transaction": ("invoice", "creditMemo", "customerpayment"),
}


def record_href(base: str, record_type: str, record_id: str) -> str:
    return f"{base}/services/rest/record/v1/{record_type}/{record_id}"


def self_links(href: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": href}]


def reference(
    state: SandboxState, kinds: dict[str, RecordKind], base: str, record_type: str, record_id: str
) -> dict[str, Any]:
    if record_type in POLYMORPHIC:
        record_type = next((t for t in POLYMORPHIC[record_type] if record_id in state.table(t)), record_type)
    kind = kinds[record_type.lower()]
    target = state.table(kind.name).get(record_id)
    ref: dict[str, Any] = {"links": self_links(record_href(base, kind.name, record_id)), "id": record_id}
    if target is not None:
        ref["refName"] = kind.ref_name(target)
    return ref


def render(
    state: SandboxState,
    kinds: dict[str, RecordKind],
    kind: RecordKind,
    record: Record,
    base: str,
    *,
    expand: bool = False,
    only: set[str] | None = None,
) -> dict[str, Any]:
    href = record_href(base, kind.name, record["id"])
    out: dict[str, Any] = {"links": self_links(href)}
    for name, value in record.items():
        if only is not None and name not in only and name != "id":
            continue
        if name in kind.refs:
            out[name] = reference(state, kinds, base, kind.refs[name], value)
        elif name in kind.sublists:
            out[name] = render_sublist(state, kinds, kind, record, name, base, expand=expand)
        else:
            out[name] = value
    out["refName"] = kind.ref_name(record)
    return out


def render_sublist(
    state: SandboxState,
    kinds: dict[str, RecordKind],
    kind: RecordKind,
    record: Record,
    name: str,
    base: str,
    *,
    expand: bool,
) -> dict[str, Any]:
    href = f"{record_href(base, kind.name, record['id'])}/{name}"
    out: dict[str, Any] = {"links": self_links(href)}
    if not expand:
        return out
    line_refs = kind.sublists[name]
    items = []
    for line in record[name]:
        rendered: dict[str, Any] = {"links": []}
        for field, value in line.items():
            if field in line_refs:
                rendered[field] = reference(state, kinds, base, line_refs[field], value)
            else:
                rendered[field] = value
        items.append(rendered)
    out.update(
        {"count": len(items), "hasMore": False, "items": items, "offset": 0, "totalResults": len(items)}
    )
    return out


def collection(
    base_href: str, ids: list[str], item_href: str, *, limit: int, offset: int, query: str = ""
) -> dict[str, Any]:
    """NetSuite's paged collection of ``{links, id}`` items (also used for the SuiteQL shape)."""
    page = ids[offset : offset + limit]
    total = len(ids)
    links = []

    def at(off: int) -> str:
        return f"{base_href}?{query}limit={limit}&offset={off}"

    if offset > 0:
        links.append({"rel": "previous", "href": at(max(offset - limit, 0))})
    links.append({"rel": "first", "href": at(0)})
    if offset + limit < total:
        links.append({"rel": "next", "href": at(offset + limit)})
    last = max((total - 1) // limit * limit, 0) if total else 0
    links.append({"rel": "last", "href": at(last)})
    links.append({"rel": "self", "href": at(offset)})
    return {
        "links": links,
        "count": len(page),
        "hasMore": offset + limit < total,
        "items": [{"links": self_links(f"{item_href}/{rid}"), "id": rid} for rid in page],
        "offset": offset,
        "totalResults": total,
    }
