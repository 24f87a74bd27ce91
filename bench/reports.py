"""Reports over 100,000 invoices: how fast the projector folds them and how fast the experience API
answers the revenue summary and lineage from the read model.

Publishes the ledger facts of ``--invoices`` invoices (billed, posted, one payment collected and
posted, one revenue journal entry each; their contracts booked and linked) straight onto a facts
stream under the bench's own Redis key prefix, two legal entities and currencies over twelve months.
Then starts the projector(s) and times the fold until the group has nothing pending, starts the
experience API on the same prefix, and times sequential HTTP GETs of the summary (whole book, one
month, one entity in a reporting currency), a drill-down page, and lineage by contract and by
invoice. Prints fold throughput and p50/p95 per request; the goal is p95 at most 300 ms. Deletes its
keys afterwards. Figures, not pass/fail.

    uv run python bench/reports.py [--invoices 100000] [--requests 200] [--projectors 1]
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.stack import free_ports  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
INVOICES_PER_CONTRACT = 10
ENTITIES = (("US", "USD"), ("GB", "GBP"))
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
GOAL_P95_MS = 300.0


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


def publish(r: redis.Redis, stream: str, contracts: int) -> int:
    rng, count = random.Random(7), 0
    pipe = r.pipeline(transaction=False)
    for c in range(contracts):
        for fields in facts_of_contract(c, rng):
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
            count += 1
        if c % 200 == 199:
            pipe.execute()
    pipe.execute()
    return count


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


def drained(r: redis.Redis, stream: str) -> bool:
    groups = r.xinfo_groups(stream)
    return bool(groups) and all(g["pending"] == 0 and (g.get("lag") or 0) == 0 for g in groups)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def timed(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def measure(client: httpx.Client, base: str, name: str, paths: list[str], n: int) -> float:
    for path in paths[:5]:
        timed(client, base + path)  # warm-up
    samples = [timed(client, base + paths[i % len(paths)]) for i in range(n)]
    p95 = pct(samples, 95)
    verdict = "ok" if p95 <= GOAL_P95_MS else "OVER GOAL"
    print(f"  {name:38s} p50 {statistics.median(samples):7.2f} ms  p95 {p95:7.2f} ms  ({verdict})")
    return p95


def cleanup(r: redis.Redis, prefix: str) -> None:
    batch: list[bytes] = []
    for key in r.scan_iter(match=f"{prefix}*", count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            r.unlink(*batch)
            batch.clear()
    if batch:
        r.unlink(*batch)


def main(invoices: int, requests: int, projectors: int) -> None:
    contracts = max(1, invoices // INVOICES_PER_CONTRACT)
    prefix = f"rbbench:reports:{uuid.uuid4().hex[:8]}:"
    stream = prefix + "events:facts"
    r = redis.Redis.from_url(REDIS_URL)
    env = {
        "REDIS_URL": REDIS_URL,
        "REVBRIDGE_KEY_PREFIX": prefix,
        "REVBRIDGE_CONFIG_DIR": str(ROOT / "config"),
        "EXPERIENCE_BATCH_SIZE": "1000",
        "LOG_LEVEL": "WARNING",
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            logs = Path(tmp)
            started = time.perf_counter()
            published = publish(r, stream, contracts)
            print(
                f"reports bench: {contracts * INVOICES_PER_CONTRACT:,} invoices of {contracts:,} contracts, "
                f"{published:,} facts published in {time.perf_counter() - started:.1f} s"
            )
            with ExitStack() as folding:
                for i in range(projectors):
                    folding.enter_context(
                        process(f"projector-{i}", ["-m", "revbridge_experience.projector"], env, logs)
                    )
                # timed from the first fold (not from process start-up) to the last
                stats = prefix + "{xp}:stats"
                deadline = time.monotonic() + 3600
                while not r.hget(stats, "applied"):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"the projector never folded a fact; see {logs}")
                    time.sleep(0.01)
                started, already = time.perf_counter(), int(r.hget(stats, "applied") or 0)
                while not drained(r, stream):
                    if time.monotonic() > deadline:
                        raise SystemExit("the projector did not drain the stream within an hour")
                    time.sleep(0.05)
                fold = time.perf_counter() - started
            folded = published - already
            used = r.info("memory")["used_memory_human"]
            print(
                f"  fold: {folded:,} facts in {fold:.1f} s = {folded / fold:,.0f} facts/s "
                f"({projectors} projector{'s' if projectors > 1 else ''}); Redis used memory {used}"
            )
            port = free_ports(["experience"])["experience"]
            api_env = {
                **env,
                "EXPERIENCE_PORT": str(port),
                "EXPERIENCE_PROCESS_API_URL": "http://127.0.0.1:9",
            }
            with (
                process("experience-api", ["-m", "revbridge_experience.app"], api_env, logs),
                httpx.Client(timeout=30) as client,
            ):
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if client.get(base + "/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise SystemExit(f"experience API did not start; see {logs}")
                    time.sleep(0.1)
                rng = random.Random(11)
                some = [rng.randrange(contracts) for _ in range(200)]
                body = client.get(base + "/v2/revenue/summary").json()
                usd = body["amounts"]["USD"]
                print(
                    f"  summary: {len(body['breakdown'])} cells, USD billings {usd['billings']:,} = posted "
                    f"{usd['posted_invoices']:,}, reconciled {body['reporting']['reconciled']}"
                )
                print(f"  {requests} sequential GETs each, over HTTP:")
                p95s = [
                    measure(
                        client, base, "revenue summary (v2, whole book)", ["/v2/revenue/summary"], requests
                    ),
                    measure(
                        client,
                        base,
                        "revenue summary (v2, one month)",
                        [f"/v2/revenue/summary?period=2026-{m:02d}" for m in range(1, 13)],
                        requests,
                    ),
                    measure(
                        client,
                        base,
                        "revenue summary (GB in USD)",
                        ["/v2/revenue/summary?entity=GB&reporting_currency=USD"],
                        requests,
                    ),
                    measure(client, base, "revenue summary (v1)", ["/v1/revenue/summary"], requests),
                    measure(
                        client,
                        base,
                        "drill-down page (billings, 50)",
                        ["/v2/revenue/records?figure=billings&period=2026-03"],
                        requests,
                    ),
                    measure(
                        client,
                        base,
                        "lineage by contract",
                        [f"/v2/lineage?contract_id=800B{c:014d}" for c in some],
                        requests,
                    ),
                    measure(
                        client,
                        base,
                        "lineage by invoice",
                        [f"/v2/lineage?invoice_id=in_b{c}x{c % INVOICES_PER_CONTRACT}" for c in some],
                        requests,
                    ),
                    measure(
                        client,
                        base,
                        "lineage by contract (v1 view)",
                        [f"/v1/lineage/contracts/800B{c:014d}" for c in some],
                        requests,
                    ),
                ]
                print(
                    f"  worst p95 {max(p95s):.2f} ms; goal p95 <= {GOAL_P95_MS:.0f} ms: "
                    f"{'met' if max(p95s) <= GOAL_P95_MS else 'NOT met'}"
                )
    finally:
        cleanup(r, prefix)
        r.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/reports.py")
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--projectors", type=int, default=1)
    ns = parser.parse_args()
    main(ns.invoices, ns.requests, ns.projectors)
