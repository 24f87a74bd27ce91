"""Request validation against the operation's schemas in its contract, before anything goes upstream.

Each operation's parameters (path, query, header) and JSON request body are compiled once at start-up
into JSON Schema 2020-12 validators (``jsonschema-rs``); every schema is wrapped with the contract's
``components`` so ``$ref: '#/components/schemas/...'`` resolves inside the same document. Closed
schemas (``additionalProperties: false``, as the canonical command models are) reject unknown
fields. Parameters arrive as text, so a value is coerced to the type its schema asks for (integer,
number, boolean) before it is checked. Every problem is reported at once, each naming its field
(``body.contract_id``, ``query.limit``, ``header.Idempotency-Key``, ``path.contract_id``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from revbridge_gateway.errors import InvalidRequest, UnsupportedMediaType

LOCATIONS = ("path", "query", "header")
JSON_MEDIA = "application/json"


def _compile(schema: dict[str, Any], components: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({"allOf": [schema], "components": components})


def _types(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> set[str]:
    """The JSON types a parameter's schema accepts, following local ``$ref`` and anyOf/oneOf."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/") and depth < 8:
        target = components.get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
        return _types(target, components, depth + 1)
    found = schema.get("type")
    out = set(found) if isinstance(found, list) else {found} if isinstance(found, str) else set()
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out |= _types(sub, components, depth + 1)
    return out


def _coerce(raw: str, types: set[str]) -> Any:
    if "integer" in types and raw.lstrip("-").isdigit():
        return int(raw)
    if "number" in types:
        try:
            return float(raw)
        except ValueError:
            pass
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    return raw


def _field(prefix: str, error: jsonschema_rs.ValidationError) -> list[tuple[str, str]]:
    path = ".".join(str(p) for p in error.instance_path)
    base = f"{prefix}.{path}" if path else prefix
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        return [(f"{base}.{name}", "unknown field") for name in kind.unexpected]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return [(f"{base}.{kind.property}", "required field missing")]
    return [(base, error.message)]


@dataclass(frozen=True)
class Parameter:
    location: str
    name: str
    required: bool
    types: frozenset[str]
    validator: jsonschema_rs.Draft202012Validator

    def check(self, raw: str | None) -> list[tuple[str, str]]:
        label = f"{self.location}.{self.name}"
        if raw is None:
            return [(label, "required parameter missing")] if self.required else []
        value = _coerce(raw, set(self.types))
        return [(label, e.message) for e in self.validator.iter_errors(value)]


class RequestSchema:
    """The compiled request schemas of one operation."""

    def __init__(self, op: dict[str, Any], doc: dict[str, Any]) -> None:
        components = doc.get("components", {})
        self.parameters = tuple(
            Parameter(
                location=p["in"],
                name=p["name"],
                required=bool(p.get("required", p["in"] == "path")),
                types=frozenset(_types(p.get("schema", {}), components)),
                validator=_compile(p.get("schema", {}), components),
            )
            for p in op.get("parameters", [])
            if p.get("in") in LOCATIONS
        )
        body = op.get("requestBody") or {}
        content = body.get("content", {})
        self.body_required = bool(body.get("required"))
        self.body_media = tuple(content)
        schema = content.get(JSON_MEDIA, {}).get("schema")
        self.body = _compile(schema, components) if schema is not None else None

    def check(
        self,
        path: Mapping[str, str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
        content_type: str | None,
        body: bytes,
    ) -> Any:
        """The parsed JSON body (or None); InvalidRequest naming every field that is wrong."""
        problems: list[tuple[str, str]] = []
        sources: dict[str, Mapping[str, str]] = {"path": path, "query": query, "header": headers}
        for param in self.parameters:
            name = param.name.lower() if param.location == "header" else param.name
            problems += param.check(sources[param.location].get(name))
        parsed = self._body(content_type, body, problems)
        if problems:
            raise InvalidRequest(problems)
        return parsed

    def _body(self, content_type: str | None, body: bytes, problems: list[tuple[str, str]]) -> Any:
        if not body:
            if self.body_required:
                problems.append(("body", "request body required"))
            return None
        if not self.body_media:
            problems.append(("body", "this operation takes no request body"))
            return None
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in self.body_media:
            raise UnsupportedMediaType(f"expected {', '.join(self.body_media)}")
        if self.body is None:
            return None
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            problems.append(("body", "not valid JSON"))
            return None
        for error in self.body.iter_errors(parsed):
            problems += _field("body", error)
        return parsed
