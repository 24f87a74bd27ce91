"""Usage ingestion's integration stack, all real processes on free ports: the Stripe sandbox, the
system API, the process API, the gateway in front of it, and usage senders the tests start (and
kill) themselves; Redis is the real server under a key prefix of this session.

Meters and customers are made in the Stripe sandbox with the official SDK; contracts are registered
in the usage directory through the real Redis store, as onboarding does. The process API and the
senders share a PostgreSQL database of this package's own (exceptions, usage acceptance records).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from revbridge_db.engine import create_engine
from revbridge_process.usage.directory import DirectoryEntry, UsageDirectory

from tests.support.postgres import fresh_database
from tests.support.procs import ROOT, free_port, running, sandbox, usage_sender, wait_until
from tests.support.redis import REDIS_URL, isolated_prefix
from tests.support.stripe_sdk import sdk_client

CLIENTS_FILE = ROOT / "config" / "gateway-clients.yaml"
SECRETS = {
    "revops-dashboard": "revops-demo-secret",
    "partner-demo": "partner-demo-secret",
    "partner-trial": "partner-trial-secret",
}
METER_EVENT = "api_calls"  # config/mappings.yaml meters.API-CALLS
SENDER_RECLAIM_IDLE_MS = 2000
SYSTEM_METER_RATE = 400  # meter events/s the system API sends: slow enough to kill a sender mid-batch


@dataclass
class UsageStack:
    gateway: str
    process: str
    system: str
    stripe_base: str
    prefix: str
    env: dict[str, str]
    meter_id: str
    sdk: stripe.StripeClient
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, client_id: str = "partner-demo") -> str:
        if client_id not in self.tokens:
            reply = httpx.post(
                f"{self.gateway}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, SECRETS[client_id]),
            )
            assert reply.status_code == 200, reply.text
            self.tokens[client_id] = str(reply.json()["access_token"])
        return self.tokens[client_id]

    def post_usage(
        self,
        body: Any,
        key: str | None = None,
        client_id: str = "partner-demo",
        raw: bytes | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(client_id)}", "Content-Type": "application/json"}
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
        url = f"{self.gateway}/process/v1/usage/events"
        if raw is not None:
            return httpx.post(url, content=raw, headers=headers, timeout=30)
        return httpx.post(url, json=body, headers=headers, timeout=30)

    def customer(self, clock: str | None = None) -> str:
        params: dict[str, Any] = {"name": f"usage {uuid.uuid4().hex[:6]}"}
        if clock:
            params["test_clock"] = clock
        return str(self.sdk.v1.customers.create(params).id)

    def register(self, entry: DirectoryEntry) -> None:
        async def go() -> None:
            engine = create_engine(url=self.database_url)
            try:
                await UsageDirectory(engine).register(entry)
            finally:
                await engine.dispose()

        asyncio.run(go())

    def usage_total(self, customer: str, start: int | None = None, end: int | None = None) -> float:
        """The customer's usage on the meter as the Stripe sandbox sums it (event summaries)."""
        now = int(time.time())
        lo = start if start is not None else (now - 400 * 86_400) // 60 * 60
        hi = end if end is not None else (now + 3600) // 60 * 60
        page = self.sdk.v1.billing.meters.event_summaries.list(
            self.meter_id, params={"customer": customer, "start_time": lo, "end_time": hi}
        )
        return sum(float(s.aggregated_value) for s in page.data)

    def drained(self) -> bool:
        """Every entry of the usage stream delivered to the senders' group and acknowledged."""
        import redis as sync_redis

        client = sync_redis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            stream = f"{self.prefix}{{usage}}:events"
            groups = client.xinfo_groups(stream)
            group = next(g for g in groups if g["name"] == "usage-sender")
            return (
                int(client.xpending(stream, "usage-sender")["pending"]) == 0 and int(group["lag"] or 0) == 0
            )
        finally:
            client.close()

    def wait_drained(self, timeout: float = 30.0) -> None:
        wait_until(self.drained, timeout=timeout, message="the usage stream to be sent and acknowledged")

    def wait_total(self, customer: str, expected: float, timeout: float = 30.0, **window: int) -> None:
        try:
            wait_until(lambda: self.usage_total(customer, **window) == expected, timeout=timeout)
        except TimeoutError:
            raise AssertionError(
                f"usage of {customer} is {self.usage_total(customer, **window)}, not {expected}"
            ) from None


def crm_id(kind: str) -> str:
    return kind + uuid.uuid4().hex[:15].upper()


def entry_for(customer: str, anchor: dt.datetime, clock: str | None = None, **extra: Any) -> DirectoryEntry:
    return DirectoryEntry(
        contract_id=extra.pop("contract_id", crm_id("800")),
        crm_account_id=extra.pop("crm_account_id", crm_id("001")),
        billing_account=extra.pop("billing_account", "default"),
        billing_customer_id=customer,
        meters=extra.pop("meters", frozenset({METER_EVENT})),
        billing_anchor=anchor,
        test_clock=clock,
        **extra,
    )


SenderFactory = Callable[..., AbstractContextManager[Any]]


@pytest.fixture(scope="package")
def usage_stack(tmp_path_factory: pytest.TempPathFactory, pg_template: str) -> Iterator[UsageStack]:
    ports = {name: free_port() for name in ("system", "process", "gateway")}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    closed = f"http://127.0.0.1:{free_port()}"
    with (
        isolated_prefix() as prefix,
        fresh_database(pg_template) as database_url,
        sandbox(
            "stripe", env={"STRIPE_SANDBOX_WEBHOOK_URL": f"{url['system']}/v1/webhooks/stripe/default"}
        ) as sb,
    ):
        env = {
            "REDIS_URL": REDIS_URL,
            "DATABASE_URL": database_url,
            "REVBRIDGE_KEY_PREFIX": prefix,
            "REVBRIDGE_MODE": "sandbox",
            "REVBRIDGE_CONFIG_DIR": str(ROOT / "config"),
            "SYSTEM_PORT": str(ports["system"]),
            "STRIPE_API_BASE": sb,
            "STRIPE_METER_EVENTS_PER_SECOND": str(SYSTEM_METER_RATE),
            "SALESFORCE_INSTANCE_URL": closed,
            "NETSUITE_BASE_URL": closed,
            "SALESFORCE_POLL_INTERVAL_SECONDS": "3600",
            "PROCESS_PORT": str(ports["process"]),
            "PROCESS_SYSTEM_API_URL": url["system"],
            "PROCESS_USAGE_RECLAIM_IDLE_MS": str(SENDER_RECLAIM_IDLE_MS),
            "PROCESS_USAGE_CLOCK_CACHE_SECONDS": "0.5",
            "GATEWAY_PORT": str(ports["gateway"]),
            "GATEWAY_ISSUER": url["gateway"],
            "GATEWAY_PROCESS_API_URL": url["process"],
            "GATEWAY_EXPERIENCE_API_URL": closed,
            "GATEWAY_CLIENTS_FILE": str(CLIENTS_FILE),
            "GATEWAY_KEYS_DIR": str(tmp_path_factory.mktemp("usage-keys")),
        }
        with (
            running("usage-system-api", ["-m", "revbridge_system"], f"{url['system']}/healthz", env=env),
            running("usage-process-api", ["-m", "revbridge_process"], f"{url['process']}/healthz", env=env),
            running("usage-gateway", ["-m", "revbridge_gateway"], f"{url['gateway']}/healthz", env=env),
        ):
            client = sdk_client(sb)
            meter = client.v1.billing.meters.create(
                {
                    "display_name": "API calls",
                    "event_name": METER_EVENT,
                    "default_aggregation": {"formula": "sum"},
                    "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
                    "value_settings": {"event_payload_key": "value"},
                }
            )
            yield UsageStack(
                url["gateway"], url["process"], url["system"], sb, prefix, env, meter.id, client, database_url
            )


@pytest.fixture(scope="package")
def exception_policy_process_api(
    usage_stack: UsageStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second process API on the same Redis whose ``usage.late`` is ``exception``."""
    config: Path = tmp_path_factory.mktemp("usage-config")
    shutil.copytree(ROOT / "config", config, dirs_exist_ok=True)
    flows = config / "flows.yaml"
    flows.write_text(flows.read_text().replace("late: bill_next_period", "late: exception"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**usage_stack.env, "PROCESS_PORT": str(port), "REVBRIDGE_CONFIG_DIR": str(config)}
    with running("usage-process-api-late", ["-m", "revbridge_process"], f"{base}/healthz", env=env):
        yield base


@pytest.fixture
def sender(usage_stack: UsageStack) -> SenderFactory:
    """Start a usage sender (``python -m revbridge_process.usage.sender``) with the stack's settings."""

    def start(name: str = "usage-sender", **env: str) -> AbstractContextManager[Any]:
        return usage_sender({**usage_stack.env, **env}, name=name)

    return start
