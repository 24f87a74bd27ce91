"""Loads the OpenAPI and AsyncAPI documents shipped in this package."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

APIS = ("system", "process", "experience")


@cache
def openapi(api: str, major: int = 1) -> dict[str, Any]:
    """The contract of ``api`` (system, process or experience) at major version ``major``."""
    if api not in APIS:
        raise ValueError(f"unknown api {api!r}; expected one of {APIS}")
    text = resources.files("revbridge_contracts").joinpath(f"openapi/{api}-v{major}.yaml").read_text()
    return yaml.safe_load(text)


@cache
def asyncapi() -> dict[str, Any]:
    text = resources.files("revbridge_contracts").joinpath("asyncapi/events.yaml").read_text()
    return yaml.safe_load(text)


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` for every operation in an OpenAPI document."""
    out = []
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                out.append((method.upper(), path, op))
    return out
