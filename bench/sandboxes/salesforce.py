"""How fast the Salesforce sandbox takes simple creates, against its own health endpoint as baseline.

Starts the sandbox as a real process, then drives ``POST /services/data/v59.0/sobjects/Account/``
(a Name, a Bearer token, keep-alive) from several client processes, each a minimal asyncio
HTTP/1.1 client over many connections, so the client costs as little CPU as possible. The same
load against ``GET /__sandbox/health`` of the same process gives the baseline; the ratio says what
a create costs beyond the web stack. Then, with those thousands of accounts stored, a SOQL query for
one of them by Id (``SELECT Id, Name FROM Account WHERE Id = '…'``, the shape of revbridge's contract
and account reads): what a read costs once the org is no longer empty. Not a pass/fail test.

    uv run python bench/sandboxes/salesforce.py [SECONDS] [CLIENT_PROCESSES] [CONNECTIONS_EACH]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.procs import sandbox

TARGET = 2000  # creates/s on the 2-core CI machine


def build(method: str, path: str, host: str, token: str | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(host: str, port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts[0 if status < 300 else 1] += 1
    finally:
        writer.close()


def _client(args: tuple[str, int, bytes, float, int]) -> tuple[int, int]:
    host, port, request, deadline, connections = args

    async def run() -> list[int]:
        counts = [0, 0]
        await asyncio.gather(
            *(_connection(host, port, request, deadline, counts) for _ in range(connections))
        )
        return counts

    ok, failed = asyncio.run(run())
    return ok, failed


def measure(
    pool: multiprocessing.pool.Pool, port: int, request: bytes, seconds: float, clients: int, conns: int
) -> float:
    start = time.perf_counter()
    deadline = start + seconds
    results = pool.map(_client, [("127.0.0.1", port, request, deadline, conns)] * clients)
    elapsed = time.perf_counter() - start
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    if failed:
        raise SystemExit(f"{failed} requests failed")
    return ok / elapsed


def main(seconds: float, clients: int, conns: int) -> None:
    with sandbox("salesforce") as base:
        port = int(base.rsplit(":", 1)[1])
        host = f"127.0.0.1:{port}"
        data = {
            "grant_type": "client_credentials",
            "client_id": "revbridge-demo-client",
            "client_secret": "revbridge-demo-secret",
        }
        token = httpx.post(f"{base}/services/oauth2/token", data=data).json()["access_token"]
        health = build("GET", "/__sandbox/health", host)
        body = json.dumps({"Name": "Bench Co"}).encode()
        create = build("POST", "/services/data/v59.0/sobjects/Account/", host, token, body)
        with multiprocessing.Pool(clients) as pool:
            measure(pool, port, health, 0.5, clients, conns)  # warm up both paths
            measure(pool, port, create, 0.5, clients, conns)
            baseline = measure(pool, port, health, seconds, clients, conns)
            creates = measure(pool, port, create, seconds, clients, conns)
            bearer = {"Authorization": f"Bearer {token}"}
            api = httpx.Client(base_url=f"{base}/services/data/v59.0", headers=bearer)
            total = api.get("/query", params={"q": "SELECT COUNT() FROM Account"}).json()["totalSize"]
            newest = api.post("/sobjects/Account/", json={"Name": "Newest Co"}).json()["id"]
            q = quote(f"SELECT Id, Name FROM Account WHERE Id = '{newest}'")
            by_id = build("GET", f"/services/data/v59.0/query?q={q}", host, token)
            measure(pool, port, by_id, 0.5, clients, conns)
            reads = measure(pool, port, by_id, seconds, clients, conns)
    print(f"client processes: {clients} x {conns} connections, {seconds:.0f} s per phase")
    print(f"baseline GET /__sandbox/health : {baseline:8.0f} req/s")
    print(f"POST sobjects/Account (create) : {creates:8.0f} creates/s  (target {TARGET}; {total} stored)")
    print(f"create / health                : {creates / baseline:8.2f}")
    print(f"SOQL WHERE Id = (one of {total + 1}) : {reads:8.0f} queries/s")
    print(f"query by Id / health           : {reads / baseline:8.2f}")


if __name__ == "__main__":
    argv = sys.argv[1:]
    main(
        float(argv[0]) if argv else 4.0,
        int(argv[1]) if len(argv) > 1 else 2,
        int(argv[2]) if len(argv) > 2 else 16,
    )
