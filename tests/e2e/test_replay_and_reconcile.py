"""Replay by time range and reconciliation on the whole stack, through the gateway with the CLI.

A payment whose bus entry was trimmed before any worker saw it is posted after ``revbridge replay
--since/--until`` re-reads Stripe's events API. Then the ERP is tampered with the way real ledgers
go wrong (an invoice deleted, one copied again without a key, one changed by hand), and
``revbridge reconcile`` finds each, exits 5, and files an owned exception per difference; fixing
the missing one and reconciling again resolves its exception.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
from click.testing import CliRunner, Result
from revbridge_process.cli import main as cli_main
from revbridge_system.adapters.netsuite.tba import TokenAuth

from scripts import seed
from scripts.stack import ROOT, Stack
from tests.e2e.test_spine import bus_idle, netsuite_records, stripe_client, with_external_id
from tests.support.procs import wait_until

NETSUITE_API = "/services/rest/record/v1"


@pytest.fixture(scope="module")
def netsuite(stack: Stack) -> Iterator[httpx.Client]:
    """A signed SuiteTalk client, as a person editing the ledger by hand would use (demo credentials)."""
    auth = TokenAuth(
        client_id="revbridge-demo-consumer-key",
        client_secret="revbridge-demo-consumer-secret",
        token="revbridge-demo-token-id",
        token_secret="revbridge-demo-token-secret",
        realm="1234567_SB1",
    )
    with httpx.Client(base_url=stack.url("netsuite") + NETSUITE_API, auth=auth, timeout=10) as client:
        yield client


def cli(stack: Stack, *args: str) -> Result:
    token = seed.gateway_token(stack.url("gateway"))
    api = f"{stack.url('gateway')}/process"
    return CliRunner().invoke(cli_main, ["--api", api, "--token", token, *args])


def _onboarded_invoices(stack: Stack, demo: seed.Demo, count: int) -> list[str]:
    """``count`` new contracts of a customer of their own (the demo's stays as other tests expect),
    each onboarded with its first invoice posted."""
    with seed.salesforce_client(stack.url("salesforce")) as sf:
        products = {
            code: seed.sf_create(sf, "Product2", {"Name": name, "ProductCode": code, "IsActive": True})
            for code, name, _, _ in seed.CATALOGUE
        }
        fields = {"Name": "Replay Co", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
        account = seed.sf_create(sf, "Account", fields | {"ParentId": demo.parent_account_id})
        contracts = [
            seed.seed_contract(sf, account, products, [("PLAT-ENT", 1), ("SEAT", n + 2)], f"Replay {n}")
            for n in range(count)
        ]
        for contract in contracts:
            seed.activate(sf, contract)
        subscriptions = [
            seed.poll(
                lambda c=contract: sf.get(f"/sobjects/Contract/{c}").json().get("Billing_Subscription_Id__c"),
                f"contract {contract}'s onboarding",
            )
            for contract in contracts
        ]
    with stripe_client(stack) as billing:
        invoices = [billing.get(f"/v1/subscriptions/{s}").json()["latest_invoice"] for s in subscriptions]
    for invoice in invoices:
        wait_until(
            lambda i=invoice: with_external_id(netsuite_records(stack, "invoice"), i),
            timeout=60,
            message=f"invoice {invoice} posted",
        )
    return invoices


@contextmanager
def worker_down(stack: Stack, name: str = "process-worker") -> Iterator[None]:
    """Kill the worker (SIGKILL, so no read of it is left waiting at Redis) for the block, then start
    a new one as the stack does: what arrives meanwhile waits on the bus, unread."""
    old = stack.procs[name]
    os.kill(old.pid, signal.SIGKILL)
    old.wait(timeout=10)
    try:
        yield
    finally:
        log = open(stack.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        stack.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "revbridge_process.worker"],
            env={**os.environ, **stack.env()},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _erp_payments_of(stack: Stack, invoice_id: str) -> list[dict[str, Any]]:
    [erp_invoice] = with_external_id(netsuite_records(stack, "invoice"), invoice_id)
    payments = netsuite_records(stack, "customerpayment")
    return [p for p in payments if any(a["doc"] == erp_invoice["id"] for a in p.get("apply", []))]


def _differences(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(d["pair"], d["category"], d["business_key"]) for d in report["differences"]}


def test_replay_by_time_range_posts_a_payment_whose_bus_entry_was_trimmed(
    stack: Stack, demo: seed.Demo
) -> None:
    [invoice] = _onboarded_invoices(stack, demo, 1)
    wait_until(lambda: bus_idle(stack), timeout=30, message="the workers to drain the bus")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    stream = stack.key_prefix + "events:billing"
    r = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        with worker_down(stack):
            with stripe_client(stack) as billing:
                billing.post(
                    f"/v1/invoices/{invoice}/pay", data={"payment_method": "pm_card_visa"}
                ).raise_for_status()
            wait_until(
                lambda: any(
                    f.get("subject") == invoice and f.get("type") == "billing.invoice.paid"
                    for _, f in r.xrange(stream)
                ),
                timeout=30,
                message="the paid webhook on the bus",
            )
            r.xtrim(stream, maxlen=0, approximate=False)  # beyond the bus's retention now
            # the group's lag would count the trimmed entry forever (Redis 7.0): set it straight
            added = int(r.xinfo_stream(stream)["entries-added"])
            r.xgroup_setid(stream, "process", "$", entries_read=added)
        wait_until(lambda: bus_idle(stack), timeout=30, message="the workers to drain the bus")
        assert _erp_payments_of(stack, invoice) == []  # nothing left on the bus to post it from
    finally:
        r.close()

    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    result = cli(
        stack,
        "replay",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        "--source",
        "billing",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["published"] >= 1 and summary["by_type"].get("billing.invoice.paid", 0) >= 1

    payments = wait_until(lambda: _erp_payments_of(stack, invoice), timeout=60, message="the payment posted")
    assert len(payments) == 1
    # the same range again changes nothing: the flows converge
    again = cli(
        stack, "replay", "time-range", "--since", since.isoformat(), "--until", until.isoformat(), "--json"
    )
    assert again.exit_code == 0, again.output
    wait_until(lambda: bus_idle(stack), timeout=30, message="the workers to drain the bus")
    assert len(_erp_payments_of(stack, invoice)) == 1
    empty = cli(stack, "replay", "--since", "2001-01-01T00:00:00Z", "--until", "2001-01-02T00:00:00Z")
    assert empty.exit_code == 1  # nothing recorded then: nothing to do


def test_reconcile_finds_missing_duplicated_and_changed_erp_invoices_and_files_exceptions(
    stack: Stack, demo: seed.Demo, netsuite: httpx.Client
) -> None:
    deleted, copied, changed = _onboarded_invoices(stack, demo, 3)
    wait_until(lambda: bus_idle(stack), timeout=30, message="the workers to drain the bus")
    [gone] = with_external_id(netsuite_records(stack, "invoice"), deleted)
    [original] = with_external_id(netsuite_records(stack, "invoice"), copied)
    [edited] = with_external_id(netsuite_records(stack, "invoice"), changed)
    netsuite.delete(f"/invoice/{gone['id']}").raise_for_status()
    line = {"item": {"id": "101"}, "quantity": 1, "amount": original["total"]}
    copy = {"entity": {"id": str(original["entity"])}, "memo": copied, "item": {"items": [line]}}
    netsuite.post("/invoice", json=copy).raise_for_status()  # a second copy, without a key
    altered = {"item": {"items": [{"item": {"id": "101"}, "quantity": 1, "amount": 1.23}]}}
    netsuite.patch(f"/invoice/{edited['id']}", json=altered).raise_for_status()

    result = cli(stack, "reconcile", "--grace-seconds", "0", "--json")
    assert result.exit_code == 5, result.output  # differences found
    report = json.loads(result.stdout)
    assert report["status"] == "completed" and report["progress"] == 1
    found = _differences(report)
    assert {
        ("invoice", "missing_in_target", deleted),
        ("invoice", "duplicated", copied),
        ("invoice", "amount_mismatch", changed),
    } <= found
    invoice_counts = report["by_pair"]["invoice"]
    assert invoice_counts["missing_in_target"] >= 1 and invoice_counts["duplicated"] >= 1
    assert invoice_counts["amount_mismatch"] >= 1 and invoice_counts["matched"] >= 1

    for key in (deleted, copied, changed):
        shown = cli(stack, "exceptions", "show", f"reconciliation:invoice:{key}", "--json")
        assert shown.exit_code == 0, shown.output
        record = json.loads(shown.stdout)
        assert (record["flow"], record["status"], record["owner"]) == (
            "reconciliation",
            "open",
            "finance-ops",
        )
    latest = cli(stack, "reconcile", "--latest", "--json")
    assert latest.exit_code == 5 and json.loads(latest.stdout)["id"] == report["id"]

    # fix the missing one by re-running its flow, then reconcile again: its exception is resolved
    assert cli(stack, "replay", "key", "invoice_posting", deleted, "--account", "default").exit_code == 0
    wait_until(
        lambda: with_external_id(netsuite_records(stack, "invoice"), deleted), timeout=60, message="re-posted"
    )
    second = cli(stack, "reconcile", "--grace-seconds", "0", "--pair", "invoice", "--json")
    assert second.exit_code == 5, second.output  # the duplicate and the changed amount remain
    again = json.loads(second.stdout)
    assert ("invoice", "missing_in_target", deleted) not in _differences(again)
    assert again["exceptions_resolved"] >= 1
    record = json.loads(
        cli(stack, "exceptions", "show", f"reconciliation:invoice:{deleted}", "--json").stdout
    )
    assert record["status"] == "resolved"
