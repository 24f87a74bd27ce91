"""The values each enum parameter of Stripe's API accepts, so a bad one is refused as Stripe refuses it.

The table (``data/enums.json``) is built from Stripe's OpenAPI spec (2023-09-12, the copy in
``tests/data/stripe``), widened by ``ADDED_SINCE_SPEC`` where the API has gained values since (the
webhook event types from stripe-python 16.1). A value outside it is refused; a parameter the table
does not know is not checked. Rebuild it with
``python -m revbridge_sandboxes.stripe.enums tests/data/stripe/stripe-spec3-2023-09-12.json``.

A tree per route: ``{"name": node}``, a node being ``{"enum": [...]}`` for a leaf, ``{"fields": {...}}``
for a hash and ``{"items": node}`` for an array.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from .errors import invalid

DATA = Path(__file__).with_name("data") / "enums.json"
EVENT_TYPES = Path(__file__).with_name("data") / "event-types.txt"
_ROUTE_PARAM = re.compile(r"\{[^}]*\}")


def route_key(method: str, path: str) -> str:
    return f"{method} {_ROUTE_PARAM.sub('{}', path)}"


@cache
def table() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))
    return loaded


@cache
def event_types() -> frozenset[str]:
    """Every ``Event.type`` stripe-python 16.1 names (webhook endpoints may enable only these)."""
    lines = EVENT_TYPES.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check(method: str, route: str | None, params: dict[str, Any]) -> None:
    """Raise Stripe's 400 for the first parameter whose value is not one the route accepts."""
    tree = table().get(route_key(method, route or ""))
    if tree:
        _walk(tree, params, "")


def _walk(fields: dict[str, Any], values: dict[str, Any], prefix: str) -> None:
    for name, value in values.items():
        node = fields.get(name)
        if node is not None:
            _check_node(node, value, f"{prefix}[{name}]" if prefix else name)


def _check_node(node: dict[str, Any], value: Any, param: str) -> None:
    if "enum" in node:
        if isinstance(value, str) and value not in node["enum"]:
            raise invalid(param, f"Invalid {param}: must be one of {_one_of(node['enum'])}")
    elif "fields" in node and isinstance(value, dict):
        _walk(node["fields"], value, param)
    elif "items" in node and isinstance(value, list):
        for i, item in enumerate(value):
            _check_node(node["items"], item, f"{param}[{i}]")


def _one_of(values: list[str]) -> str:
    shown = [v for v in values if v]
    return ", ".join(shown[:-1]) + f", or {shown[-1]}" if len(shown) > 2 else " or ".join(shown)


# --- building the table (at development time, from the spec and stripe-python) ---------------


def _node(schema: dict[str, Any], extra: dict[str, set[str]], name: str, depth: int = 0) -> dict[str, Any]:
    """The checks for one parameter: ``enum`` only when every scalar form of it is an enum (a
    timestamp-or-"now" stays unchecked), ``fields``/``items`` for its hash and array forms."""
    node: dict[str, Any] = {}
    if depth > 8:
        return node
    allowed: set[str] = set()
    free = False
    for branch in schema.get("anyOf") or [schema]:
        if "enum" in branch:
            allowed |= {str(v) for v in branch["enum"]}
        elif branch.get("type") == "object":
            fields = {k: _node(v, extra, k, depth + 1) for k, v in (branch.get("properties") or {}).items()}
            if fields := {k: v for k, v in fields.items() if v}:
                node["fields"] = fields
        elif branch.get("type") == "array":
            if items := _node(branch.get("items") or {}, extra, name, depth + 1):
                node["items"] = items
        else:
            free = True
    if allowed - {""} and not free:
        node["enum"] = sorted(allowed | extra.get(name, set()))
    return node


def build(spec: dict[str, Any], extra: dict[str, set[str]]) -> dict[str, dict[str, Any]]:
    routes: dict[str, dict[str, Any]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            schema = content.get("application/x-www-form-urlencoded", {}).get("schema", {})
            fields = {k: _node(v, extra, k) for k, v in (schema.get("properties") or {}).items()}
            if fields := {k: v for k, v in fields.items() if v}:
                routes[route_key(method.upper(), path)] = fields
    return routes


ADDED_SINCE_SPEC: dict[str, set[str]] = {
    # Values the API gained after the spec's 2023-09-12, seen in stripe-python 16.1's params.
    "enabled_events": set(),  # filled from data/event-types.txt (stripe-python 16.1's Event.type)
}


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    extra = {name: set(values) for name, values in ADDED_SINCE_SPEC.items()}
    extra["enabled_events"] |= event_types()
    DATA.write_text(json.dumps(build(spec, extra), sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
