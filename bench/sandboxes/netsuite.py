"""How many customer creates per second the NetSuite sandbox serves, against its own health baseline;
and how fast it finds a record by external id once thousands are stored.

Starts the sandbox as a real process (``python -m revbridge_sandboxes netsuite``) with a high
concurrency limit and an OAuth 2.0 M2M certificate, buys one Bearer token (so clients spend no
CPU on TBA signatures), then drives ``GET /__sandbox/health`` and authenticated
``POST /services/rest/record/v1/customer`` over keep-alive connections from several client
processes. The client is a minimal HTTP/1.1 loop on raw asyncio streams so that it, not the
server, is the cheap side. Then, with every customer those creates stored, it reads the newest one
by external id (``GET .../customer/eid:...``, the look-up revbridge makes before each money write),
which must not cost a scan of the table. Prints requests/s for each and their ratio to health.
Not a pass/fail test.

    uv run python bench/sandboxes/netsuite.py [seconds] [client_processes] [connections_each]
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[2]
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
CREATE_PATH = "/services/rest/record/v1/customer"
HEALTH_PATH = "/__sandbox/health"
TARGET = 2000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request_bytes(method: str, path: str, port: int, token: str, body: bytes = b"") -> bytes:
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(port: int, raw: bytes, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            counts[0 if 200 <= status < 300 else 1] += 1
    finally:
        writer.close()


def _client(port: int, raw: bytes, seconds: float, connections: int, out: multiprocessing.Queue) -> None:
    async def main() -> list[int]:
        counts = [0, 0]
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, raw, stop_at, counts) for _ in range(connections)))
        return counts

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(main()))


def drive(port: int, raw: bytes, seconds: float, processes: int, connections: int) -> tuple[float, int]:
    """Requests per second (2xx only) and the number of non-2xx answers."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_client, args=(port, raw, seconds, connections, queue))
        for _ in range(processes)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return sum(ok for ok, _ in results) / elapsed, sum(bad for _, bad in results)


def bearer_token(base: str, key: RSAKey) -> str:
    now = int(time.time())
    claims = {
        "iss": "bench",
        "scope": "rest_webservices",
        "aud": base + TOKEN_PATH,
        "iat": now,
        "exp": now + 600,
    }
    assertion = jwt.encode({"alg": "PS256", "kid": "bench-cert"}, claims, key, algorithms=["PS256"])
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    response = httpx.post(base + TOKEN_PATH, data=form)
    response.raise_for_status()
    return str(response.json()["access_token"])


def main(seconds: float, processes: int, connections: int) -> None:
    key = RSAKey.generate_key(2048)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NETSUITE_SANDBOX_CONCURRENCY": "100000",
        "NETSUITE_SANDBOX_M2M_CLIENT_ID": "bench",
        "NETSUITE_SANDBOX_M2M_CERTIFICATE_ID": "bench-cert",
        "NETSUITE_SANDBOX_M2M_PUBLIC_KEY": key.as_pem(private=False).decode(),
    }
    args = [sys.executable, "-m", "revbridge_sandboxes", "netsuite", "--port", str(port)]
    server = subprocess.Popen(args, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + HEALTH_PATH, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        token = bearer_token(base, key)
        body = json.dumps({"companyName": "Bench Co", "subsidiary": {"id": "1"}}).encode()
        create = request_bytes("POST", CREATE_PATH, port, token, body)
        health = request_bytes("GET", HEALTH_PATH, port, token)
        drive(port, create, 1.0, processes, connections)  # warm-up
        health_rate, health_errors = drive(port, health, seconds, processes, connections)
        create_rate, create_errors = drive(port, create, seconds, processes, connections)
        newest = {"companyName": "Newest Co", "subsidiary": {"id": "1"}, "externalId": "bench-newest"}
        headers = {"Authorization": f"Bearer {token}"}
        httpx.post(base + CREATE_PATH, json=newest, headers=headers, timeout=30).raise_for_status()
        by_eid = request_bytes("GET", f"{CREATE_PATH}/eid:bench-newest", port, token)
        eid_rate, eid_errors = drive(port, by_eid, seconds, processes, connections)
        stored = len(httpx.get(f"{base}/__sandbox/records/customer", timeout=30).json())
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"clients: {processes} processes x {connections} keep-alive connections, {seconds:.0f} s per phase")
    print(f"GET  /__sandbox/health          {health_rate:8.0f} req/s  (non-2xx: {health_errors})")
    print(f"POST /record/v1/customer (204)  {create_rate:8.0f} req/s  (non-2xx: {create_errors})")
    print(f"creates / health ratio          {create_rate / health_rate:8.2f}")
    print(f"customers stored                {stored:8d}")
    print(f"GET  /record/v1/customer/eid:…  {eid_rate:8.0f} req/s  (non-2xx: {eid_errors}), newest of them")
    print(f"look-up by external id / health {eid_rate / health_rate:8.2f}")
    print(f"target {TARGET} creates/s: {'met' if create_rate >= TARGET else 'NOT met'}")


if __name__ == "__main__":
    cli = sys.argv[1:]
    main(
        float(cli[0]) if cli else 4.0,
        int(cli[1]) if len(cli) > 1 else 2,
        int(cli[2]) if len(cli) > 2 else 16,
    )
