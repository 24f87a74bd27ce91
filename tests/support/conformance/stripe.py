"""Stripe bodies checked against Stripe's official OpenAPI spec, reconciled with stripe-python 16.1.

The spec is ``tests/data/stripe/stripe-spec3-2023-09-12.json`` (stripe/openapi, ``spec3.json`` as
of 2023-09-12). The sandbox speaks a newer API version, so a resource's fields are reconciled with
the models stripe-python 16.1 generates from the current spec: a field the spec requires but the
SDK's model no longer declares was removed since (``invoice.subscription`` moved under
``parent``, for example) and is neither required nor type-checked. Everything else the spec says
holds: required fields, types, enums, nullability, the shapes of lists, expandable fields and
error bodies. Webhook bodies and every event's ``data.object`` are checked against the schema of
the object they carry.

The OpenAPI 3.0 dialect becomes JSON Schema (Draft 4) by turning ``nullable`` into an explicit
``null`` and dropping the ``x-`` extensions; jsonschema-rs validates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from .common import messages
from .stripe_models import model_class, model_schema

SPEC = Path(__file__).resolve().parents[2] / "data" / "stripe" / "stripe-spec3-2023-09-12.json"
_URI = "urn:stripe-spec3"


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema: ``nullable`` becomes ``null`` allowed."""
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if not k.startswith("x-") and k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _sdk_fields(object_name: str) -> set[str] | None:
    """The top-level fields stripe-python 16.1's model declares for an object type (None: no model)."""
    cls = model_class(object_name)
    if cls is None:
        return None
    fields: set[str] = set()
    for klass in cls.__mro__:
        fields.update(getattr(klass, "__annotations__", {}))
    return fields


def _object_name(schema: dict[str, Any]) -> str | None:
    enum = schema.get("properties", {}).get("object", {}).get("enum")
    return enum[0] if isinstance(enum, list) and len(enum) == 1 else None


class StripeSchemas:
    """Validators per operation and per object type, built once from the spec."""

    def __init__(self, spec_path: Path = SPEC) -> None:
        spec = json.loads(spec_path.read_text())
        schemas: dict[str, Any] = spec["components"]["schemas"]
        self.removed: dict[str, set[str]] = {}  # schema -> fields the SDK no longer declares
        self.by_object: dict[str, list[str]] = {}
        for name, schema in schemas.items():
            obj = _object_name(schema)
            if obj is None:
                continue
            self.by_object.setdefault(obj, []).append(name)
            sdk = _sdk_fields(obj)
            if sdk is None or name.startswith("deleted_"):
                continue
            gone = set(schema.get("properties", {})) - sdk
            if gone:
                self.removed[name] = gone
                schema["required"] = [f for f in schema.get("required", []) if f not in gone]
                for field in gone:
                    schema["properties"].pop(field)
        self._registry = jsonschema_rs.Registry(
            [(_URI, {"components": {"schemas": _to_json_schema(schemas)}})]
        )
        self._operations: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, op in item.items():
                if isinstance(op, dict) and "responses" in op:
                    self._operations.append((pattern, method.upper(), op["responses"]))
        # literal segments beat parameters: /v1/invoices/upcoming before /v1/invoices/{invoice}
        self._operations.sort(key=lambda entry: entry[0].pattern.count("[^/]+"))

    @cache  # noqa: B019 - one instance per run
    def _validator(self, schema: str) -> jsonschema_rs.Validator:
        return jsonschema_rs.Draft4Validator(
            {"$ref": f"{_URI}#/components/schemas/{schema}"}, registry=self._registry
        )

    @cache  # noqa: B019
    def _inline(self, schema_json: str) -> jsonschema_rs.Validator:
        return jsonschema_rs.Draft4Validator(
            _to_json_schema(json.loads(schema_json.replace("#/components/", f"{_URI}#/components/"))),
            registry=self._registry,
        )

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The spec's JSON schema for this answer (``default`` for errors), None when no path matches."""
        bare = path.split("?", 1)[0]
        for pattern, op_method, responses in self._operations:
            if op_method == method and pattern.match(bare):
                response = responses.get(str(status)) or responses.get("default")
                return response["content"]["application/json"]["schema"] if response else None
        return None

    def object_schema(self, body: Any) -> str | None:
        """The component schema for an object by its ``object`` field (``deleted_*`` when deleted)."""
        if not isinstance(body, dict) or not isinstance(body.get("object"), str):
            return None
        names = self.by_object.get(body["object"], [])
        deleted = [n for n in names if n.startswith("deleted_")]
        live = [n for n in names if not n.startswith("deleted_")]
        chosen = deleted if body.get("deleted") is True else live
        return chosen[0] if chosen else None

    def errors(self, kind: str, method: str, path: str, status: int, body: Any) -> Iterator[str]:
        """Each way the body departs from the spec, as ``"<json path>: <message>"``."""
        if kind == "webhook":
            yield from self._errors_as("event", body, "")
        else:
            schema = self.response_schema(method, path, status)
            if schema is None and status >= 400:
                schema = {"$ref": "#/components/schemas/error"}  # an unknown URL, or a newer endpoint's error
            if schema is not None:
                for error in self._inline(json.dumps(schema, sort_keys=True)).iter_errors(body):
                    yield from self._explain(body, error)
            elif not self._modelled(body):
                yield f"{method} {path.split('?', 1)[0]}: described by neither spec nor SDK"
                return
        if status < 400:
            yield from self._against_models(body, "")
        yield from self._event_objects(body, "")

    def _modelled(self, body: Any) -> bool:
        if isinstance(body, dict) and body.get("object") == "list":
            return all(self._modelled(item) for item in body.get("data", []))
        return isinstance(body, dict) and model_schema(str(body.get("object"))) is not None

    def _against_models(self, body: Any, where: str) -> Iterator[str]:
        """The root object (or each listed one) against stripe-python 16.1's model of it."""
        if not isinstance(body, dict):
            return
        if body.get("object") in ("list", "search_result"):
            for i, item in enumerate(body.get("data", [])):
                yield from self._against_models(item, f"{where}/data/{i}")
            return
        schema = model_schema(str(body.get("object")))
        if schema is None or body.get("deleted") is True:
            return
        for message in messages(self._model_validator(str(body["object"])), body, where):
            yield f"{message} (stripe-python 16.1 model)"

    @cache  # noqa: B019
    def _model_validator(self, object_name: str) -> jsonschema_rs.Validator:
        schema = model_schema(object_name)
        assert schema is not None
        return jsonschema_rs.Draft4Validator(schema)

    def _errors_as(self, schema: str, body: Any, prefix: str) -> Iterator[str]:
        for error in self._validator(schema).iter_errors(body):
            yield from self._explain(body, error, prefix)

    def _explain(self, body: Any, error: jsonschema_rs.ValidationError, prefix: str = "") -> Iterator[str]:
        """An ``anyOf`` failure on a Stripe object is re-checked against its schema, for a usable message."""
        where = prefix + "".join(f"/{p}" for p in error.instance_path)
        instance = body
        for step in error.instance_path:
            instance = instance[step]
        named = self.object_schema(instance)
        if "anyOf" in str(error.kind) and named is not None:
            inner = list(self._errors_as(named, instance, where))
            if inner:
                yield from inner
                return
        yield f"{where or '/'}: {error.message[:300]}"

    def _event_objects(self, body: Any, where: str) -> Iterator[str]:
        """Every event's ``data.object`` (in webhooks and in /v1/events answers) against its schema."""
        if isinstance(body, dict):
            if body.get("object") == "event" and isinstance(body.get("data"), dict):
                carried = body["data"].get("object")
                named = self.object_schema(carried)
                if named is not None:
                    yield from self._errors_as(named, carried, f"{where}/data/object")
            elif isinstance(body.get("data"), list):
                for i, item in enumerate(body["data"]):
                    yield from self._event_objects(item, f"{where}/data/{i}")
