"""Throughput of the Stripe sandbox: simple creates per second against the same process's ceiling.

Starts the sandbox as a real process, then drives it from several client processes (a raw
keep-alive HTTP/1.1 client on asyncio, so the client is not the bottleneck) for a few seconds:
first ``GET /__sandbox/health`` (the server's ceiling: routing and no work), then
``POST /v1/customers`` with two fields and Bearer auth. Prints both rates and their ratio.
Not a pass/fail test; the target is >= 2,000 creates/s on a 2-core machine.

    uv run python bench/sandboxes/stripe.py [seconds] [processes] [connections-per-process]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.procs import sandbox

KEY = "sk_test_revbridge_demo"


def _request(port: int, kind: str, n: int) -> bytes:
    if kind == "health":
        return f"GET /__sandbox/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    body = f"email=bench{n}%40acme.test&name=Bench+{n}".encode()
    head = (
        f"POST /v1/customers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(port: int, kind: str, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.monotonic() < deadline:
            writer.write(_request(port, kind, n))
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts[0 if head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")) else 1] += 1
            n += 1
    finally:
        writer.close()


def _worker(port: int, kind: str, seconds: float, connections: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    counts = [0, 0]

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_connection(port, kind, deadline, counts) for _ in range(connections)))

    try:
        import uvloop

        uvloop.install()  # the same client loop as the other sandbox benches
    except ImportError:
        pass
    asyncio.run(main())
    out.put(counts)


def measure(port: int, kind: str, seconds: float, processes: int, connections: int) -> tuple[float, int]:
    """Successful requests per second, and the number of non-200 answers."""
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [
        multiprocessing.Process(target=_worker, args=(port, kind, seconds, connections, out))
        for _ in range(processes)
    ]
    started = time.monotonic()
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    elapsed = time.monotonic() - started
    for w in workers:
        w.join()
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    connections = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    with sandbox("stripe") as base:
        port = int(base.rsplit(":", 1)[1])
        measure(port, "health", 1.0, processes, connections)  # warm-up
        health, _ = measure(port, "health", seconds, processes, connections)
        creates, failed = measure(port, "create", seconds, processes, connections)
    print(f"clients: {processes} processes x {connections} keep-alive connections, {seconds:.0f} s each")
    print(f"baseline GET /__sandbox/health : {health:8.0f} req/s")
    print(f"POST /v1/customers             : {creates:8.0f} creates/s  (non-200: {failed})")
    print(f"creates / baseline             : {creates / health:8.2f}")


if __name__ == "__main__":
    main()
