"""Each service serves exactly the OpenAPI contract in ``contracts/`` (paths, methods, ids, schemas)."""

from __future__ import annotations

import importlib
import json

import pytest
from revbridge_contracts.loader import openapi
from revbridge_contracts.openapi_tools import comparable

SERVICES = {
    "system": "revbridge_system.app",
    "process": "revbridge_process.app",
    "experience": "revbridge_experience.app",
}


@pytest.mark.parametrize("api", sorted(SERVICES))
def test_service_serves_its_contract(api: str) -> None:
    app = importlib.import_module(SERVICES[api]).create_app()
    served = comparable(app.openapi())
    contract = comparable(openapi(api))
    assert sorted(served["operations"]) == sorted(contract["operations"]), "paths or methods differ"
    for key, op in contract["operations"].items():
        assert served["operations"][key] == op, (
            f"{key} differs:\n{json.dumps(served['operations'][key], indent=1)}"
        )
    assert served["schemas"] == contract["schemas"]
