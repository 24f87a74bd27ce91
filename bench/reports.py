"""Reports over 100,000 invoices: how fast the projector folds them and how fast the experience API
answers the revenue summary, drill-down and lineage — on PostgreSQL (the read model of record) beside
the Redis read model it replaced, in the same run.

Makes the ledger facts of ``--invoices`` invoices (billed, posted, one payment collected and posted,
one revenue journal entry each; their contracts booked and linked), two legal entities and
currencies over twelve months. For each store:

- ``postgres``: COPYs them into the ledger of a database of the bench's own, starts the projector(s)
  and times the fold (from its first folded row until nothing is pending), prints the database size;
- ``redis`` (the baseline): the experience service as it was before PostgreSQL (commit ``BASELINE``,
  checked out into a temporary git worktree and run from there with this environment), the same
  facts published on its facts stream under the bench's own key prefix, folded by its projector;

then starts the experience API on that store and times sequential HTTP GETs of the summary (whole
book, one month, one entity in a reporting currency, v1), a drill-down page, and lineage by contract
and by invoice. Prints fold throughput, p50/p95 per request and the ratio PostgreSQL / Redis; goals:
p95 at most 50 ms, fold at least 3,000 facts/s. Removes its database, keys and worktree afterwards.
Figures, not pass/fail.

    uv run python bench/reports.py [--invoices 100000] [--requests 200] [--projectors 1]
                                   [--stores postgres,redis]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis
from revbridge_db import readmodel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.stack import free_ports  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/revbridge")
BASELINE = "1b45909"
"""The last commit whose experience read model lived in Redis (the baseline of this bench)."""
INVOICES_PER_CONTRACT = 10
ENTITIES = (("US", "USD"), ("GB", "GBP"))
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
GOAL_P95_MS = 50.0
GOAL_FOLD_RATE = 3_000


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def facts_of_contract(c: int, rng: random.Random) -> Iterator[dict[str, str]]:
    """The stream entries (``Fact.to_fields`` shape) of one contract and its invoices."""
    entity, currency = ENTITIES[c % 2]
    contract, customer = f"800B{c:014d}", f"001B{c:014d}"
    booked_at = START + dt.timedelta(minutes=c % 40_000)
    common = {"contract_id": contract, "customer_id": customer, "entity": entity}
    monthly = rng.randrange(10_000, 500_000)
    period = booked_at.strftime("%Y-%m")
    yield {
        "kind": "contract.booked",
        "key": contract,
        "system": "crm",
        "record_id": contract,
        **common,
        "currency": currency,
        "amount": str(monthly * 12),
        "period": period,
        "status": "activated",
        "occurred_at": iso(booked_at),
        "recorded_at": iso(booked_at),
    }
    linked = iso(booked_at + dt.timedelta(seconds=2))
    for kind, key, system, rid in (
        ("customer.linked", customer, "billing", f"cus_{c}"),
        ("subscription.linked", contract, "billing", f"sub_{c}"),
        ("erp_customer.linked", customer, "erp", str(100_000 + c)),
    ):
        yield {
            "kind": kind,
            "key": key,
            "system": system,
            "record_id": rid,
            **common,
            "occurred_at": linked,
            "recorded_at": linked,
        }
    for i in range(INVOICES_PER_CONTRACT):
        invoice = f"in_b{c}x{i}"
        issued = booked_at + dt.timedelta(days=30 * i, seconds=5)
        posted = issued + dt.timedelta(milliseconds=rng.randrange(300, 4_000))
        paid = issued + dt.timedelta(days=rng.randrange(1, 20))
        month = issued.strftime("%Y-%m")
        inv = {**common, "invoice_id": invoice, "currency": currency, "amount": str(monthly)}
        trace = uuid.UUID(int=rng.getrandbits(128)).hex
        yield {
            "kind": "invoice.billed",
            "key": invoice,
            "system": "billing",
            "record_id": invoice,
            **inv,
            "period": month,
            "status": "paid",
            "occurred_at": iso(issued),
            "recorded_at": iso(issued),
            "trace_id": trace,
        }
        yield {
            "kind": "invoice.posted",
            "key": invoice,
            "system": "erp",
            "record_id": f"{c}{i:02d}",
            **inv,
            "period": month,
            "status": "posted",
            "occurred_at": iso(posted),
            "recorded_at": iso(posted),
            "trace_id": trace,
        }
        pay = f"py_b{c}x{i}"
        yield {
            "kind": "payment.collected",
            "key": pay,
            "system": "billing",
            "record_id": pay,
            **inv,
            "period": paid.strftime("%Y-%m"),
            "status": "succeeded",
            "occurred_at": iso(paid),
            "recorded_at": iso(paid),
        }
        yield {
            "kind": "payment.posted",
            "key": pay,
            "system": "erp",
            "record_id": f"p{c}{i:02d}",
            **inv,
            "period": paid.strftime("%Y-%m"),
            "status": "posted",
            "occurred_at": iso(paid),
            "recorded_at": iso(paid + dt.timedelta(seconds=1)),
        }
        yield {
            "kind": "revenue.recognized",
            "key": f"il_b{c}x{i}:{month}",
            "system": "erp",
            "record_id": f"je{c}{i:02d}",
            **inv,
            "period": month,
            "status": "posted",
            "occurred_at": iso(posted),
            "recorded_at": iso(posted),
        }


def all_facts(contracts: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    return [fields for c in range(contracts) for fields in facts_of_contract(c, rng)]


@contextmanager
def process(name: str, args: list[str], env: dict[str, str], logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(logs / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, *args], env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def timed(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} within {seconds:.0f} s")
        time.sleep(0.05)


@dataclass
class Figures:
    store: str
    facts: int = 0
    fold_seconds: float = 0.0
    size: str = ""
    p50: dict[str, float] = field(default_factory=dict)
    p95: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.facts / self.fold_seconds if self.fold_seconds else 0.0


# --- the stores ---------------------------------------------------------------------------------


COPY_COLUMNS = [
    *("kind", "key", "system", "record_id", "contract_id", "customer_id", "invoice_id", "entity"),
    *("currency", "amount", "period", "status", "occurred_at", "recorded_at", "trace_id"),
]


class Postgres:
    name = "postgres"

    def __init__(self, server_url: str) -> None:
        from revbridge_db.admin import create_database

        self.url = server_url.rsplit("/", 1)[0] + f"/rbbench_reports_{uuid.uuid4().hex[:8]}"
        create_database(self.url)
        from revbridge_db.__main__ import run

        run("upgrade", self.url)
        self.env = {"DATABASE_URL": self.url}

    def load(self, facts: list[dict[str, str]]) -> int:
        columns = COPY_COLUMNS
        with (
            psycopg.connect(self.url) as conn,
            conn.cursor() as cur,
            cur.copy(f"COPY revbridge.ledger_fact ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for f in facts:
                copy.write_row([f.get(c) for c in columns])
        return len(facts)

    def _one(self, sql: str) -> int:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def folded(self) -> int:
        return self._one(
            "SELECT coalesce(sum(value), 0) FROM revbridge.rm_state "
            "WHERE name IN ('applied', 'replaced', 'duplicate', 'stale', 'bad')"
        )

    def pending(self) -> int:
        return self._one(readmodel.UNFOLDED_SQL)

    def size(self) -> str:
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT pg_size_pretty(pg_database_size(current_database())), "
                "pg_size_pretty(pg_total_relation_size('revbridge.ledger_fact')), "
                "pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'revbridge' AND c.relkind = 'r' AND c.relname LIKE 'rm\\_%'"
            ).fetchone()
        assert row is not None
        return f"database {row[0]} (ledger {row[1]}, read model {row[2]})"

    def close(self) -> None:
        from revbridge_db.admin import drop_database

        drop_database(self.url)


class RedisBaseline:
    """The Redis read model as of ``BASELINE``, run from a temporary worktree of that commit."""

    name = "redis"

    def __init__(self, redis_url: str, tmp: Path) -> None:
        self.prefix = f"rbbench:reports:{uuid.uuid4().hex[:8]}:"
        self.stream = self.prefix + "events:facts"
        self.r = redis.Redis.from_url(redis_url)
        self.tree = tmp / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(self.tree), BASELINE],
            check=True,
        )
        src = [self.tree / "services" / "experience-api" / "src", self.tree / "contracts" / "src"]
        self.env = {
            "REDIS_URL": redis_url,
            "REVBRIDGE_KEY_PREFIX": self.prefix,
            "PYTHONPATH": os.pathsep.join(map(str, src)),
        }

    def load(self, facts: list[dict[str, str]]) -> int:
        pipe = self.r.pipeline(transaction=False)
        for i, fields in enumerate(facts):
            pipe.xadd(self.stream, fields)  # type: ignore[arg-type]
            if i % 2000 == 1999:
                pipe.execute()
        pipe.execute()
        return len(facts)

    def folded(self) -> int:
        stats = self.r.hgetall(self.prefix + "{xp}:stats")
        return sum(
            int(stats.get(k.encode(), 0)) for k in ("applied", "replaced", "duplicate", "stale", "bad")
        )

    def pending(self) -> int:
        groups = self.r.xinfo_groups(self.stream)
        if not groups:
            return 1
        return sum(int(g["pending"]) + int(g.get("lag") or 0) for g in groups)

    def size(self) -> str:
        return f"Redis used_memory {self.r.info('memory')['used_memory_human']} (facts stream included)"

    def close(self) -> None:
        batch: list[bytes] = []
        for key in self.r.scan_iter(match=f"{self.prefix}*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                self.r.unlink(*batch)
                batch.clear()
        if batch:
            self.r.unlink(*batch)
        self.r.close()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(self.tree)], check=False)


Store = Postgres | RedisBaseline

REQUESTS: list[tuple[str, Callable[[int, list[int]], list[str]]]] = [
    ("revenue summary (v2, whole book)", lambda n, some: ["/v2/revenue/summary"]),
    (
        "revenue summary (v2, one month)",
        lambda n, some: [f"/v2/revenue/summary?period=2026-{m:02d}" for m in range(1, 13)],
    ),
    ("revenue summary (GB in USD)", lambda n, some: ["/v2/revenue/summary?entity=GB&reporting_currency=USD"]),
    ("revenue summary (v1)", lambda n, some: ["/v1/revenue/summary"]),
    (
        "drill-down page (billings, 50)",
        lambda n, some: ["/v2/revenue/records?figure=billings&period=2026-03"],
    ),
    ("lineage by contract", lambda n, some: [f"/v2/lineage?contract_id=800B{c:014d}" for c in some]),
    (
        "lineage by invoice",
        lambda n, some: [f"/v2/lineage?invoice_id=in_b{c}x{c % INVOICES_PER_CONTRACT}" for c in some],
    ),
    ("lineage by contract (v1 view)", lambda n, some: [f"/v1/lineage/contracts/800B{c:014d}" for c in some]),
]


def run_store(
    store: Store, facts: list[dict[str, str]], contracts: int, args: argparse.Namespace, logs: Path
) -> Figures:
    out = Figures(store.name)
    env = {**store.env, "REVBRIDGE_CONFIG_DIR": str(ROOT / "config"), "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    out.facts = store.load(facts)
    print(f"[{store.name}] {out.facts:,} facts loaded in {time.perf_counter() - started:.1f} s", flush=True)
    with ExitStack() as folding:
        for i in range(args.projectors):
            folding.enter_context(
                process(f"{store.name}-projector-{i}", ["-m", "revbridge_experience.projector"], env, logs)
            )
        wait_for(lambda: store.folded() > 0, 600, f"the {store.name} projector folded nothing")
        started, already = time.perf_counter(), store.folded()  # from the first fold to the last
        wait_for(lambda: store.pending() == 0, 7200, f"the {store.name} projector did not drain")
        out.fold_seconds = time.perf_counter() - started
        out.facts -= already
    out.size = store.size()
    print(
        f"[{store.name}] fold: {out.facts:,} facts in {out.fold_seconds:.1f} s = {out.rate:,.0f} facts/s; "
        f"{out.size}"
    )
    port = free_ports(["experience"])["experience"]
    api_env = {**env, "EXPERIENCE_PORT": str(port), "EXPERIENCE_PROCESS_API_URL": "http://127.0.0.1:9"}
    base = f"http://127.0.0.1:{port}"
    with (
        process(f"{store.name}-experience-api", ["-m", "revbridge_experience.app"], api_env, logs),
        httpx.Client(timeout=30) as client,
    ):

        def healthy() -> bool:
            try:
                return client.get(base + "/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, f"the {store.name} experience API did not start (logs in {logs})")
        body = client.get(base + "/v2/revenue/summary").json()
        usd = body["amounts"]["USD"]
        print(
            f"[{store.name}] summary: {len(body['breakdown'])} cells, USD billings {usd['billings']:,} = "
            f"posted {usd['posted_invoices']:,}, reconciled {body['reporting']['reconciled']}"
        )
        rng = random.Random(11)
        some = [rng.randrange(contracts) for _ in range(200)]
        for name, paths_of in REQUESTS:
            paths = paths_of(contracts, some)
            for path in paths[:5]:
                timed(client, base + path)  # warm-up
            samples = [timed(client, base + paths[i % len(paths)]) for i in range(args.requests)]
            out.p50[name], out.p95[name] = statistics.median(samples), pct(samples, 95)
    return out


def report(figures: list[Figures]) -> None:
    by = {f.store: f for f in figures}
    pg, rd = by.get("postgres"), by.get("redis")
    print(f"\n{'':38s}" + "".join(f"{f.store:>22s}" for f in figures) + ("   pg/redis" if pg and rd else ""))
    print(
        f"  {'fold (facts/s)':36s}"
        + "".join(f"{f.rate:>22,.0f}" for f in figures)
        + (f"   {pg.rate / rd.rate:9.2f}x" if pg and rd and rd.rate else "")
    )
    for name, _ in REQUESTS:
        row = "".join(f"{f'p50 {f.p50[name]:.1f} / p95 {f.p95[name]:.1f} ms':>22s}" for f in figures)
        ratio = f"   {pg.p95[name] / rd.p95[name]:9.2f}x" if pg and rd and rd.p95[name] else ""
        print(f"  {name:36s}{row}{ratio}")
    if pg:
        worst = max(pg.p95.values())
        print(
            f"\npostgres: worst p95 {worst:.1f} ms (goal <= {GOAL_P95_MS:.0f} ms: "
            f"{'met' if worst <= GOAL_P95_MS else 'NOT met'}); fold {pg.rate:,.0f} facts/s "
            f"(goal >= {GOAL_FOLD_RATE:,}: {'met' if pg.rate >= GOAL_FOLD_RATE else 'NOT met'}); {pg.size}"
        )


def main(args: argparse.Namespace) -> None:
    contracts = max(1, args.invoices // INVOICES_PER_CONTRACT)
    facts = all_facts(contracts)
    print(
        f"reports bench: {contracts * INVOICES_PER_CONTRACT:,} invoices of {contracts:,} contracts, "
        f"{len(facts):,} facts; stores {', '.join(args.stores)}",
        flush=True,
    )
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        for name in args.stores:
            store: Store = Postgres(DATABASE_URL) if name == "postgres" else RedisBaseline(REDIS_URL, logs)
            try:
                figures.append(run_store(store, facts, contracts, args, logs))
            finally:
                store.close()
    report(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/reports.py")
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--projectors", type=int, default=1)
    parser.add_argument("--stores", type=lambda v: v.split(","), default=["postgres", "redis"])
    main(parser.parse_args())
