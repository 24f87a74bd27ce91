"""Memory and webhook delivery of the Stripe sandbox under billing load: peak RSS per N invoices,
webhooks delivered and lost.

Starts the sandbox as a real process with its configured webhook endpoint pointed at a tiny local
receiver (another process: a raw asyncio HTTP server that answers 200 after ``--receiver-delay-ms``,
at most ``--receiver-concurrency`` requests at a time, like a busy ingress), then over HTTP:
a product with two recurring prices, ``--customers`` customers spread over test clocks
(``--per-clock`` each) with a two-item ``send_invoice`` subscription (the first invoice), then
``--months`` clock advances, each renewing every subscription (one finalized invoice each), and a
share of each month's invoices (``--pay-share``) paid by card with an Idempotency-Key (as billing
would; ``--pay-share 0`` is the pipeline benchmark's mix: invoices finalized, none paid).

After each month it prints the sandbox's resident and peak memory (``VmRSS``/``VmHWM``), the
invoices so far, and the webhook figures; at the end it waits (bounded) for the deliveries to
settle and prints events created, distinct events the receiver got, and how many were lost.
Goals (reported, not asserted): peak RSS <= 200 MB; no growth from 5,000 to 20,000 invoices beyond
noise; no event lost.

    uv run python bench/sandboxes/stripe_billing.py [--customers 1000] [--months 19] [--pay-share 0.5]

Works against an older sandbox too (webhook counts then come from the full delivery list).
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import datetime as dt
import multiprocessing
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.procs import free_port, running

KEY = "sk_test_revbridge_demo"
GOAL_MB = 200
_EVENT_ID = re.compile(rb'"id": "(evt_[0-9A-Za-z]+)"')


# --- the webhook receiver (its own process) ------------------------------------------------------


def _receiver(port: int, delay: float, concurrency: int, ready: Any) -> None:
    """Answers every POST 200 (after ``delay``, ``concurrency`` at a time); ``GET /stats`` answers
    ``posts distinct`` as text."""
    posts = 0
    seen: set[bytes] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal posts
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                if head.startswith(b"GET /stats"):
                    text = f"{posts} {len(seen)}".encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(text), text))
                    continue
                async with gate:
                    if delay:
                        await asyncio.sleep(delay)
                posts += 1
                match = _EVENT_ID.search(body)
                if match:
                    seen.add(match.group(1))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    gate = asyncio.Semaphore(concurrency)
    asyncio.run(main())


def receiver_stats(port: int) -> tuple[int, int]:
    text = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=10).text.split()
    return int(text[0]), int(text[1])


# --- memory and webhook figures ------------------------------------------------------------------


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a Linux process in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def webhook_figures(admin: httpx.AsyncClient) -> dict[str, int]:
    """Deliveries by status: the sandbox's summary where it has one, else counted from every row."""
    response = await admin.get("/__sandbox/webhooks/summary", timeout=60)
    if response.status_code == 200:
        return {k: int(v) for k, v in response.json().items()}
    body = (await admin.get("/__sandbox/webhooks/deliveries", timeout=60)).json()
    counts: dict[str, int] = {"scheduled": len(body["data"])}
    for row in body["data"]:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


# --- driving the sandbox -------------------------------------------------------------------------


async def get(client: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None) -> Any:
    for attempt in range(5):
        try:
            return (await client.get(path, params=params, timeout=60)).raise_for_status().json()
        except httpx.TransportError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def post(client: httpx.AsyncClient, path: str, data: dict[str, Any], key: str | None = None) -> Any:
    """POST, retried (same Idempotency-Key) on a dropped connection, a 5xx or a 429."""
    headers = {"Idempotency-Key": key} if key else {}
    for attempt in range(5):
        try:
            response = await client.post(path, data=data, headers=headers, timeout=60)
        except httpx.TransportError:  # an idle keep-alive connection the server closed meanwhile
            if attempt == 4:
                raise
            continue
        if response.status_code < 500 and response.status_code not in (409, 429):
            break
        await asyncio.sleep(0.5)
    if response.status_code >= 400:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
    return response.json()


async def gather_limited(jobs: list[Any], limit: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


async def wait_ready(client: httpx.AsyncClient, clock: str, target: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = await get(client, f"/v1/test_helpers/test_clocks/{clock}")
        if body["status"] == "ready" and int(body["frozen_time"]) >= target:
            return
        if body["status"] == "internal_failure":
            raise RuntimeError(f"test clock {clock} failed")
        await asyncio.sleep(0.2)
    raise TimeoutError(f"test clock {clock} not ready after {timeout:.0f}s")


async def seed(client: httpx.AsyncClient, customers: int, per_clock: int, start: int) -> list[str]:
    """Catalogue, clocks and customers, each with a subscription (its first invoice); the clocks."""
    product = await post(client, "/v1/products", {"name": "Platform"})
    prices = [
        (
            await post(
                client,
                "/v1/prices",
                {
                    "product": product["id"],
                    "currency": "usd",
                    "unit_amount": a,
                    "recurring[interval]": "month",
                },
            )
        )["id"]
        for a in (50_000, 2_500)
    ]
    clocks = [
        (await post(client, "/v1/test_helpers/test_clocks", {"frozen_time": start, "name": f"bench {i}"}))[
            "id"
        ]
        for i in range((customers + per_clock - 1) // per_clock)
    ]

    async def onboard(i: int) -> None:
        customer = await post(
            client,
            "/v1/customers",
            {"name": f"Acme {i}", "email": f"billing{i}@acme.test", "test_clock": clocks[i // per_clock]},
            key=f"bench-customer-{i}",
        )
        await post(
            client,
            "/v1/subscriptions",
            {
                "customer": customer["id"],
                "items[0][price]": prices[0],
                "items[0][quantity]": 1,
                "items[1][price]": prices[1],
                "items[1][quantity]": 10,
                "collection_method": "send_invoice",
                "days_until_due": 30,
                "metadata[crm_contract]": f"800{i:012d}",
            },
            key=f"bench-subscription-{i}",
        )

    await gather_limited([onboard(i) for i in range(customers)])
    return clocks


async def pay_some(client: httpx.AsyncClient, share: float, month: int, seen: set[str]) -> int:
    """Pay ``share`` of the open invoices not seen before, by card, with an Idempotency-Key."""
    if share <= 0:
        return 0
    fresh: list[str] = []
    params: dict[str, Any] = {"status": "open", "limit": 100}
    while True:
        page = await get(client, "/v1/invoices", params)
        fresh += [inv["id"] for inv in page["data"] if inv["id"] not in seen]
        if not page["has_more"]:
            break
        params["starting_after"] = page["data"][-1]["id"]
    seen.update(fresh)
    chosen = [i for i in fresh if random.Random(f"{month}:{i}").random() < share]
    await gather_limited(
        [
            post(client, f"/v1/invoices/{i}/pay", {"payment_method": "pm_card_visa"}, f"pay-{i}")
            for i in chosen
        ]
    )
    return len(chosen)


def add_months(ts: int, months: int) -> int:
    start = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    year, month = divmod(start.month - 1 + months, 12)
    day = min(start.day, calendar.monthrange(start.year + year, month + 1)[1])
    return int(start.replace(year=start.year + year, month=month + 1, day=day).timestamp())


async def drive(args: argparse.Namespace, base: str, pid: int, receiver_port: int) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=16)
    async with (
        httpx.AsyncClient(base_url=base, headers=auth, limits=limits) as client,
        httpx.AsyncClient(base_url=base) as admin,
    ):
        start = int(time.time()) - 86400
        started = time.monotonic()
        clocks = await seed(client, args.customers, args.per_clock, start)
        invoices, seen = args.customers, set[str]()
        paid = await pay_some(client, args.pay_share, 0, seen)
        print(
            f"{'invoices':>9} {'RSS MB':>7} {'peak MB':>8} {'scheduled':>10} {'delivered':>10} "
            f"{'pending':>8} {'failed':>7} {'received':>9} {'s':>6}"
        )
        rows: list[tuple[int, float, float]] = []

        async def report() -> None:
            rss, peak = memory_mb(pid)
            rows.append((invoices, rss, peak))
            w = await webhook_figures(admin)
            _, distinct = receiver_stats(receiver_port)
            print(
                f"{invoices:>9} {rss:>7.1f} {peak:>8.1f} {w.get('scheduled', 0):>10} "
                f"{w.get('delivered', 0):>10} {w.get('pending', 0):>8} {w.get('failed', 0):>7} "
                f"{distinct:>9} {time.monotonic() - started:>6.0f}",
                flush=True,
            )

        await report()
        for month in range(1, args.months + 1):
            target = add_months(start, month) + 86400
            for clock in clocks:
                await post(
                    client,
                    f"/v1/test_helpers/test_clocks/{clock}/advance",
                    {"frozen_time": target},
                    key=f"advance-{clock}-{month}",
                )
            for clock in clocks:
                await wait_ready(client, clock, target)
            invoices += args.customers
            paid += await pay_some(client, args.pay_share, month, seen)
            await report()

        deadline = time.monotonic() + args.settle_seconds
        while time.monotonic() < deadline:
            w = await webhook_figures(admin)
            if not w.get("pending", 0) and not w.get("held", 0):
                break
            await asyncio.sleep(1)
        await report()
        w = await webhook_figures(admin)
        events = w.get("scheduled", 0)
        posts, distinct = receiver_stats(receiver_port)
        print(f"\n{invoices} invoices ({paid} paid) in {time.monotonic() - started:.0f} s")
        print(
            f"webhook events scheduled: {events}; posts received: {posts}; distinct events received: "
            f"{distinct}; lost (never delivered): {events - distinct}; gave up on: {w.get('failed', 0)}"
        )
        peak = max(r[2] for r in rows)
        print(f"peak RSS: {peak:.1f} MB (goal <= {GOAL_MB} MB)")
        at = {n: rss for n, rss, _ in rows}
        low = min((n for n in at if n >= 5000), default=None)
        if low is not None:
            high = max(at)
            print(
                f"RSS at {low} invoices: {at[low]:.1f} MB; at {high}: {at[high]:.1f} MB "
                f"(growth {at[high] - at[low]:+.1f} MB)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--months", type=int, default=19, help="renewals after the first invoices")
    parser.add_argument("--per-clock", type=int, default=500)
    parser.add_argument("--pay-share", type=float, default=0.5)
    parser.add_argument("--receiver-delay-ms", type=float, default=5.0)
    parser.add_argument("--receiver-concurrency", type=int, default=32)
    parser.add_argument("--settle-seconds", type=float, default=300.0)
    parser.add_argument("--env", action="append", default=[], help="extra STRIPE_SANDBOX_X=Y settings")
    args = parser.parse_args()

    receiver_port = free_port()
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(
        target=_receiver,
        args=(receiver_port, args.receiver_delay_ms / 1000, args.receiver_concurrency, ready),
        daemon=True,
    )
    receiver.start()
    ready.wait(10)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"STRIPE_SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{receiver_port}/webhooks/stripe"}
    env.update(dict(e.split("=", 1) for e in args.env))
    try:
        with running(
            "bench-sandbox-stripe",
            ["-m", "revbridge_sandboxes", "stripe", "--port", str(port)],
            f"{base}/__sandbox/health",
            env=env,
        ) as proc:
            asyncio.run(drive(args, base, proc.pid, receiver_port))
    finally:
        receiver.terminate()
        receiver.join()


if __name__ == "__main__":
    main()
