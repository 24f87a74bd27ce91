"""The chaos run's instruments: the fault mix, "drained", the exception-queue check, the process
API's own reconciliation (when it has one) and the naive copier's rig (its NetSuite and process).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import yaml

from scripts.chaos_http import call, stripe_form
from scripts.chaos_world import Platforms, World
from scripts.stack import ROOT

SANDBOXES = ("stripe", "salesforce", "netsuite")
MIX = (("error", 0.05), ("rate_limit", 0.05), ("timeout", 0.02), ("commit_then_drop", 0.02))
"""Marginal share of requests per kind: ~5% 500, 5% 429, 2% timeouts, 2% committed-but-dropped."""
STREAMS = ("events:crm", "events:billing")
PROCESS_CONTRACT = ROOT / "contracts/src/revbridge_contracts/openapi/process-v1.yaml"
COPIER_EVENTS = ("customer.created", "invoice.finalized", "invoice.paid")


def run_config(source: Path, target: Path, time_scale: float, concurrency: int | None = None) -> Path:
    """The configuration the run's services read: ``config/`` itself, or a copy whose retry
    policies wait ``time_scale`` times as long between attempts and deliveries (and, when given,
    handle ``concurrency`` entries per flow at once). Attempts, deliveries, retryable classes and
    give-up rules stay as configured: the policy is the same, compressed in time, so a run
    converges in minutes where production takes hours."""
    if time_scale == 1.0 and concurrency is None:
        return source
    shutil.copytree(source, target, dirs_exist_ok=True)
    path = target / "retry-policies.yaml"
    policies = yaml.safe_load(path.read_text()) or {}
    for step in (policies.get("steps") or {}).values():
        if concurrency is not None and "concurrency" in step:
            step["concurrency"] = concurrency
        for holder in (step, step.get("redelivery") or {}):
            for name in ("base_seconds", "max_seconds"):
                if name in holder:
                    holder[name] = round(float(holder[name]) * time_scale, 3)
    path.write_text(yaml.safe_dump(policies, sort_keys=False))
    return target


NETSUITE_RECORD = "/services/rest/record/v1"
SURE_REVBRIDGE: tuple[dict[str, Any], ...] = (
    {"method": "POST", "path": f"{NETSUITE_RECORD}/invoice", "kind": "commit_then_drop", "count": 2},
    {"method": "POST", "path": f"{NETSUITE_RECORD}/customerpayment", "kind": "commit_then_drop", "count": 2},
    {"method": "POST", "path": f"{NETSUITE_RECORD}/invoice", "kind": "timeout", "count": 1},
)
"""On top of the random mix, certain lost answers on revbridge's NetSuite money writes, so every
run exercises the look-up after a lost answer (a run whose dice never hit those writes would prove
nothing)."""
SURE_NAIVE: tuple[dict[str, Any], ...] = (
    {"method": "POST", "path": f"{NETSUITE_RECORD}/invoice", "kind": "commit_then_drop", "count": 2},
    {"method": "POST", "path": f"{NETSUITE_RECORD}/customerpayment", "kind": "commit_then_drop", "count": 2},
)
"""The same for the naive copier's plain creates."""


def fault_rules(hang_seconds: float, sure: tuple[dict[str, Any], ...] = ()) -> list[dict[str, Any]]:
    """``sure`` first (each fires its ``count`` times on the first matching requests), then the
    mix. The engine tries rules in order, so each rule's probability is conditional on the ones
    before it not firing; that makes every kind's marginal share the one in ``MIX``."""
    rules: list[dict[str, Any]] = [
        {**rule, "hang_seconds": hang_seconds} if rule["kind"] == "timeout" else dict(rule) for rule in sure
    ]
    taken = 0.0
    for kind, share in MIX:
        rule: dict[str, Any] = {"path": "*", "kind": kind, "probability": share / (1 - taken), "count": None}
        if kind == "error":
            rule["status"] = 500
        if kind == "rate_limit":
            rule["retry_after"] = 1
        if kind == "timeout":
            rule["hang_seconds"] = hang_seconds
        rules.append(rule)
        taken += share
    return rules


async def set_faults(admin: httpx.AsyncClient, base: str, rules: list[dict[str, Any]], seed: int) -> None:
    await call(admin, "DELETE", f"{base}/__sandbox/faults")
    if rules:
        await call(admin, "POST", f"{base}/__sandbox/faults/seed", json={"seed": seed})
        await call(admin, "POST", f"{base}/__sandbox/faults", json=rules)


async def sure_faults_left(admin: httpx.AsyncClient, base: str) -> int:
    """Counted rules that have not fired all their times yet (0: every certain fault happened)."""
    plan = (await call(admin, "GET", f"{base}/__sandbox/faults")).json()
    return sum(int(rule["count"]) for rule in plan["data"] if rule.get("count") is not None)


async def webhooks_pending(admin: httpx.AsyncClient, stripe_base: str, endpoint: str) -> tuple[int, int]:
    """(pending, failed) Stripe webhook deliveries to endpoints whose URL starts with ``endpoint``."""
    rows = (await call(admin, "GET", f"{stripe_base}/__sandbox/webhooks/deliveries")).json()["data"]
    mine = [r for r in rows if str(r["endpoint_url"]).startswith(endpoint)]
    return sum(r["status"] == "pending" for r in mine), sum(r["status"] == "failed" for r in mine)


async def wait_webhooks(admin: httpx.AsyncClient, stripe_base: str, endpoint: str, timeout: float) -> int:
    """Wait until Stripe has stopped delivering (or retrying) to ``endpoint``; what is still pending."""
    deadline = time.monotonic() + timeout
    while (
        pending := (await webhooks_pending(admin, stripe_base, endpoint))[0]
    ) and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
    return pending


async def stream_backlog(redis_url: str, prefix: str) -> dict[str, int]:
    """Pending (delivered, not acknowledged) and unread (after the group's last delivered id)
    entries over the revbridge streams. Unread is counted, not taken from XINFO's ``lag``, which
    Redis leaves unknown after a restart."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    out = {"pending": 0, "unread": 0}
    try:
        for stream in STREAMS:
            key = prefix + stream
            if await client.exists(key):
                for group in await client.xinfo_groups(key):
                    out["pending"] += int(group["pending"] or 0)
                    after = await client.xrange(key, min=f"({group['last-delivered-id']}", count=10_000)
                    out["unread"] += len(after or [])
    finally:
        await client.aclose()
    return out


async def wait_drained(
    admin: httpx.AsyncClient, stripe_base: str, endpoint: str, redis_url: str, prefix: str, timeout: float
) -> str | None:
    """Poll until no webhook is still being delivered and the streams are idle, twice in a row;
    None when drained, else what was still there at the deadline."""
    started, calm, state, told = time.monotonic(), 0, "", time.monotonic()
    while calm < 2:
        if time.monotonic() - started > timeout:
            return f"not drained after {timeout:.0f}s: {state}"
        if time.monotonic() - told > 15:
            print(f"chaos: draining: {state}", flush=True)
            told = time.monotonic()
        pending, _ = await webhooks_pending(admin, stripe_base, endpoint)
        backlog = await stream_backlog(redis_url, prefix)
        state = (
            f"{pending} webhooks in flight, {backlog['pending']} entries pending, {backlog['unread']} unread"
        )
        calm = calm + 1 if pending == 0 and not any(backlog.values()) else 0
        await asyncio.sleep(1.0)
    return None


@dataclass
class HeldCheck:
    """Each deliberately unmapped contract held in the exception queue with its owner."""

    expected_owner: str
    held: list[tuple[str, str, str]] = field(default_factory=list)  # contract, owner, reason
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


async def check_held(process: str, world: World, config_dir: Path) -> HeldCheck:
    owners = yaml.safe_load((config_dir / "exceptions.yaml").read_text())["classes"]
    check = HeldCheck(str(owners.get("mapping_missing", owners["unknown"])["owner"]))
    async with httpx.AsyncClient(base_url=process, timeout=30) as client:
        records, cursor = [], None
        while True:
            params = {"error_class": "mapping_missing", "limit": 500} | ({"cursor": cursor} if cursor else {})
            page = (await call(client, "GET", "/v1/exceptions", params=params)).json()
            records += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    by_key = {r["business_key"]: r for r in records if r["status"] != "resolved"}
    for account in world.unmapped:
        record = by_key.get(account.contract_id)
        if (
            record is None
            or record["owner"] != check.expected_owner
            or not all(code in record["reason"] for code in account.unmapped_codes)
        ):
            check.missing.append(f"{account.contract_id} ({', '.join(account.unmapped_codes)})")
        else:
            check.held.append((account.contract_id, record["owner"], record["reason"]))
    return check


async def open_exceptions(process: str) -> dict[str, int]:
    """Open or retrying exceptions by flow/error class (the end state, for the operator)."""
    out: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=process, timeout=30) as client:
        for status in ("open", "retrying"):
            cursor = None
            while True:
                params: dict[str, Any] = {"status": status, "limit": 500} | (
                    {"cursor": cursor} if cursor else {}
                )
                page = (await call(client, "GET", "/v1/exceptions", params=params)).json()
                for r in page["items"]:
                    key = f"{r['flow']}/{r['error_class']}"
                    out[key] = out.get(key, 0) + 1
                cursor = page.get("next_cursor")
                if not cursor:
                    break
    return out


def process_has_reconciliation() -> bool:
    paths = (yaml.safe_load(PROCESS_CONTRACT.read_text()) or {}).get("paths") or {}
    return "/v1/reconciliations" in paths


ProcessRecon = list[tuple[str, dict[str, int]]]
"""(pair, counts) rows of the process API's report: ``all`` first, then each pair."""


def _rows(report: dict[str, Any]) -> ProcessRecon:
    rows = [("all", dict(report.get("counts") or {}))]
    return rows + [(pair, dict(counts)) for pair, counts in (report.get("by_pair") or {}).items()]


async def process_reconciliation(process: str, timeout: float = 600.0) -> ProcessRecon | None:
    """The process API's own reconciliation of every pair, with no grace period (the queues have
    drained, nothing is in flight); None while the process API does not serve it."""
    if not process_has_reconciliation():
        return None
    async with httpx.AsyncClient(base_url=process, timeout=timeout) as client:
        response = await call(
            client,
            "POST",
            "/v1/reconciliations",
            json={"grace_seconds": 0, "wait": True},
            accept=lambda r: r.status_code in (404, 405),
        )
        if response.status_code in (404, 405):  # in the contract, not served yet
            return None
        report = response.json()
        deadline = time.monotonic() + timeout
        while report.get("status") == "running" and response.headers.get("Location"):
            if time.monotonic() > deadline:
                raise TimeoutError("the process API's reconciliation did not finish")
            await asyncio.sleep(1.0)
            report = (await call(client, "GET", response.headers["Location"])).json()
    if report.get("status") == "failed":
        raise RuntimeError(f"the process API's reconciliation failed: {report.get('phase')}")
    return _rows(report)


@dataclass
class NaiveRig:
    """The naive copier and its own NetSuite sandbox, fed by a second Stripe webhook endpoint."""

    netsuite_port: int
    copier_port: int
    run_dir: Path
    timeout: float = 3.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def netsuite(self) -> str:
        return f"http://127.0.0.1:{self.netsuite_port}"

    @property
    def copier(self) -> str:
        return f"http://127.0.0.1:{self.copier_port}"

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.run_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _copier_args(self) -> list[str]:
        db = str(self.run_dir / "naive-copier.sqlite")
        args = ["-m", "scripts.naive_copier", "--port", str(self.copier_port), "--netsuite", self.netsuite]
        return [*args, "--db", db, "--timeout", str(self.timeout)]

    def start(self) -> None:
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._spawn(
            "naive-netsuite", ["-m", "revbridge_sandboxes", "netsuite", "--port", str(self.netsuite_port)]
        )
        self._spawn("naive-copier", self._copier_args())
        for url in (f"{self.netsuite}/__sandbox/health", f"{self.copier}/health"):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"naive rig: {url} not healthy")
                time.sleep(0.1)

    def kill_and_restart(self) -> None:
        proc = self.procs["naive-copier"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self._spawn("naive-copier", self._copier_args())

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    async def subscribe(self, p: Platforms) -> None:
        """A second webhook endpoint in every Stripe account, pointing at the copier."""
        params = {"url": f"{self.copier}/webhooks/stripe", "enabled_events": list(COPIER_EVENTS)}
        for stripe in p.stripe.values():
            await call(stripe, "POST", "/v1/webhook_endpoints", data=stripe_form(params))
