"""End-to-end throughput and latency of invoice posting (Stripe invoice finalized → NetSuite invoice
posted) with 1 and 2 workers, beside the NetSuite sandbox's raw create rate; peak memory per process.

For each worker count: its own Redis and whole stack (``scripts.chaos_stack``), customers onboarded
through Salesforce → Stripe → NetSuite, then the billing test clocks run month after month, back to
back, so a subscription renewal finalizes one invoice per customer per month, and revbridge posts
them. No faults. Times come from Redis itself: a billing event's stream entry id is the moment the
system API accepted Stripe's ``invoice.finalized`` webhook, and the ``invoice.posted`` ledger fact's
entry id the moment the worker finished writing the NetSuite invoice (same clock for both).

- throughput: posted invoices / (last posted - first accepted);
- latency: posted - accepted per invoice, p50/p95 (under the backlog of the month bursts);
- raw rate: authenticated ``POST /record/v1/invoice`` on a fresh NetSuite sandbox with the same
  settings (concurrency limit 15), keep-alive connections, measured just before each run;
- system API rate: after each run, in the same stack, ``PUT /v1/erp/invoices/{key}`` on the system
  API at the same concurrency, a new key each time: one idempotent invoice write through one layer
  (look-up by key, then create, under the shared NetSuite budget), where the pipeline adds the
  webhook, the bus, the worker, the billing and CRM reads and the ledger facts around it;
- peak RSS (VmHWM) of every process when ``--memory-at`` invoices are posted, and at the end;
- CPU seconds each process spent during the measurement (where the time goes).

``--netsuite-latency-ms N`` makes the NetSuite sandbox answer every call N ms late (its ``latency``
fault, inside the account's concurrency slot), for the raw rate and the pipeline alike: whether
revbridge keeps up with a NetSuite whose calls take time, where the in-memory sandbox answers at
once. The latency is an assumption of the run, not a measured NetSuite figure.

Goals (reported, not asserted): ≥ 0.4x the raw rate; 2 workers ≥ 1.6x one; no process above 200 MB;
no growth between the memory points beyond noise. Full size on a quiet machine:

    uv run python bench/pipeline.py --invoices 20000 --workers 1,2 --memory-at 5000,20000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis.asyncio as aioredis
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.chaos_billing import activate, advance, wait_subscribed  # noqa: E402
from scripts.chaos_stack import WEBHOOK_DELIVERY, ChaosStack, RedisServer  # noqa: E402
from scripts.chaos_world import (  # noqa: E402
    Platforms,
    Scenario,
    World,
    listen_to_revbridge_events,
    load_entities,
    seed_world,
)
from scripts.stack import DEFAULT_PORTS, free_ports, running_stack, scratch_database  # noqa: E402

CONFIG = ROOT / "config"
GOAL_RAW_SHARE, GOAL_SCALING, GOAL_MB = 0.4, 1.6, 200
STALL_SECONDS = 120.0


def _sandbox_bench() -> Any:
    """bench/sandboxes/netsuite.py: its token and raw HTTP load loop (a script, loaded by path)."""
    spec = importlib.util.spec_from_file_location(
        "bench_sandbox_netsuite", ROOT / "bench/sandboxes/netsuite.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def netsuite_latency_env(latency_ms: int) -> dict[str, str]:
    """The NetSuite sandbox's start-up faults for ``--netsuite-latency-ms``: every call N ms late."""
    if not latency_ms:
        return {}
    rule = {"path": "/services/rest/*", "kind": "latency", "latency_ms": latency_ms, "count": None}
    return {"NETSUITE_SANDBOX_FAULTS": json.dumps([rule])}


def raw_invoice_rate(seconds: float, connections: int, latency_ms: int = 0) -> float:
    """Invoices/s a fresh NetSuite sandbox (default settings, M2M token) creates at the account's
    concurrency: the ceiling the pipeline is compared with."""
    ns = _sandbox_bench()
    key = RSAKey.generate_key(2048)
    port = free_ports(["raw"])["raw"]
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NETSUITE_SANDBOX_M2M_CLIENT_ID": "bench",
        "NETSUITE_SANDBOX_M2M_CERTIFICATE_ID": "bench-cert",
        "NETSUITE_SANDBOX_M2M_PUBLIC_KEY": key.as_pem(private=False).decode(),
        **netsuite_latency_env(latency_ms),
    }
    args = [sys.executable, "-m", "revbridge_sandboxes", "netsuite", "--port", str(port)]
    server = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/__sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        token = ns.bearer_token(base, key)
        headers = {"Authorization": f"Bearer {token}"}
        customer = httpx.post(
            f"{base}/services/rest/record/v1/customer",
            json={"companyName": "Raw Rate Co", "subsidiary": {"id": "1"}},
            headers=headers,
        )
        customer_id = customer.headers["Location"].rsplit("/", 1)[-1]
        body = json.dumps(
            {"entity": {"id": customer_id}, "item": {"items": [{"item": {"id": "101"}, "amount": 100.0}]}}
        ).encode()
        create = ns.request_bytes("POST", "/services/rest/record/v1/invoice", port, token, body)
        ns.drive(port, create, 0.5, 1, connections)  # warm-up
        rate, _errors = ns.drive(port, create, seconds, 1, connections)
        return float(rate)
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class Run:
    workers: int
    system_apis: int = 1
    invoices: int = 0
    throughput: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    idle_p50_ms: float = 0.0
    idle_p95_ms: float = 0.0
    raw_rate: float = 0.0
    system_api_rate: float = 0.0
    seconds: float = 0.0
    memory_mb: dict[int, dict[str, float]] = field(default_factory=dict)  # posted count -> name -> MB
    cpu_s: dict[str, float] = field(default_factory=dict)


async def failed_deliveries(admin: httpx.AsyncClient, stripe_base: str) -> int:
    rows = (await admin.get(f"{stripe_base}/__sandbox/webhooks/deliveries")).json()["data"]
    return sum(r["status"] == "failed" for r in rows)


def _ms(entry_id: Any) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0])


class Clock:
    """Reads the billing stream and the ledger incrementally: accepted and posted times per invoice
    (accepted: the stream entry's time; posted: when the ``invoice.posted`` fact reached the ledger)."""

    def __init__(self, redis_url: str, prefix: str, database_url: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.prefix, self.database_url = prefix, database_url
        self.accepted: dict[str, int] = {}
        self.posted: dict[str, int] = {}
        self._last, self._last_fact = "0-0", 0

    async def poll(self) -> None:
        while True:
            rows: list[tuple[str, dict[str, str]]] = await self.redis.xrange(  # type: ignore[assignment]
                self.prefix + "events:billing", min=f"({self._last}", count=5000
            )
            if not rows:
                break
            for entry_id, fields in rows:
                if fields.get("type") == "billing.invoice.finalized":
                    self.accepted.setdefault(fields["subject"], _ms(entry_id))
            self._last = rows[-1][0]
        for fact_id, key, at in await asyncio.to_thread(self._posted_since, self._last_fact):
            self.posted.setdefault(key, int(at.timestamp() * 1000))
            self._last_fact = max(self._last_fact, fact_id)

    def _posted_since(self, last: int) -> list[tuple[int, str, Any]]:
        with psycopg.connect(self.database_url) as conn:
            return list(
                conn.execute(
                    "SELECT id, key, inserted_at FROM revbridge.ledger_fact"
                    " WHERE kind = 'invoice.posted' AND id > %s ORDER BY id",
                    (last,),
                )
            )


async def pipeline(
    run: Run, stack: ChaosStack, redis_url: str, scenario: Scenario, memory_at: list[int]
) -> None:
    entities = load_entities(CONFIG, stack.env())
    p = Platforms({n: stack.url(n) for n in ("stripe", "salesforce", "netsuite")}, entities, timeout=30)
    clock = Clock(redis_url, stack.key_prefix, stack.database_url)
    try:
        await p.login()
        await listen_to_revbridge_events(p)
        world = await seed_world(p, scenario, entities, CONFIG)
        await activate(p, world.accounts)
        await wait_subscribed(p, world, 300)
        await clock.poll()
        before = set(clock.accepted)  # the subscriptions' first invoices: not measured
        wanted = len(world.renewing) * scenario.months
        cpu0, t0, t0_ms = stack.cpu(), time.monotonic(), int(time.time() * 1000)
        for month in range(1, scenario.months + 1):
            await advance(p, world, month, timeout=600)
            await clock.poll()
        points = sorted(m for m in memory_at if m <= wanted)
        progress, moved = -1, time.monotonic()
        while True:
            await clock.poll()
            done = len([i for i in clock.posted if i not in before])
            while points and done >= points[0]:
                run.memory_mb[points.pop(0)] = {k: v / 1024 for k, v in stack.sample_memory().items()}
            if done >= wanted:
                break
            if done != progress:
                progress, moved = done, time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS:
                failed = await failed_deliveries(p.admin, stack.url("stripe"))
                raise RuntimeError(
                    f"stalled at {done} of {wanted} invoices posted for {STALL_SECONDS:.0f}s "
                    f"({failed} webhook deliveries Stripe gave up on; see {stack.log_dir})"
                )
            await asyncio.sleep(0.5)
        cpu1 = stack.cpu()
        run.cpu_s = {name: cpu1[name] - cpu0.get(name, 0.0) for name in cpu1}
        run.seconds = time.monotonic() - t0
        run.memory_mb[wanted] = {k: v / 1024 for k, v in stack.sample_memory().items()}
        measured = [i for i in clock.posted if i not in before and clock.accepted.get(i, 0) >= t0_ms]
        latencies = sorted(clock.posted[i] - clock.accepted[i] for i in measured)
        run.invoices = len(measured)
        span_ms = max(clock.posted[i] for i in measured) - min(clock.accepted[i] for i in measured)
        run.throughput = 1000 * len(measured) / max(span_ms, 1)
        run.p50_ms, run.p95_ms = percentile(latencies, 50), percentile(latencies, 95)
        await probe(run, p, world, clock)
        account = world.renewing[0]
        run.system_api_rate = await system_api_write_rate(
            stack.url("system"), account.crm_account_id, account.entity.currency, 3.0, 15
        )
    finally:
        await clock.redis.aclose()
        await p.aclose()


async def system_api_write_rate(
    base: str, customer_external_id: str, currency: str, seconds: float, concurrency: int
) -> float:
    """Invoices/s the system API writes idempotently to NetSuite (a new key per write) for one
    onboarded customer, ``concurrency`` writes in flight."""
    today = dt.date.today().isoformat()
    body = {
        "customer_external_id": customer_external_id,
        "currency": currency,
        "tran_date": today,
        "lines": [
            {"item_id": "101", "quantity": 1, "amount": 10000, "period_start": today, "period_end": today}
        ],
    }
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def writer(client: httpx.AsyncClient, name: str, until: float) -> int:
        written = 0
        while time.monotonic() < until:
            answer = await client.put(f"/v1/erp/invoices/bench-sysapi-{name}-{written}", json=body)
            answer.raise_for_status()
            written += 1
        return written

    async def drive(phase: str, for_seconds: float) -> float:
        started = time.monotonic()
        until = started + for_seconds
        counts = await asyncio.gather(*(writer(client, f"{phase}{n}", until) for n in range(concurrency)))
        return sum(counts) / (time.monotonic() - started)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await drive("warm", 0.5)
        return await drive("run", seconds)


def percentile(values: list[int] | list[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))])


async def probe(run: Run, p: Platforms, world: World, clock: Clock, months: int = 10) -> None:
    """Latency with nothing else in flight: the probe customers' own clocks, one month at a time,
    each month's invoices posted before the next."""
    if not world.probes:
        return
    samples: list[int] = []
    clocks = {world.probe_clocks[a.index]: a.entity.billing_account for a in world.probes}
    for month in range(1, months + 1):
        since = int(time.time() * 1000)
        await advance(p, world, month, clocks=clocks)
        deadline = time.monotonic() + 60
        while True:
            await clock.poll()
            fresh = [i for i, t in clock.accepted.items() if t >= since]
            if len(fresh) >= len(world.probes) and all(i in clock.posted for i in fresh):
                samples += [clock.posted[i] - clock.accepted[i] for i in fresh]
                break
            if time.monotonic() > deadline:
                raise TimeoutError("a probe invoice was not posted within 60 s")
            await asyncio.sleep(0.05)
    run.idle_p50_ms, run.idle_p95_ms = percentile(samples, 50), percentile(samples, 95)


def measure(
    workers: int,
    scenario: Scenario,
    memory_at: list[int],
    raw_seconds: float,
    system_apis: int = 1,
    latency_ms: int = 0,
) -> Run:
    run = Run(workers, raw_rate=raw_invoice_rate(raw_seconds, 15, latency_ms), system_apis=system_apis)
    run_dir = ROOT / ".tmp" / f"bench-pipeline-{os.getpid()}-{workers}"
    ports = free_ports([*DEFAULT_PORTS, "redis"])
    redis = RedisServer(ports.pop("redis"), run_dir / "redis")
    scratch = ExitStack()
    database = scratch.enter_context(scratch_database("bench_pipeline"))
    stack = ChaosStack(
        ports=ports,
        redis_url=redis.url,
        database_url=database,
        key_prefix="rb:",
        log_dir=run_dir / "logs",
        keys_dir=run_dir / "keys",
        workers=workers,
        system_apis=system_apis,
        extra_env={
            "PROCESS_RECONCILE_INTERVAL_SECONDS": "0",
            **WEBHOOK_DELIVERY,
            **netsuite_latency_env(latency_ms),
        },
    )
    redis.start()
    try:
        with scratch, running_stack(stack):
            asyncio.run(pipeline(run, stack, redis.url, scenario, memory_at))
    finally:
        redis.stop()
        shutil.rmtree(run_dir / "redis", ignore_errors=True)  # logs stay in run_dir/logs
    return run


def report(runs: list[Run]) -> str:
    out = ["", "invoice posting, end to end (Stripe invoice finalized → NetSuite invoice posted)", ""]
    out.append(
        f"{'workers':>8} {'sys-apis':>8} {'invoices':>9} {'inv/s':>8} {'p50 ms':>9} {'p95 ms':>9} "
        f"{'idle p50':>9} {'idle p95':>9} {'raw inv/s':>10} {'x raw':>8} {'sys-api/s':>10}"
    )
    for r in runs:
        share = r.throughput / r.raw_rate if r.raw_rate else 0.0
        out.append(
            f"{r.workers:>8} {r.system_apis:>8} {r.invoices:>9} {r.throughput:>8.1f} "
            f"{r.p50_ms:>9.0f} {r.p95_ms:>9.0f} "
            f"{r.idle_p50_ms:>9.0f} {r.idle_p95_ms:>9.0f} {r.raw_rate:>10.0f} {share:>8.4f} "
            f"{r.system_api_rate:>10.1f}"
        )
    out.append(
        "p50/p95: under the backlog of the month bursts (every renewal of a month at once); idle: one "
        "invoice per probe customer at a time"
    )
    by_workers = {r.workers: r for r in runs}
    if 1 in by_workers and 2 in by_workers and by_workers[1].throughput:
        scaling = by_workers[2].throughput / by_workers[1].throughput
        out.append(f"2 workers / 1 worker: {scaling:.2f}x (goal ≥ {GOAL_SCALING}x)")
    out.append(
        "sys-api/s: one idempotent NetSuite invoice write through the system API alone (a new key "
        "each), same stack, same concurrency: the ceiling of one layer"
    )
    out.append(f"goal: ≥ {GOAL_RAW_SHARE}x the raw rate")
    for r in runs:
        out += ["", f"peak RSS (MB), {r.workers} worker(s), at invoices posted:"]
        points = sorted(r.memory_mb)
        names = sorted({n for m in r.memory_mb.values() for n in m})
        out.append(f"  {'process':24}" + "".join(f"{p:>10}" for p in points))
        for name in names:
            values = [r.memory_mb[p].get(name, 0.0) for p in points]
            flag = "  > 200 MB" if max(values) > GOAL_MB else ""
            out.append(f"  {name:24}" + "".join(f"{v:>10.0f}" for v in values) + flag)
        busy = sorted(r.cpu_s.items(), key=lambda kv: -kv[1])
        out.append(
            f"  CPU seconds during the {r.seconds:.0f} s measured: "
            + ", ".join(f"{n} {s:.0f}" for n, s in busy)
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--invoices", type=int, default=2000, help="renewal invoices to post per run")
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2")
    ap.add_argument("--memory-at", default="1000", help="posted counts at which to read peak memory")
    ap.add_argument("--raw-seconds", type=float, default=3.0)
    ap.add_argument(
        "--system-apis",
        default="1",
        help="system API replicas sharing its port: a number, or 'workers' for as many as workers",
    )
    ap.add_argument(
        "--netsuite-latency-ms",
        type=int,
        default=0,
        help="the NetSuite sandbox answers every call this late, raw rate and pipeline alike (0: at once)",
    )
    a = ap.parse_args()
    scenario = Scenario(customers=a.customers, invoices=a.invoices + a.customers, unmapped=0, probes=2)
    memory_at = [int(x) for x in a.memory_at.split(",") if x.strip()]
    counts = [int(w) for w in a.workers.split(",") if w.strip()]
    runs = [
        measure(
            w,
            scenario,
            memory_at,
            a.raw_seconds,
            w if a.system_apis == "workers" else int(a.system_apis),
            a.netsuite_latency_ms,
        )
        for w in counts
    ]
    if a.netsuite_latency_ms:
        print(f"\nNetSuite sandbox: every call answered {a.netsuite_latency_ms} ms late (an assumption)")
    print(report(runs), flush=True)


if __name__ == "__main__":
    main()
