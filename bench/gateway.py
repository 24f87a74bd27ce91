"""What the gateway costs under load, and what a plain forwarder costs, to choose its HTTP client.

One run starts the whole stack on free ports (own Redis key prefix, demo seeded, the demo clients'
plan raised so the rate limit counts but never refuses), plus two minimal forwarders (a Starlette app
relaying to the experience API over an ``httpx.AsyncClient``, and the same over ``aiohttp``). It
then drives the same GET (``/v2/versions`` of the experience API: a real operation answered from
the API's own contracts, cheap enough that the gateway's cost isn't hidden behind the ~0.5 s of a
live lineage read across three sandboxes; ``--path`` picks another) with an aiohttp load generator
at concurrency 4 and 32, in interleaved rounds so machine noise hits every target alike: (a) direct
to the experience API, (b) through the gateway with every policy on (token, Redis rate limit,
contract validation, audit line, tracing), (c) through each forwarder.
Prints throughput, the ratio to direct, and p50/p99 latency added over direct. Not pass/fail.

    uv run python bench/gateway.py [--seconds 3] [--rounds 2] [--path /v2/versions]
    uv run python bench/gateway.py forwarder --client httpx|aiohttp --port P --upstream URL  (internal)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import seed
from scripts.stack import DEFAULT_PORTS, ROOT, Stack, free_ports, running_stack

CLIENTS = ROOT / "config" / "gateway-clients.yaml"
CONCURRENCY = (4, 32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the plain forwarders (run as child processes) -------------------------------------------


def forwarder(client: str, port: int, upstream: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    state: dict[str, object] = {}

    async def relay_httpx(request: Request) -> Response:
        http = state["http"]
        assert isinstance(http, httpx.AsyncClient)
        answer = await http.get(upstream + request.url.path)
        return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))

    async def relay_aiohttp(request: Request) -> Response:
        import aiohttp

        session = state["http"]
        assert isinstance(session, aiohttp.ClientSession)
        async with session.get(upstream + request.url.path) as answer:
            body = await answer.read()
            return Response(body, answer.status, media_type=answer.headers.get("content-type"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if client == "httpx":
            state["http"] = httpx.AsyncClient(timeout=10)
        else:
            import aiohttp

            state["http"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        yield

    relay = relay_httpx if client == "httpx" else relay_aiohttp
    app = Starlette(routes=[Route("/{path:path}", relay)], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@contextmanager
def running_forwarder(client: str, upstream: str, log_dir: Path) -> Iterator[str]:
    port = free_port()
    args = [
        sys.executable,
        __file__,
        "forwarder",
        "--client",
        client,
        "--port",
        str(port),
        "--upstream",
        upstream,
    ]
    with open(log_dir / f"forwarder-{client}.log", "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"forwarder {client} did not start; see {log_dir}") from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


# --- the load generator ----------------------------------------------------------------------


@dataclass
class Sample:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1]


async def drive(url: str, headers: dict[str, str], concurrency: int, seconds: float, into: Sample) -> None:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(deadline: float, record: bool) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{url} answered {response.status}")
                if record:
                    into.latencies.append((time.perf_counter() - started) * 1000)
                    into.requests += 1

        warm = time.perf_counter() + 0.3
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
        into.seconds += time.perf_counter() - started


def report(concurrency: int, results: dict[str, Sample]) -> None:
    direct = results["direct"]
    print(f"\nconcurrency {concurrency}")
    columns = ("req/s", "x direct", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms")
    print(f"  {'target':20s} " + " ".join(f"{c:>8s}" for c in columns))
    for name, s in results.items():
        print(
            f"  {name:20s} {s.rps:8.0f} {s.rps / direct.rps:9.2f} {s.pct(50):8.2f} {s.pct(99):8.2f} "
            f"{s.pct(50) - direct.pct(50):8.2f} {s.pct(99) - direct.pct(99):8.2f}"
        )


def main(seconds: float, rounds: int, path: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clients = Path(tmp) / "clients.yaml"
        clients.write_text(
            CLIENTS.read_text().replace("requests_per_minute: 120", "requests_per_minute: 10000000")
        )
        stack = Stack(
            ports=free_ports(DEFAULT_PORTS),
            key_prefix=f"rbbench:{uuid.uuid4().hex[:8]}:",
            log_dir=Path(tmp) / "logs",
            keys_dir=Path(tmp) / "keys",
            extra_env={"GATEWAY_CLIENTS_FILE": str(clients), "SALESFORCE_POLL_INTERVAL_SECONDS": "300"},
        )
        with running_stack(stack):
            demo = seed.seed_demo(stack)
            token = seed.gateway_token(stack.url("gateway"))
            experience = stack.url("experience")
            path = (path or "/v2/versions").replace("{contract_id}", demo.contract_id)
            with (
                running_forwarder("httpx", experience, stack.log_dir) as fwd_httpx,
                running_forwarder("aiohttp", experience, stack.log_dir) as fwd_aiohttp,
            ):
                targets = {
                    "direct": (experience + path, {}),
                    "gateway (all on)": (
                        stack.url("gateway") + "/experience" + path,
                        {"Authorization": f"Bearer {token}"},
                    ),
                    "forwarder httpx": (fwd_httpx + path, {}),
                    "forwarder aiohttp": (fwd_aiohttp + path, {}),
                }
                print(f"GET {path}: {rounds} interleaved rounds of {seconds:.0f} s per target")
                print(f"({os.cpu_count()} CPUs shared by the load generator, the stack and the forwarders)")
                for concurrency in CONCURRENCY:
                    results = {name: Sample() for name in targets}
                    for _ in range(rounds):
                        for name, (url, headers) in targets.items():
                            asyncio.run(drive(url, headers, concurrency, seconds, results[name]))
                    report(concurrency, results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode")
    fwd = sub.add_parser("forwarder")
    fwd.add_argument("--client", choices=("httpx", "aiohttp"), required=True)
    fwd.add_argument("--port", type=int, required=True)
    fwd.add_argument("--upstream", required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--path", help="experience API path, e.g. /v1/lineage/contracts/{contract_id}")
    ns = parser.parse_args()
    if ns.mode == "forwarder":
        forwarder(ns.client, ns.port, ns.upstream)
    else:
        main(ns.seconds, ns.rounds, ns.path)
