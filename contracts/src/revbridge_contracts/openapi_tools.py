"""Keeps the OpenAPI contracts and the served APIs identical.

``components.schemas`` in each contract is generated from the canonical pydantic models
(``python -m revbridge_contracts.openapi_tools sync``), so schema text is never hand-copied.
``comparable`` reduces a document to what a client depends on (paths, methods, operation ids,
parameters, request and success-response schemas, component schemas) so a test can diff a
service's served OpenAPI against its contract.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from revbridge_contracts import experience, models, problems, process, usage

REF_PREFIX = "#/components/schemas/"


def _registry() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (models, process, experience, problems, usage):
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__:
                found[name] = obj
    return found


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        out = {node["$ref"].removeprefix(REF_PREFIX)} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            out |= _refs(value)
        return out
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def component_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """JSON Schemas for every model the document's paths reference, and their dependencies."""
    registry = _registry()
    names = sorted(_refs(document.get("paths", {})))
    enums = {n for n in names if n not in registry}
    missing = [n for n in enums if not _is_enum(n)]
    if missing:
        raise KeyError(f"no canonical model named {missing}")
    _, top = models_json_schema(
        [(registry[n], "validation") for n in names if n in registry],
        ref_template=REF_PREFIX + "{model}",
    )
    return dict(sorted(top.get("$defs", {}).items()))


def _is_enum(name: str) -> bool:
    return any(inspect.isclass(getattr(m, name, None)) for m in (models, process, usage))


def _strip(node: Any) -> Any:
    """Drop prose and the implicit ``default: null`` that generators disagree on."""
    if isinstance(node, dict):
        return {
            k: _strip(v)
            for k, v in sorted(node.items())
            if k not in ("title", "description", "summary") and not (k == "default" and v is None)
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The client-visible surface of an OpenAPI document, ready to compare."""
    ops: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            params = sorted(
                (
                    (p["in"], p["name"].lower(), p.get("required", False), _strip(p.get("schema")))
                    for p in op.get("parameters", [])
                ),
                key=lambda t: (t[0], t[1]),
            )
            body = op.get("requestBody", {}).get("content", {})
            success = {
                code: _strip(resp.get("content", {}))
                for code, resp in op.get("responses", {}).items()
                if str(code).startswith("2")
            }
            ops[f"{method.upper()} {path}"] = {
                "operationId": op.get("operationId"),
                "parameters": [list(p) for p in params],
                "requestBody": _strip(body),
                "success": success,
            }
    all_schemas = document.get("components", {}).get("schemas", {})
    reachable = _closure(_refs(ops), all_schemas)
    schemas = {name: _strip(all_schemas[name]) for name in sorted(reachable) if name in all_schemas}
    return json.loads(json.dumps({"operations": ops, "schemas": schemas}, sort_keys=True, default=str))


def _closure(names: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(schemas.get(name, {})))
    return seen


def sync(root: Path) -> None:
    for path in sorted(root.glob("*-v*.yaml")):
        document = yaml.safe_load(path.read_text())
        document.setdefault("components", {})["schemas"] = component_schemas(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False, width=110))


if __name__ == "__main__":
    if sys.argv[1:] != ["sync"]:
        raise SystemExit("usage: python -m revbridge_contracts.openapi_tools sync")
    sync(Path(__file__).parent / "openapi")
