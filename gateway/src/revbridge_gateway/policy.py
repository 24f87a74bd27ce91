"""The route table, built from the OpenAPI contracts at start-up: nothing here names an operation.

For every API the gateway fronts and every major version shipped in ``revbridge_contracts``,
each operation becomes a route ``/{api}/v{major}/...`` with its path template as a regex, its
scopes (from ``security``), who may reach it (``x-audience``), an optional per-operation
``x-rate-limit``, whether it needs an ``Idempotency-Key`` (``x-idempotency: required``), its
deprecation (see ``versions``) and its compiled request schemas (see ``validation``). An
operation without ``security`` or ``x-audience`` stops start-up: the gateway fails closed rather
than exposing an operation whose policy nobody wrote down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from revbridge_contracts import loader

from revbridge_gateway.errors import ContractPolicyError, MethodNotAllowed, RouteNotFound
from revbridge_gateway.paths import as_path
from revbridge_gateway.validation import RequestSchema
from revbridge_gateway.versions import Deprecation, deprecation_of

__all__ = ["ContractPolicyError", "Operation", "RouteTable", "build_route_table"]

AUDIENCES = ("internal", "partner")


@dataclass(frozen=True)
class Operation:
    api: str
    method: str
    template: str
    operation_id: str
    requirements: tuple[frozenset[str], ...]
    audience: str
    rate_limit: int | None
    idempotency_required: bool = False
    deprecation: Deprecation | None = None
    request: RequestSchema | None = field(default=None, compare=False)

    def allows_scopes(self, granted: frozenset[str]) -> bool:
        """True if one of the security requirements (ORed) is fully granted (ANDed)."""
        return any(req <= granted for req in self.requirements)

    def allows_audience(self, caller_audience: str) -> bool:
        return caller_audience == "internal" or self.audience == "partner"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset().union(*self.requirements)


@dataclass(frozen=True)
class Route:
    regex: re.Pattern[str]
    operations: dict[str, Operation]
    literal: str | None = None  # the path itself when the template has no parameters


def _template_regex(prefix: str, template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", prefix + template)
    body = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body.rstrip('/') or '/'}$")


def _operation(api: str, method: str, template: str, op: dict[str, Any], doc: dict[str, Any]) -> Operation:
    where = f"{api} {method} {template}"
    security = op.get("security", doc.get("security"))
    if not isinstance(security, list) or not security:
        raise ContractPolicyError(f"{where}: no 'security' requirement")
    requirements = tuple(frozenset(s for scopes in req.values() for s in scopes) for req in security)
    audience = op.get("x-audience")
    if audience not in AUDIENCES:
        raise ContractPolicyError(f"{where}: 'x-audience' must be one of {AUDIENCES}, got {audience!r}")
    limit = (op.get("x-rate-limit") or {}).get("requests_per_minute")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ContractPolicyError(f"{where}: x-rate-limit.requests_per_minute must be a positive integer")
    idempotency = op.get("x-idempotency", "none")
    if idempotency not in ("required", "none"):
        raise ContractPolicyError(f"{where}: x-idempotency must be 'required' or 'none'")
    return Operation(
        api=api,
        method=method,
        template=template,
        operation_id=str(op["operationId"]),
        requirements=requirements,
        audience=audience,
        rate_limit=limit,
        idempotency_required=idempotency == "required",
        deprecation=deprecation_of(api, op, where),
        request=RequestSchema(op, doc),
    )


class RouteTable:
    def __init__(self, routes: list[Route], scopes: set[str]) -> None:
        # literal paths win over templated ones (fewer parameters first)
        self._routes = sorted(routes, key=lambda r: (r.regex.groups, -len(r.regex.pattern)))
        self._literals = {r.literal: r for r in routes if r.literal is not None}  # one lookup, no scan
        self.scopes_supported = scopes

    def match(self, method: str, segments: tuple[str, ...]) -> Operation:
        return self.resolve(method, segments)[0]

    def resolve(self, method: str, segments: tuple[str, ...]) -> tuple[Operation, dict[str, str]]:
        """The operation and its path parameters; RouteNotFound or MethodNotAllowed otherwise."""
        path = as_path(segments)
        lookup = "GET" if method == "HEAD" else method
        literal = self._literals.get(path)
        if literal is not None:
            return self._pick(literal, method, lookup), {}
        for route in self._routes:
            if found := route.regex.match(path):
                return self._pick(route, method, lookup), found.groupdict()
        raise RouteNotFound(f"no operation at {path}")

    @staticmethod
    def _pick(route: Route, method: str, lookup: str) -> Operation:
        if lookup in route.operations:
            return route.operations[lookup]
        raise MethodNotAllowed(
            method, sorted({*route.operations, "HEAD"} if "GET" in route.operations else route.operations)
        )

    def operations(self) -> Iterable[Operation]:
        for route in self._routes:
            yield from route.operations.values()


def _documents(api: str, load: Callable[[str, int], dict[str, Any]]) -> Iterable[tuple[int, dict[str, Any]]]:
    major = 1
    while True:
        try:
            yield major, load(api, major)
        except FileNotFoundError:
            return
        major += 1


def build_route_table(
    apis: Iterable[str],
    load: Callable[[str, int], dict[str, Any]] = loader.openapi,
) -> RouteTable:
    by_regex: dict[str, Route] = {}
    scopes: set[str] = set()
    for api in apis:
        for major, doc in _documents(api, load):
            schemes = doc.get("components", {}).get("securitySchemes", {})
            for scheme in schemes.values():
                scopes.update(scheme.get("flows", {}).get("clientCredentials", {}).get("scopes", {}))
            for method, template, op in loader.operations(doc):
                if not template.startswith(f"/v{major}/"):
                    raise ContractPolicyError(f"{api} {template}: path must start with /v{major}/")
                operation = _operation(api, method, template, op, doc)
                scopes.update(operation.scopes)
                regex = _template_regex(f"/{api}", template)
                literal = None if regex.groups else (f"/{api}{template}".rstrip("/") or "/")
                route = by_regex.setdefault(regex.pattern, Route(regex, {}, literal))
                route.operations[method] = operation
    return RouteTable(list(by_regex.values()), scopes)
