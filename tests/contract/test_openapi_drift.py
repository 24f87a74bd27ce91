"""Each service serves exactly the OpenAPI contracts in ``contracts/`` (paths, methods, ids, schemas).

A service serving several major versions is compared once per version: its served document is cut
down to the paths under ``/v{major}/`` before the diff, so each contract file is checked whole.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from revbridge_contracts.loader import openapi
from revbridge_contracts.openapi_tools import comparable

SERVICES = {
    "system": "revbridge_system.app",
    "process": "revbridge_process.app",
    "experience": "revbridge_experience.app",
}
VERSIONS = [("system", 1), ("process", 1), ("experience", 1), ("experience", 2)]


def only_version(document: dict[str, Any], major: int) -> dict[str, Any]:
    paths = {p: item for p, item in document.get("paths", {}).items() if p.startswith(f"/v{major}/")}
    return {**document, "paths": paths}


@pytest.mark.parametrize(("api", "major"), VERSIONS)
def test_service_serves_its_contract(api: str, major: int) -> None:
    app = importlib.import_module(SERVICES[api]).create_app()
    served = comparable(only_version(app.openapi(), major))
    contract = comparable(openapi(api, major))
    assert sorted(served["operations"]) == sorted(contract["operations"]), "paths or methods differ"
    for key, op in contract["operations"].items():
        assert served["operations"][key] == op, (
            f"{key} differs:\n{json.dumps(served['operations'][key], indent=1)}"
        )
    assert served["schemas"] == contract["schemas"]


def test_deprecated_operations_are_deprecated_where_they_are_served() -> None:
    app = importlib.import_module(SERVICES["experience"]).create_app()
    served = app.openapi()["paths"]["/v1/revenue/summary"]["get"]
    contract = openapi("experience", 1)["paths"]["/v1/revenue/summary"]["get"]
    assert served.get("deprecated") is True and contract.get("deprecated") is True
    assert contract["x-sunset"].startswith("2027-")
