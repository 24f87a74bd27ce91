"""Usage ingestion: accepted usage events/s through the gateway, events/s reaching the Stripe
sandbox, beside the gateway's plain pass-through rate measured in the same run, and peak memory.

Starts the whole stack on free ports (own Redis key prefix; the usage sender runs as ``make run``
starts it), makes the ``api_calls`` meter and ``--contracts`` customers in the Stripe sandbox and
registers their contracts in the usage directory. Then, at ``--concurrency`` partners in parallel:

1. pass-through: an authenticated ``GET /process/v1/onboardings/{id}`` of a contract never seen (a
   404 from the process API: token, rate limit, scopes, proxy and back) for ``--seconds``;
2. ingestion: ``--events`` usage events in batches of ``--batch`` (each with its Idempotency-Key),
   timed until the last batch is answered (accepted events/s);
3. delivery: from the first batch until the Stripe sandbox's meter summaries hold every event
   (events/s reaching Stripe; the system API paces at ``STRIPE_METER_EVENTS_PER_SECOND``).

Peak RSS (VmHWM) of the gateway, process API, usage sender and system API at the end. Not a
pass/fail test.

    uv run python bench/usage.py [--events 100000] [--batch 500] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from revbridge_db.engine import create_engine

from scripts.stack import DEFAULT_PORTS, ROOT, Stack, free_ports, running_stack, scratch_database

CLIENTS = ROOT / "config" / "gateway-clients.yaml"
STRIPE_KEY = "sk_test_revbridge_demo"  # the sandbox's demo key (DEMO VALUE)
PARTNER = ("partner-demo", "partner-demo-secret")  # DEMO VALUES
METER_EVENT = "api_calls"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stripe(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url("stripe"), auth=(STRIPE_KEY, ""), timeout=30)


def setup(stack: Stack, contracts: int) -> tuple[str, list[tuple[str, str]]]:
    """The meter, and (contract id, Stripe customer id) per contract, registered in the directory."""
    from revbridge_process.usage.directory import DirectoryEntry, UsageDirectory

    with stripe(stack) as client:
        meter = (
            client.post(
                "/v1/billing/meters",
                data={
                    "display_name": "API calls",
                    "event_name": METER_EVENT,
                    "default_aggregation[formula]": "sum",
                    "customer_mapping[event_payload_key]": "stripe_customer_id",
                    "customer_mapping[type]": "by_id",
                    "value_settings[event_payload_key]": "value",
                },
            )
            .raise_for_status()
            .json()["id"]
        )
        customers = [
            client.post("/v1/customers", data={"name": f"bench {i}"}).raise_for_status().json()["id"]
            for i in range(contracts)
        ]
    pairs = [(f"800BENCH{uuid.uuid4().hex[:10].upper()}", c) for c in customers]

    async def register() -> None:
        engine = create_engine(url=stack.database_url)
        directory = UsageDirectory(engine)
        anchor = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        for contract_id, customer in pairs:
            await directory.register(
                DirectoryEntry(
                    contract_id=contract_id,
                    crm_account_id=f"001BENCH{contract_id[8:]}",
                    billing_account="default",
                    billing_customer_id=customer,
                    meters=frozenset({METER_EVENT}),
                    billing_anchor=anchor,
                )
            )
        await engine.dispose()

    asyncio.run(register())
    return meter, pairs


def token(gateway: str) -> str:
    reply = httpx.post(f"{gateway}/oauth/token", data={"grant_type": "client_credentials"}, auth=PARTNER)
    return str(reply.raise_for_status().json()["access_token"])


async def pass_through(gateway: str, auth: dict[str, str], concurrency: int, seconds: float) -> float:
    url = f"{gateway}/process/v1/onboardings/800BENCH0000000AAA"
    done = 0
    async with aiohttp.ClientSession() as session:

        async def one(until: float, count: bool) -> None:
            nonlocal done
            while time.monotonic() < until:
                async with session.get(url, headers=auth) as reply:
                    await reply.read()
                    if reply.status != 404:
                        raise SystemExit(f"pass-through answered {reply.status}")
                done += count

        await asyncio.gather(*(one(time.monotonic() + 0.5, False) for _ in range(concurrency)))
        started = time.monotonic()
        await asyncio.gather(*(one(started + seconds, True) for _ in range(concurrency)))
        return done / (time.monotonic() - started)


def batches(pairs: list[tuple[str, str]], events: int, size: int) -> list[bytes]:
    import json

    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).isoformat()
    run = uuid.uuid4().hex[:8]
    out = []
    for b in range(0, events, size):
        body = {
            "events": [
                {
                    "event_id": f"bench-{run}-{i}",
                    "contract_id": pairs[i % len(pairs)][0],
                    "meter": METER_EVENT,
                    "quantity": "1",
                    "timestamp": at,
                }
                for i in range(b, min(b + size, events))
            ]
        }
        out.append(json.dumps(body).encode())
    return out


async def ingest(
    gateway: str, auth: dict[str, str], bodies: list[bytes], concurrency: int
) -> tuple[int, float]:
    queue = list(reversed(bodies))
    accepted = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def partner() -> None:
            nonlocal accepted
            while queue:
                body = queue.pop()
                headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
                async with session.post(
                    f"{gateway}/process/v1/usage/events", data=body, headers=headers
                ) as r:
                    answer: Any = await r.json()
                    if r.status != 200:
                        raise SystemExit(f"ingestion answered {r.status}: {answer}")
                    accepted += int(answer["accepted"])

        started = time.monotonic()
        await asyncio.gather(*(partner() for _ in range(concurrency)))
        return accepted, time.monotonic() - started


def counted(stack: Stack, meter: str, pairs: list[tuple[str, str]]) -> float:
    now = int(time.time())
    params = {"start_time": (now - 86_400) // 60 * 60, "end_time": (now + 3600) // 60 * 60}
    total = 0.0
    with stripe(stack) as client:
        for _, customer in pairs:
            page = client.get(
                f"/v1/billing/meters/{meter}/event_summaries", params={**params, "customer": customer}
            ).raise_for_status()
            total += sum(float(s["aggregated_value"]) for s in page.json()["data"])
    return total


def main(events: int, size: int, concurrency: int, contracts: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack_database:
        clients = Path(tmp) / "clients.yaml"  # a plan large enough not to throttle the pass-through
        clients.write_text(
            CLIENTS.read_text().replace("requests_per_minute: 120", "requests_per_minute: 1000000")
        )
        database = stack_database.enter_context(scratch_database("bench_usage"))
        stack = Stack(
            ports=free_ports(DEFAULT_PORTS),
            database_url=database,
            key_prefix=f"rbbench:{uuid.uuid4().hex[:8]}:",
            log_dir=Path(tmp) / "logs",
            keys_dir=Path(tmp) / "keys",
            extra_env={"GATEWAY_CLIENTS_FILE": str(clients), "SALESFORCE_POLL_INTERVAL_SECONDS": "3600"},
        )
        with running_stack(stack):
            gateway = stack.url("gateway")
            meter, pairs = setup(stack, contracts)
            auth = {"Authorization": f"Bearer {token(gateway)}"}
            bodies = batches(pairs, events, size)
            plain = asyncio.run(pass_through(gateway, auth, concurrency, seconds))
            started = time.monotonic()
            accepted, took = asyncio.run(ingest(gateway, auth, bodies, concurrency))
            deadline = time.monotonic() + 600
            total = 0.0
            while time.monotonic() < deadline:
                total = counted(stack, meter, pairs)
                if total >= accepted:
                    break
                time.sleep(0.5)
            delivered = time.monotonic() - started
            print(
                f"usage ingestion: {events:,} events in batches of {size}, {concurrency} partners in parallel"
            )
            print(f"  gateway pass-through (GET, 404 from the process API): {plain:,.0f} requests/s")
            rate, reached = accepted / took, total / delivered
            print(
                f"  accepted through the gateway: {accepted:,} in {took:.1f} s = {rate:,.0f} events/s "
                f"({rate / size:,.1f} batches/s)"
            )
            print(
                f"  reaching the Stripe sandbox: {total:,.0f} in {delivered:.1f} s = {reached:,.0f} events/s"
                + ("" if total == accepted else f"  (INCOMPLETE: {accepted - total:,.0f} missing)")
            )
            names = ("gateway", "process-api", "usage-sender", "system-api", "sandbox-stripe")
            rss = ", ".join(f"{n} {peak_rss_mb(stack.procs[n].pid):.0f}" for n in names)
            print(f"  peak RSS (MB): {rss}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/usage.py")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--contracts", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    main(args.events, args.batch, args.concurrency, args.contracts, args.seconds)
