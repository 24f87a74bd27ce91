"""Real sandboxes and a real system API process for the system API's integration tests.

The three sandboxes and the system API run as child processes on free ports; Redis is the real
server at ``REDIS_URL`` under a key prefix unique to this test session (deleted afterwards).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis

from tests.support.procs import free_port, running, sandbox
from tests.support.redis import REDIS_URL, isolated_prefix

STRIPE_KEY = "sk_test_revbridge_demo"
WEBHOOK_SECRET = "whsec_revbridge_demo"
CALLOUT_SECRET = "revbridge-demo-callout-secret"


@dataclass
class Stack:
    api: str
    stripe: str
    salesforce: str
    netsuite: str
    prefix: str
    redis: redis.Redis
    env: dict[str, str]

    def xlen(self, stream: str) -> int:
        return int(self.redis.xlen(f"{self.prefix}{stream}"))


@pytest.fixture(scope="package")
def stack() -> Iterator[Stack]:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    with (
        isolated_prefix() as prefix,
        sandbox(
            "stripe",
            env={
                "STRIPE_SANDBOX_WEBHOOK_URL": f"{api}/v1/webhooks/stripe/default",
                "STRIPE_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
            },
        ) as stripe_base,
        sandbox(
            "salesforce",
            env={
                "SALESFORCE_SANDBOX_CALLOUT_URL": f"{api}/v1/callouts/salesforce/contract-activated",
                "SALESFORCE_SANDBOX_CALLOUT_SECRET": CALLOUT_SECRET,
            },
        ) as sf_base,
        sandbox("netsuite") as ns_base,
    ):
        env = {
            "REDIS_URL": REDIS_URL,
            "REVBRIDGE_KEY_PREFIX": prefix,
            "REVBRIDGE_MODE": "sandbox",
            "SYSTEM_HOST": "127.0.0.1",
            "SYSTEM_PORT": str(port),
            "STRIPE_API_BASE": stripe_base,
            "SALESFORCE_INSTANCE_URL": sf_base,
            "SALESFORCE_CALLOUT_SECRET": CALLOUT_SECRET,
            "NETSUITE_BASE_URL": ns_base,
        }
        with running("system-api", ["-m", "revbridge_system"], f"{api}/healthz", env=env):
            client = redis.Redis.from_url(REDIS_URL)
            try:
                yield Stack(api, stripe_base, sf_base, ns_base, prefix, client, env)
            finally:
                client.close()


@pytest.fixture
def env_for_inprocess(stack: Stack) -> Iterator[None]:
    """Point in-process Settings() at the stack (for one poll iteration run inside the test)."""
    saved = {k: os.environ.get(k) for k in stack.env}
    os.environ.update(stack.env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sf_token(base: str) -> str:
    response = httpx.post(
        f"{base}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("revbridge-demo-client", "revbridge-demo-secret"),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


class Salesforce:
    """Seeds the Salesforce sandbox over its REST API, as a user in the org would."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base}/services/data/v59.0", headers={"Authorization": f"Bearer {sf_token(base)}"}
        )

    def create(self, sobject: str, **fields: object) -> str:
        response = self.http.post(f"/sobjects/{sobject}", json=fields)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def update(self, sobject: str, record_id: str, **fields: object) -> None:
        response = self.http.patch(f"/sobjects/{sobject}/{record_id}", json=fields)
        assert response.status_code == 204, response.text

    def draft_contract(self, name: str = "Acme") -> tuple[str, str]:
        account = self.create("Account", Name=name, BillingCountry="US", CurrencyIsoCode="USD")
        contract = self.create(
            "Contract", AccountId=account, StartDate="2024-06-01", ContractTerm=12, CurrencyIsoCode="USD"
        )
        product = self.create("Product2", Name="Seat", ProductCode="SEAT", IsActive=True)
        opportunity = self.create(
            "Opportunity",
            Name=f"{name} deal",
            AccountId=account,
            StageName="Closed Won",
            CloseDate="2024-05-30",
            ContractId=contract,
        )
        self.create(
            "OpportunityLineItem", OpportunityId=opportunity, Product2Id=product, Quantity=3, UnitPrice=1250.5
        )
        return account, contract
