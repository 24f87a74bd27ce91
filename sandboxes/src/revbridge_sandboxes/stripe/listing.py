"""List objects, cursor pagination, search queries and ``expand[]`` (wire reference §1.3-§1.4)."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import forms, tiers
from .archive import plain
from .errors import StripeError, invalid

if TYPE_CHECKING:
    from .state import Account

Obj = dict[str, Any]


def limit_of(params: dict[str, Any]) -> int:
    limit = forms.as_int(params, "limit", 10)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise invalid("limit", "This value must be greater than or equal to 1 and less than or equal to 100.")
    return limit


def list_object(data: list[Obj], url: str, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _index(items: list[Obj], object_id: str, param: str) -> int:
    for i, item in enumerate(items):
        if item.get("id") == object_id:
            return i
    raise invalid(
        param, f"Invalid {param}: no object with id '{object_id}' in this list", code="resource_missing"
    )


def paginate(items: list[Obj], params: dict[str, Any], url: str) -> Obj:
    """One page of ``items`` (already newest first) honouring limit/starting_after/ending_before."""
    limit = limit_of(params)
    after, before = forms.as_str(params, "starting_after"), forms.as_str(params, "ending_before")
    if after and before:
        raise invalid(
            "ending_before", "You may only specify one of these parameters: ending_before, starting_after."
        )
    if after:
        window = items[_index(items, after, "starting_after") + 1 :]
        return list_object(window[:limit], url, len(window) > limit)
    if before:
        window = items[: _index(items, before, "ending_before")]
        return list_object(window[-limit:], url, len(window) > limit)
    return list_object(items[:limit], url, len(items) > limit)


def equal_filter(params: dict[str, Any], items: Iterable[Obj], names: Iterable[str]) -> list[Obj]:
    """Keep the items whose field equals each of ``names`` given as a parameter (``customer=cus_...``)."""
    out = list(items)
    for name in names:
        value = forms.as_str(params, name)
        if value:
            out = [item for item in out if item[name] == value]
    return out


def created_filter(params: dict[str, Any], items: Iterable[Obj]) -> list[Obj]:
    """Apply ``created=<ts>`` or ``created[gt|gte|lt|lte]=<ts>``."""
    created = params.get("created")
    if created is None:
        return list(items)
    if not isinstance(created, dict):
        exact = forms.as_int(params, "created")
        return [i for i in items if i["created"] == exact]
    ops: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    bounds = {op: forms.as_int(created, op) for op in ops if op in created}
    return [i for i in items if all(ops[op](i["created"], v) for op, v in bounds.items() if v is not None)]


_CLAUSE = re.compile(
    r"""^(?P<neg>-)?(?:metadata\[(?P<q>['"])(?P<mkey>.+?)(?P=q)\]|(?P<field>[a-z_.]+))"""
    r"""(?P<op>:|~|>=|<=|>|<)(?:(?P<sq>['"])(?P<sval>.*?)(?P=sq)|(?P<nval>-?\d+))$"""
)


def _clause(text: str) -> Callable[[Obj], bool]:
    match = _CLAUSE.match(text.strip())
    if not match:
        raise invalid("query", f"Invalid search query: could not parse '{text.strip()}'")
    key = match["mkey"]
    op, neg = match["op"], bool(match["neg"])
    value: Any = match["sval"] if match["sval"] is not None else int(match["nval"])

    def field_of(obj: Obj) -> Any:
        if key is not None:
            return (obj.get("metadata") or {}).get(key)
        node: Any = obj
        for part in match["field"].split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def test(obj: Obj) -> bool:
        actual = field_of(obj)
        if op == ":":
            ok = actual is not None and str(actual).lower() == str(value).lower()
        elif op == "~":
            ok = actual is not None and str(value).lower() in str(actual).lower()
        elif isinstance(actual, int) and isinstance(value, int):
            ok = {">": actual > value, "<": actual < value, ">=": actual >= value, "<=": actual <= value}[op]
        else:
            ok = False
        return ok != neg

    return test


def search(items: list[Obj], params: dict[str, Any], url: str) -> Obj:
    """Stripe search: clauses joined by AND (or OR), page tokens in ``next_page``."""
    query = forms.as_str(params, "query", required=True) or ""
    joiner = " OR " if " OR " in query and " AND " not in query else " AND "
    tests = [_clause(part) for part in query.split(joiner)]
    combine = any if joiner == " OR " else all
    hits = [i for i in map(plain, items) if combine(t(i) for t in tests)]
    limit = limit_of(params)
    offset = 0
    page = forms.as_str(params, "page")
    if page:
        try:
            offset = int(base64.urlsafe_b64decode(page.encode()).decode().removeprefix("offset:"))
        except ValueError:
            raise invalid("page", f"Invalid page: {page}") from None
    data = hits[offset : offset + limit]
    has_more = len(hits) > offset + limit
    next_page = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode() if has_more else None
    return {
        "object": "search_result",
        "data": data,
        "has_more": has_more,
        "next_page": next_page,
        "url": url,
        "total_count": len(hits),
    }


def _confirmation_secret(invoice: Obj, account: Account) -> Obj | None:
    """The client secret of the intent Stripe made when finalizing the invoice, for Stripe.js."""
    for payment in invoice["payments"]["data"]:
        if payment["is_default"] and payment["payment"].get("payment_intent"):
            intent = account.get("payment_intent", payment["payment"]["payment_intent"])
            if intent is not None:
                return {"client_secret": intent["client_secret"], "type": "payment_intent"}
    return None


# Fields Stripe leaves out of an object unless ``expand[]`` names them ("includable" fields)
INCLUDABLE: dict[tuple[str, str], Callable[[Obj, Account], Any]] = {
    ("invoice", "confirmation_secret"): _confirmation_secret,
    ("price", "tiers"): tiers.include,
}


def _expand_path(node: Any, parts: list[str], account: Account, path: str) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    include = INCLUDABLE.get((str(node.get("object")), head))
    if include is not None and head not in node:
        node[head] = include(node, account)
    if head not in node or isinstance(node[head], bool | int | float):
        # Stripe's wording for a path that names no expandable field (its exact body is a guess)
        raise StripeError(400, f"This property cannot be expanded ({path}).")
    value = node[head]
    if isinstance(value, str):
        found = account.find(value)
        if found is None:
            return
        value = node[head] = copy.deepcopy(found)
    if isinstance(value, list):
        for item in value:
            _expand_path(item, rest, account, path)
    else:
        _expand_path(value, rest, account, path)


def expand(obj: Obj, paths: list[str], account: Account) -> Obj:
    """Replace id strings on ``paths`` (dotted, ``data.`` for lists) by the objects they name."""
    for path in paths:
        _expand_path(obj, path.split("."), account, path)
    return obj
