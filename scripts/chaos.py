"""The chaos run (``make chaos``): revbridge keeps every invoice and payment exactly once while the
platforms fail under it, a worker is SIGKILLed, PostgreSQL and Redis restart — next to a naive copier.

1. Own Redis (own port and directory under ``.tmp``, AOF on) and PostgreSQL, the sandboxes, the services, N
   workers and the gateway on free ports; the naive copier with its own NetSuite sandbox.
2. The world (no faults yet): catalogue, CRM accounts and contracts across every legal entity of
   ``config/mappings.yaml``, billing customers on test clocks; a few contracts with unmapped products.
3. Faults on all three sandboxes (~5% 500, 5% 429, 2% timeouts, 2% committed-but-dropped), then
   the flows: contracts activated, months of renewals (one invoice per subscription per month),
   most paid, a few declined. A third of the way through one worker (and the copier) is SIGKILLed
   and started again; half way through PostgreSQL is restarted (fast shutdown); two thirds through,
   Redis is restarted on the same port and AOF directory.
4. Wait (with a deadline) until no webhook is in flight and the streams are idle, faults off.
5. Reconcile Stripe against each NetSuite (the harness's own count, plus the process API's
   reconciliation), count revbridge's ledger against both platforms (every invoice and payment's
   billed/collected and posted fact present) and check every unmapped contract is held with its owner.
Exit status 0 only when revbridge shows 0 missing, 0 duplicated, 0 amount/currency/status
mismatches, no fact missing from the ledger, and every unmapped product is held.

    uv run python -m scripts.chaos [--customers 200] [--invoices 5000] [--workers 2] [--no-naive]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.chaos_billing import Tally, activate, run_months, wait_subscribed
from scripts.chaos_recon import LedgerCheck, Report, check_ledger, reconcile_platforms
from scripts.chaos_rig import (
    SURE_NAIVE,
    SURE_REVBRIDGE,
    HeldCheck,
    NaiveRig,
    ProcessRecon,
    check_held,
    fault_rules,
    open_exceptions,
    process_reconciliation,
    run_config,
    set_faults,
    sure_faults_left,
    wait_drained,
    wait_webhooks,
    webhooks_pending,
)
from scripts.chaos_stack import WEBHOOK_DELIVERY, ChaosStack, PostgresServer, RedisServer
from scripts.chaos_world import (
    Platforms,
    Scenario,
    listen_to_revbridge_events,
    load_entities,
    seed_world,
)
from scripts.stack import DEFAULT_PORTS, ROOT, free_ports, running_stack

CONFIG = ROOT / "config"
MUST_BE_ZERO = ("missing_in_target", "duplicated", "amount_mismatch", "currency_mismatch", "status_mismatch")


@dataclass
class Options:
    scenario: Scenario = field(default_factory=Scenario)
    workers: int = 2
    faults: bool = True
    kill_worker: bool = True
    restart_redis: bool = True
    hard_redis_kill: bool = False
    restart_postgres: bool = True
    naive: bool = True
    platform_timeout: float = 3.0
    reclaim_idle_ms: int = 5000
    drain_timeout: float = 900.0
    keep: bool = False
    time_scale: float = 1.0
    """Retry and redelivery waits of config/retry-policies.yaml times this (a copy; 1 = as configured)."""
    concurrency: int | None = None
    """Entries per flow a worker handles at once (a copy of config/); None: as configured."""
    entities: tuple[str, ...] = ()
    """Countries of config/mappings.yaml's legal entities to use; empty means all."""


@dataclass
class Result:
    report: Report | None = None
    naive: Report | None = None
    process_recon: ProcessRecon | None = None
    held: HeldCheck | None = None
    tally: Tally = field(default_factory=Tally)
    open_exceptions: dict[str, int] = field(default_factory=dict)
    failed_webhooks: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    peaks_kb: dict[str, int] = field(default_factory=dict)
    drained: bool = False
    sure_faults_left: int = 0
    exited: list[str] = field(default_factory=list)
    """Processes of the stack that were not running at the end (none should be)."""
    ledger: LedgerCheck | None = None
    """The ledger in PostgreSQL counted against the platforms: no fact of a record missing."""

    @property
    def ok(self) -> bool:
        recon_clean = all(not any(c.get(k, 0) for k in MUST_BE_ZERO) for _, c in self.process_recon or [])
        held = self.held is not None and self.held.ok
        clean = bool(self.report and self.report.clean)
        alive = not self.exited
        ledger = self.ledger is not None and self.ledger.clean
        return (
            self.drained and clean and held and recon_clean and not self.sure_faults_left and alive and ledger
        )


def stack_env(opts: Options) -> dict[str, str]:
    """Deployment settings for the run: platform timeouts shorter than the injected hangs (so a
    hang is a client-side timeout, as in production, but costs seconds rather than minutes), the
    process → system timeout above the system API's worst case, a shorter reclaim idle time, and
    Stripe webhook retries that outlast a Redis restart (``WEBHOOK_DELIVERY``)."""
    t = opts.platform_timeout
    wider = (
        {
            "PROCESS_FLOW_CONCURRENCY": str(opts.concurrency),
            "PROCESS_MAX_IN_FLIGHT": str(2 * opts.concurrency),
        }
        if opts.concurrency
        else {}
    )
    return {
        **wider,
        **scaled_default_waits(opts.time_scale),
        "STRIPE_TIMEOUT_SECONDS": str(t),
        "SALESFORCE_TIMEOUT_SECONDS": str(t),
        "NETSUITE_TIMEOUT_SECONDS": str(t),
        "PROCESS_TIMEOUT_SECONDS": str(4 * t + 5),
        "PROCESS_RECLAIM_IDLE_MS": str(opts.reclaim_idle_ms),
        "PROCESS_RECONCILE_INTERVAL_SECONDS": "0",  # the run asks for one when the queues are drained
        **WEBHOOK_DELIVERY,
        "SALESFORCE_POLL_INTERVAL_SECONDS": "2",
    }


def scaled_default_waits(time_scale: float) -> dict[str, str]:
    """The worker's default retry waits (flow steps not in retry-policies.yaml) times ``time_scale``."""
    if time_scale == 1.0:
        return {}
    from revbridge_process.settings import Settings  # the defaults the workers would use

    names = ("retry_base_seconds", "retry_max_seconds", "redelivery_base_seconds", "redelivery_max_seconds")
    fields = Settings.model_fields
    return {f"PROCESS_{n.upper()}": str(float(fields[n].default) * time_scale) for n in names if n in fields}


class Run:
    def __init__(self, opts: Options, run_dir: Path) -> None:
        self.opts, self.run_dir = opts, run_dir
        ports = free_ports([*DEFAULT_PORTS, "redis", "postgres", "naive_netsuite", "naive_copier"])
        self.redis = RedisServer(ports.pop("redis"), run_dir / "redis")
        self.postgres = PostgresServer(ports.pop("postgres"), run_dir / "postgres")
        self.rig = NaiveRig(
            ports.pop("naive_netsuite"), ports.pop("naive_copier"), run_dir, opts.platform_timeout
        )
        self.stack = ChaosStack(
            ports=ports,
            redis_url=self.redis.url,
            key_prefix="rb:",
            database_url=self.postgres.url,
            log_dir=run_dir / "logs",
            keys_dir=run_dir / "keys",
            extra_env=stack_env(opts),
            workers=opts.workers,
        )
        self.config = run_config(CONFIG, run_dir / "config", opts.time_scale, opts.concurrency)
        self.stack.extra_env["REVBRIDGE_CONFIG_DIR"] = str(self.config)
        self.result = Result()
        self.t0 = time.monotonic()

    def mark(self, name: str, since: float) -> float:
        now = time.monotonic()
        self.result.timings[name] = now - since
        return now

    def event(self, text: str) -> None:
        self.result.events.append(f"{time.monotonic() - self.t0:7.1f}s  {text}")
        print(f"chaos: {text}", flush=True)

    def execute(self) -> Result:
        started = time.monotonic()
        self.redis.start()
        self.postgres.start()
        try:
            if self.opts.naive:
                self.rig.start()
            with running_stack(self.stack):
                self.mark("start", started)
                where = (
                    f"Redis on port {self.redis.port}, PostgreSQL on {self.postgres.port}; "
                    f"logs in {self.stack.log_dir}"
                )
                self.event(f"stack up ({self.opts.workers} workers, {where})")
                o = self.opts
                if o.time_scale != 1.0:
                    self.event(
                        f"retry and redelivery waits x{o.time_scale:g} of config/retry-policies.yaml "
                        f"(attempts and deliveries as configured); platform timeouts {o.platform_timeout:g}s"
                    )
                asyncio.run(self.flows())
                self.result.peaks_kb = self.stack.sample_memory()
                self.result.exited = sorted(
                    n for n, proc in self.stack.procs.items() if proc.poll() is not None
                )
        finally:
            self.rig.stop()
            self.redis.stop()
            self.postgres.stop()
            if not self.opts.keep:
                self.postgres.remove()
        self.result.timings["total"] = time.monotonic() - started
        return self.result

    async def flows(self) -> None:
        o, s = self.opts, self.stack
        urls = {name: s.url(name) for name in ("stripe", "salesforce", "netsuite")}
        entities = [
            e for e in load_entities(self.config, s.env()) if not o.entities or e.country in o.entities
        ]
        p = Platforms(urls, entities, timeout=o.platform_timeout)
        try:
            await p.login()
            await listen_to_revbridge_events(p)
            if o.naive:
                await self.rig.subscribe(p)
            t = time.monotonic()
            world = await seed_world(p, o.scenario, entities, self.config)
            t = self.mark("seed", t)
            where = ", ".join(f"{e.country}/{e.currency}" for e in entities)
            self.event(
                f"world: {len(world.mapped)} customers + {len(world.unmapped)} unmapped across "
                f"{where}; {o.scenario.months} months of renewals"
            )
            hang = o.platform_timeout + 2
            plans = {base: fault_rules(hang) for base in urls.values()}
            plans[urls["netsuite"]] = fault_rules(hang, SURE_REVBRIDGE)
            if o.naive:
                plans[self.rig.netsuite] = fault_rules(hang, SURE_NAIVE)
            if o.faults:
                for base, rules in plans.items():
                    await set_faults(p.admin, base, rules, o.scenario.seed)
                self.event(
                    "faults on: ~5% 500, 5% 429, 2% timeouts, 2% committed-but-dropped "
                    "(plus certain lost answers on the first NetSuite money writes)"
                )
            await activate(p, world.accounts)
            await wait_subscribed(p, world, o.drain_timeout)
            t = self.mark("onboarding", t)
            self.event(f"{len(world.mapped)} contracts onboarded")
            kill_at, redis_at = max(1, o.scenario.months // 3), max(1, (2 * o.scenario.months) // 3)
            pg_at = max(1, o.scenario.months // 2)

            async def on_month(month: int) -> None:
                if month == kill_at and o.kill_worker:
                    await self.kill_worker()
                if month == redis_at and o.restart_redis:
                    down = await asyncio.to_thread(self.redis.restart, o.hard_redis_kill)
                    how = "SIGKILL" if o.hard_redis_kill else "SHUTDOWN"
                    self.event(f"Redis restarted ({how}), {down:.2f}s down")
                if month == pg_at and o.restart_postgres:
                    down = await asyncio.to_thread(self.postgres.restart, False)
                    self.event(f"PostgreSQL restarted (fast shutdown), {down:.2f}s down")

            self.result.tally = await run_months(p, world, o.scenario, on_month)
            t = self.mark("billing", t)
            tally = self.result.tally
            self.event(
                f"billing done: {tally.invoices} invoices, {tally.paid} paid, "
                f"{tally.declined} declined, {tally.left_open} open"
            )
            system = s.url("system")
            stuck = await wait_drained(
                p.admin, urls["stripe"], system, self.redis.url, s.key_prefix, o.drain_timeout
            )
            t = self.mark("drain", t)
            if o.faults:
                self.result.sure_faults_left = await sure_faults_left(p.admin, urls["netsuite"])
            for base in plans:
                await set_faults(p.admin, base, [], 0)
            self.result.drained = stuck is None
            self.event(f"{stuck}; faults off" if stuck else "drained; faults off")
            _, self.result.failed_webhooks = await webhooks_pending(p.admin, urls["stripe"], system)
            stripe_clients = list(p.stripe.values())
            self.result.report = await reconcile_platforms(stripe_clients, p.admin, urls["netsuite"])
            self.result.process_recon = await process_reconciliation(s.url("process"))
            self.result.ledger = await check_ledger(
                stripe_clients, p.admin, urls["netsuite"], self.postgres.url
            )
            if o.naive:  # the copier's last answers: Stripe stops retrying it after a few minutes at most
                left = await wait_webhooks(p.admin, urls["stripe"], self.rig.copier, o.drain_timeout)
                self.event(f"naive copier: Stripe done delivering ({left} deliveries still pending)")
                self.result.naive = await reconcile_platforms(stripe_clients, p.admin, self.rig.netsuite)
            self.result.held = await check_held(s.url("process"), world, self.config)
            self.result.open_exceptions = await open_exceptions(s.url("process"))
            self.mark("reconcile", t)
        finally:
            await p.aclose()

    async def kill_worker(self) -> None:
        name = self.stack.worker_names()[0]
        self.stack.kill(name)
        if self.opts.naive:
            await asyncio.to_thread(self.rig.kill_and_restart)
        self.event(f"SIGKILL {name}" + (" and the naive copier" if self.opts.naive else ""))
        await asyncio.sleep(2.0)  # down for a moment: its pending entries go idle for the others
        self.stack.spawn(name)
        self.event(f"{name} started again")


def run(opts: Options, run_dir: Path | None = None) -> Result:
    directory = run_dir or ROOT / ".tmp" / f"chaos-{int(time.time())}"
    try:
        return Run(opts, directory).execute()
    finally:
        if not opts.keep and run_dir is None:
            shutil.rmtree(directory / "redis", ignore_errors=True)


def parse(argv: list[str]) -> Options:
    ap = argparse.ArgumentParser(prog="python -m scripts.chaos", description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=200)
    ap.add_argument("--invoices", type=int, default=5000)
    ap.add_argument("--unmapped", type=int, default=4, help="contracts with unmapped products")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-faults", action="store_true")
    ap.add_argument("--no-kill", action="store_true", help="do not SIGKILL a worker")
    ap.add_argument("--no-redis-restart", action="store_true")
    ap.add_argument("--no-postgres-restart", action="store_true")
    ap.add_argument("--hard-redis-kill", action="store_true", help="SIGKILL Redis instead of SHUTDOWN")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive copier comparison")
    ap.add_argument("--platform-timeout", type=float, default=3.0)
    ap.add_argument("--reclaim-idle-ms", type=int, default=5000)
    ap.add_argument("--drain-timeout", type=float, default=7200.0)
    ap.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="scale the retry policies' waits (a copy of config/; attempts and deliveries unchanged); "
        "1 runs config/retry-policies.yaml as it is (hours of backoff in the tail)",
    )
    ap.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="entries per flow each worker handles at once (default: config/retry-policies.yaml)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the run's Redis directory")
    ap.add_argument("--entities", default="", help="comma-separated countries (default: every legal entity)")
    a = ap.parse_args(argv)
    return Options(
        scenario=Scenario(customers=a.customers, invoices=a.invoices, unmapped=a.unmapped, seed=a.seed),
        workers=a.workers,
        faults=not a.no_faults,
        kill_worker=not a.no_kill,
        restart_redis=not a.no_redis_restart,
        hard_redis_kill=a.hard_redis_kill,
        restart_postgres=not a.no_postgres_restart,
        naive=not a.no_naive,
        platform_timeout=a.platform_timeout,
        reclaim_idle_ms=a.reclaim_idle_ms,
        drain_timeout=a.drain_timeout,
        time_scale=a.time_scale,
        concurrency=a.concurrency,
        keep=a.keep,
        entities=tuple(c.strip().upper() for c in a.entities.split(",") if c.strip()),
    )


def main(argv: list[str] | None = None) -> int:
    from scripts.chaos_report import summary

    result = run(parse(sys.argv[1:] if argv is None else argv))
    print(summary(result), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
