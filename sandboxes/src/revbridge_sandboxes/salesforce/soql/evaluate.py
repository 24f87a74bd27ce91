"""Running a parsed SOQL query against the store and shaping rows the way the REST API returns them.

Relationship fields come back nested (``"Account": {"attributes": {...}, "Name": ...}``), or as
``null`` when the reference is empty; ``COUNT()`` yields only ``totalSize``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..errors import InvalidType, NotFound, SalesforceError
from ..schema import ObjectDef
from ..store import Record, Store
from ..values import render
from .ast import And, Comparison, Condition, Count, InList, Like, Not, Or, Query
from .compare import compare, like, literal_for, order_cmp
from .resolve import Resolved, resolve


@dataclass(frozen=True)
class QueryResult:
    total_size: int
    records: list[dict[str, Any]]


def record_url(version: str, sobject: str, record_id: str) -> str:
    return f"/services/data/{version}/sobjects/{sobject}/{record_id}"


def _from(store: Store, query: Query) -> ObjectDef:
    try:
        return store.object(query.sobject)
    except InvalidType as exc:
        raise InvalidType(
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
            "the describe call for the appropriate names."
        ).at(query.sobject_pos) from exc


def execute(store: Store, query: Query, *, version: str, include_deleted: bool = False) -> QueryResult:
    obj = _from(store, query)
    today = datetime.now(UTC).date()
    predicate = _compile(store, obj, query.where, today) if query.where else None
    order = [(resolve(store, obj, item.field), item) for item in query.order_by]
    selected = (
        [resolve(store, obj, query.select.field)]
        if isinstance(query.select, Count) and query.select.field
        else []
        if isinstance(query.select, Count)
        else [resolve(store, obj, path) for path in query.select]
    )
    candidates = _by_id(store, obj, query.where, include_deleted)
    if candidates is None:
        candidates = store.scan(obj, include_deleted=include_deleted)
    rows = [r for r in candidates if predicate is None or predicate(r)]
    if order:
        rows.sort(key=functools.cmp_to_key(lambda a, b: _order(store, order, a, b)))
    else:
        rows.sort(key=lambda r: r.id)
    rows = rows[query.offset or 0 :]
    if query.limit is not None:
        rows = rows[: query.limit]
    if isinstance(query.select, Count):
        if query.select.field is None:
            return QueryResult(len(rows), [])
        n = sum(1 for r in rows if selected[0].value(store, r) is not None)
        return QueryResult(1, [{"attributes": {"type": "AggregateResult"}, "expr0": n}])
    return QueryResult(len(rows), [_project(store, r, selected, version) for r in rows])


def _by_id(store: Store, obj: Any, where: Condition | None, include_deleted: bool) -> list[Record] | None:
    """The records a ``WHERE Id = '…'`` (alone or among ANDed conditions) can match, read by id
    instead of scanning the table; None when the query names no single id. The full predicate still
    runs on them, so this only narrows."""
    conditions = where.items if isinstance(where, And) else (where,)
    for cond in conditions:
        if (
            isinstance(cond, Comparison)
            and cond.op == "="
            and [part.lower() for part in cond.field.parts] == ["id"]
            and isinstance(cond.value, str)
        ):
            try:
                return [store.get(obj, cond.value, include_deleted=include_deleted)]
            except NotFound:
                return []
    return None


def _order(store: Store, order: list[tuple[Resolved, Any]], a: Record, b: Record) -> int:
    for resolved, item in order:
        c = order_cmp(
            resolved.leaf,
            resolved.value(store, a),
            resolved.value(store, b),
            item.descending,
            item.nulls_last,
        )
        if c:
            return c
    return (a.id > b.id) - (a.id < b.id)


def _compile(store: Store, obj: Any, cond: Condition, today: date) -> Any:
    """Turn a condition tree into a predicate over records, validating fields and literals first."""
    if isinstance(cond, And):
        parts = [_compile(store, obj, c, today) for c in cond.items]
        return lambda r: all(p(r) for p in parts)
    if isinstance(cond, Or):
        parts = [_compile(store, obj, c, today) for c in cond.items]
        return lambda r: any(p(r) for p in parts)
    if isinstance(cond, Not):
        inner = _compile(store, obj, cond.item, today)
        return lambda r: not inner(r)
    resolved = resolve(store, obj, cond.field)
    f = resolved.leaf
    if isinstance(cond, Comparison):
        try:
            literal = literal_for(f, cond.value)
        except SalesforceError as exc:  # guess: Salesforce points at the value, the sandbox at the field
            raise exc.at(cond.field.pos) from None
        return lambda r: compare(f, resolved.value(store, r), cond.op, literal, today)
    if isinstance(cond, InList):
        try:
            literals = [literal_for(f, v) for v in cond.values]
        except SalesforceError as exc:
            raise exc.at(cond.field.pos) from None

        def member(r: Record) -> bool:
            value = resolved.value(store, r)
            found = any(compare(f, value, "=", lit, today) for lit in literals)
            return found != cond.negated

        return member
    assert isinstance(cond, Like)
    return lambda r: like(resolved.value(store, r), cond.pattern)


def _project(store: Store, record: Record, selected: list[Resolved], version: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "attributes": {"type": record.sobject, "url": record_url(version, record.sobject, record.id)}
    }
    for resolved in selected:
        target: dict[str, Any] | None = out
        current: Record | None = record
        for hop in resolved.hops:
            assert target is not None and current is not None
            parent = store.lookup(current.values.get(hop.via.name))
            if parent is None:
                target[hop.name] = None
                target = None
                break
            nested = target.get(hop.name)
            if not isinstance(nested, dict):
                nested = {
                    "attributes": {
                        "type": parent.sobject,
                        "url": record_url(version, parent.sobject, parent.id),
                    }
                }
                target[hop.name] = nested
            target, current = nested, parent
        if target is not None and current is not None:
            target[resolved.leaf.name] = render(current.values.get(resolved.leaf.name))
    return out
