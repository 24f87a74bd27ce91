"""What the gateway costs: the same read, direct to the experience API and through the gateway.

Starts the whole stack on free ports (own Redis key prefix), seeds the demo, then times N
sequential GETs of the revenue summary and of the lineage both ways, interleaved so machine
noise hits both alike. Prints p50/p95 and the gateway/direct ratio. Not a pass/fail test.

    uv run python bench/gateway_overhead.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import seed
from scripts.stack import DEFAULT_PORTS, ROOT, Stack, free_ports, running_stack

CLIENTS = ROOT / "config" / "gateway-clients.yaml"


def timed(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed * 1000


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # the demo clients with a plan large enough not to throttle the measurement
        clients = Path(tmp) / "clients.yaml"
        clients.write_text(
            CLIENTS.read_text().replace("requests_per_minute: 120", "requests_per_minute: 100000")
        )
        stack = Stack(
            ports=free_ports(DEFAULT_PORTS),
            key_prefix=f"rbbench:{uuid.uuid4().hex[:8]}:",
            log_dir=Path(tmp) / "logs",
            keys_dir=Path(tmp) / "keys",
            extra_env={"GATEWAY_CLIENTS_FILE": str(clients)},
        )
        with running_stack(stack):
            demo = seed.seed_demo(stack)
            token = seed.gateway_token(stack.url("gateway"))
            auth = {"Authorization": f"Bearer {token}"}
            paths = {
                "revenue summary": "/v1/revenue/summary",
                "contract lineage": f"/v1/lineage/contracts/{demo.contract_id}",
            }
            print(f"gateway overhead, {n} sequential GETs each way, interleaved")
            with httpx.Client(timeout=30) as client:
                for name, path in paths.items():
                    direct, via = [], []
                    for _ in range(5):  # warm-up
                        timed(client, stack.url("experience") + path, {})
                        timed(client, stack.url("gateway") + "/experience" + path, auth)
                    for _ in range(n):
                        direct.append(timed(client, stack.url("experience") + path, {}))
                        via.append(timed(client, stack.url("gateway") + "/experience" + path, auth))
                    d50, g50 = statistics.median(direct), statistics.median(via)
                    print(
                        f"  {name:17s} direct p50 {d50:7.2f} ms p95 {pct(direct, 95):7.2f} ms | "
                        f"gateway p50 {g50:7.2f} ms p95 {pct(via, 95):7.2f} ms | "
                        f"ratio p50 {g50 / d50:4.2f}x, added {g50 - d50:5.2f} ms"
                    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
