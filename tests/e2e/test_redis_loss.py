"""Losing Redis loses nothing durable: a book of invoices is posted, an exception is acted on, then
Redis is emptied (every key of the stack) and every revbridge process restarted. The dashboard's
figures, a contract's lineage (its records, amounts and statuses) and the exception's history read
the same from PostgreSQL — the re-read of the CRM that follows (the poller's watermark was in Redis)
re-runs flows without duplicating anything — and new events are processed as before: the next
contract's invoice reaches the ERP once and the figures grow by it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from scripts import seed
from scripts.stack import DEFAULT_PORTS, Stack, free_ports, running_stack
from tests.e2e import money
from tests.e2e.test_dashboard import hold_a_contract_on_an_unmapped_product
from tests.e2e.test_reports import settled
from tests.support.postgres import fresh_database
from tests.support.procs import wait_until
from tests.support.redis import REDIS_URL, isolated_prefix


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_template: str) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("redis-loss-stack")
    with isolated_prefix() as prefix, fresh_database(pg_template) as database_url:
        s = Stack(
            ports=free_ports(DEFAULT_PORTS),
            redis_url=REDIS_URL,
            key_prefix=prefix,
            database_url=database_url,
            log_dir=tmp / "logs",
            keys_dir=tmp / "keys",
            extra_env={"SALESFORCE_POLL_INTERVAL_SECONDS": "300"},
        )
        with running_stack(s):
            yield s


class Gateway:
    def __init__(self, stack: Stack) -> None:
        self.base = stack.url("gateway")
        self.token = seed.gateway_token(self.base)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base}/experience{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15,
            **kwargs,
        )
        assert response.status_code == 200, response.text
        return response.json()


VERSION_FIELDS = {"recorded_at", "trace_id", "trace_ids", "correlation_id"}
"""What a re-run flow changes about a record it only reads or converges again: when and by which trace."""


def records(value: Any) -> Any:
    """A lineage without the fields of the version that recorded each record."""
    if isinstance(value, dict):
        link = str(value.get("kind", "")).endswith(".linked")  # a link is observed at each re-run
        return {
            k: records(v)
            for k, v in value.items()
            if k not in VERSION_FIELDS and not (link and k == "occurred_at")
        }
    if isinstance(value, list):
        return [records(v) for v in value]
    return value


def flush(stack: Stack) -> int:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        keys = list(client.scan_iter(match=f"{stack.key_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def test_flushing_redis_and_restarting_every_process_keeps_figures_lineage_and_history(stack: Stack) -> None:
    deals = [money.onboard(stack), money.onboard(stack, "uk")]
    held = hold_a_contract_on_an_unmapped_product(stack)
    api = Gateway(stack)
    [record] = wait_until(
        lambda: api.call("GET", "/v2/exceptions", params={"business_key": held})["items"],
        timeout=30,
        message="the held contract's exception",
    )
    api.call("POST", f"/v2/exceptions/{record['id']}/reassign", json={"owner": "finance-ops", "note": "ours"})
    money.drain(stack)
    wait_until(lambda: settled(stack), timeout=60, message="the workers and the projector to settle")

    def snapshot(gw: Gateway) -> dict[str, Any]:
        summary = gw.call("GET", "/v2/revenue/summary")
        summary["reporting"].pop("as_of", None)
        summary.pop("as_of", None)
        return {
            "summary": summary,
            "lineage": gw.call("GET", "/v2/lineage", params={"contract_id": deals[0].contract_id}),
            "exception": gw.call("GET", f"/v2/exceptions/{record['id']}"),
        }

    before = snapshot(api)
    assert before["summary"]["amounts"]["USD"]["billings"] > 0
    assert [h["action"] for h in before["exception"]["history"]][-1] == "reassign"

    assert flush(stack) > 0
    stack.restart_services()
    # the poller's watermark was in Redis: it reads the CRM again and the flows re-run, converging
    # every write by its key (re-processing, never a duplicate); let that settle, then compare
    money.drain(stack)
    wait_until(lambda: settled(stack), timeout=60, message="the re-read to settle")
    after = snapshot(Gateway(stack))
    for part in ("amounts", "breakdown"):  # the figures (the reporting block also says when it folded)
        assert after["summary"][part] == before["summary"][part]
    assert records(after["lineage"]) == records(before["lineage"])
    kept = ("id", "flow", "business_key", "error_class", "owner")
    assert {k: after["exception"][k] for k in kept} == {k: before["exception"][k] for k in kept}
    history = after["exception"]["history"]
    assert history[: len(before["exception"]["history"])] == before["exception"]["history"]

    # new events after the loss: onboarded, billed, posted once, and counted
    usd_billings = before["summary"]["amounts"]["USD"]["billings"]
    deal = money.onboard(stack)
    money.drain(stack)
    assert len(money.netsuite(stack, "invoice", deal.invoice_id)) == 1
    with money.stripe_http(stack) as billing:
        total = billing.get(f"/v1/invoices/{deal.invoice_id}").raise_for_status().json()["total"]
    gw = Gateway(stack)
    wait_until(
        lambda: gw.call("GET", "/v2/revenue/summary")["amounts"]["USD"]["billings"] == usd_billings + total,
        timeout=30,
        message="the new invoice in the figures",
    )
