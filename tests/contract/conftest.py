"""One whole stack per contract session, on free ports, for the schemathesis fuzz tests.

Same approach as the e2e stack (``tests/e2e/conftest.py``) but its own fixture: the fuzz tests
never share state with the e2e ones. The gateway gets a copy of ``config/gateway-clients.yaml``
whose plans allow far more requests per minute, so the fuzzer measures the contracts and not
the demo rate limit (which ``tests/integration/gateway`` covers).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from revbridge_contracts.loader import openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from scripts import seed
from scripts.stack import DEFAULT_PORTS, ROOT, Stack, free_ports, running_stack
from tests.support.postgres import fresh_database
from tests.support.redis import REDIS_URL, isolated_prefix

FUZZ_REQUESTS_PER_MINUTE = 1_000_000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
"""No 5xx; only statuses, media types and shapes the contract lists; invalid input refused with a 4xx."""


def unthrottled_clients(target: Path) -> Path:
    """The demo clients file with every plan's limit raised; secrets and scopes unchanged."""
    clients = yaml.safe_load((ROOT / "config" / "gateway-clients.yaml").read_text())
    for plan in clients["plans"].values():
        plan["requests_per_minute"] = FUZZ_REQUESTS_PER_MINUTE
    target.write_text(yaml.safe_dump(clients, sort_keys=False))
    return target


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_template: str) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("contract-stack")
    with isolated_prefix() as prefix, fresh_database(pg_template) as database_url:
        s = Stack(
            database_url=database_url,
            ports=free_ports(DEFAULT_PORTS),
            redis_url=REDIS_URL,
            key_prefix=prefix,
            log_dir=tmp / "logs",
            keys_dir=tmp / "keys",
            extra_env={
                "SALESFORCE_POLL_INTERVAL_SECONDS": "300",
                "GATEWAY_CLIENTS_FILE": str(unthrottled_clients(tmp / "gateway-clients.yaml")),
            },
        )
        with running_stack(s):
            yield s


@pytest.fixture(scope="session")
def tokens(stack: Stack) -> dict[str, str]:
    """A bearer token per ``x-audience``: the demo client whose scopes fit that audience's operations."""
    gateway = stack.url("gateway")
    return {
        "internal": seed.gateway_token(gateway, seed.INTERNAL_CLIENT),
        "partner": seed.gateway_token(gateway, seed.PARTNER_CLIENT),
    }


def contract_schema(api: str, max_examples: int, document: dict[str, Any] | None = None) -> OpenApiSchema:
    """The contract of ``api`` as a schemathesis schema; tests pass the base URL when they call.

    Built at import time from the packaged YAML (no I/O beyond reading it), because the stack's
    ports are only known once the session fixture has started it. (``schemathesis.pytest.from_fixture``
    would defer it, but schemathesis 4.32 sets ``Function._nodeid``, which pytest 9.2 no longer has.)
    """
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document or openapi(api)))
    schema.config.update(request_timeout=10)
    # Bounded and reproducible: the tier must fit its time budget on a 2-core machine. No shrinking
    # (a failing case is printed as a curl line already) and no example database on disk.
    schema.config.generation.update(
        max_examples=max_examples, no_shrink=True, deterministic=True, database="none"
    )
    return schema


@pytest.fixture(scope="session", autouse=True)
def _run_database(run_database: str) -> str:
    """Every process started without a database of its own uses this run's."""
    return run_database
