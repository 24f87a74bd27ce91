"""Starts the whole revbridge stack as real processes: sandboxes, services, workers, gateway.

``make run`` uses it (``python -m scripts.stack run``) and so do the end-to-end tests, with
free ports and their own Redis key prefix. Every process gets the same environment variable
names that docker-compose uses; each service is told only the URL of the layer below it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from revbridge_db.settings import DEFAULT_URL as DEFAULT_DATABASE_URL

ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = ROOT / ".tmp" / "run"

# The demo Stripe accounts, one per legal entity (DEMO VALUES, sandbox only): the sandbox holds both
# secret keys and sends each account's events to its own webhook endpoint.
STRIPE_DEMO_ACCOUNTS = {
    "default": {"secret_key": "sk_test_revbridge_demo", "webhook_secret": "whsec_revbridge_demo"},
    "uk": {"secret_key": "sk_test_revbridge_demo_uk", "webhook_secret": "whsec_revbridge_demo"},
}

# The dashboard's demo user (DEMO VALUES, sandbox only; config/gateway-users.yaml holds its hash).
DASHBOARD_USER = ("revops-demo", "revops-demo-password")

DEFAULT_PORTS = {
    "stripe": 12111,
    "salesforce": 12112,
    "netsuite": 12113,
    "gateway": 8000,
    "system": 8001,
    "process": 8002,
    "experience": 8003,
}


def free_ports(names: Iterable[str]) -> dict[str, int]:
    """A distinct free port per name: every socket stays bound until all are chosen, so the
    kernel cannot hand the same port out twice (which one-at-a-time picking allows)."""
    import socket

    sockets: dict[str, socket.socket] = {}
    try:
        for name in names:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets[name] = sock
        return {name: int(sock.getsockname()[1]) for name, sock in sockets.items()}
    finally:
        for sock in sockets.values():
            sock.close()


@dataclass
class Stack:
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    redis_url: str = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    key_prefix: str = os.environ.get("REVBRIDGE_KEY_PREFIX", "rb:")
    database_url: str = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    log_dir: Path = RUN_DIR / "logs"
    keys_dir: Path = RUN_DIR / "gateway-keys"
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self) -> dict[str, str]:
        system = self.url("system")
        return {
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "REVBRIDGE_KEY_PREFIX": self.key_prefix,
            "REVBRIDGE_MODE": "sandbox",
            "REVBRIDGE_CONFIG_DIR": str(ROOT / "config"),
            # sandboxes: where the platforms push (demo secrets, sandbox only)
            "STRIPE_SANDBOX_SECRET_KEYS": ",".join(a["secret_key"] for a in STRIPE_DEMO_ACCOUNTS.values()),
            "STRIPE_SANDBOX_WEBHOOK_URL": f"{system}/v1/webhooks/stripe/default",
            "STRIPE_SANDBOX_WEBHOOK_URLS": json.dumps(
                {
                    a["secret_key"]: f"{system}/v1/webhooks/stripe/{name}"
                    for name, a in STRIPE_DEMO_ACCOUNTS.items()
                }
            ),
            "SALESFORCE_SANDBOX_CALLOUT_URL": f"{system}/v1/callouts/salesforce/contract-activated",
            # system API: the platforms
            "SYSTEM_PORT": str(self.ports["system"]),
            "STRIPE_API_BASE": self.url("stripe"),
            "STRIPE_ACCOUNTS": json.dumps(STRIPE_DEMO_ACCOUNTS),
            "SALESFORCE_INSTANCE_URL": self.url("salesforce"),
            "NETSUITE_BASE_URL": self.url("netsuite"),
            "SALESFORCE_POLL_INTERVAL_SECONDS": "2",
            # process API: the system API only
            "PROCESS_PORT": str(self.ports["process"]),
            "PROCESS_SYSTEM_API_URL": system,
            # experience API: the process API only
            "EXPERIENCE_PORT": str(self.ports["experience"]),
            "EXPERIENCE_PROCESS_API_URL": self.url("process"),
            # gateway
            "GATEWAY_PORT": str(self.ports["gateway"]),
            "GATEWAY_ISSUER": self.url("gateway"),
            "GATEWAY_EXPERIENCE_API_URL": self.url("experience"),
            "GATEWAY_PROCESS_API_URL": self.url("process"),
            "GATEWAY_KEYS_DIR": str(self.keys_dir),
            "GATEWAY_CLIENTS_FILE": str(ROOT / "config" / "gateway-clients.yaml"),
            "GATEWAY_USERS_FILE": str(ROOT / "config" / "gateway-users.yaml"),
            **self.extra_env,
        }

    def processes(self) -> list[tuple[str, list[str], str | None]]:
        """(name, python args, health URL) in start order: bottom layer first."""
        p = self.ports
        return [
            (
                "sandbox-stripe",
                ["-m", "revbridge_sandboxes", "stripe", "--port", str(p["stripe"])],
                f"{self.url('stripe')}/__sandbox/health",
            ),
            (
                "sandbox-salesforce",
                ["-m", "revbridge_sandboxes", "salesforce", "--port", str(p["salesforce"])],
                f"{self.url('salesforce')}/__sandbox/health",
            ),
            (
                "sandbox-netsuite",
                ["-m", "revbridge_sandboxes", "netsuite", "--port", str(p["netsuite"])],
                f"{self.url('netsuite')}/__sandbox/health",
            ),
            ("system-api", ["-m", "revbridge_system"], f"{self.url('system')}/healthz"),
            ("system-poller", ["-m", "revbridge_system.poller"], None),
            ("process-api", ["-m", "revbridge_process"], f"{self.url('process')}/healthz"),
            ("process-worker", ["-m", "revbridge_process.worker"], None),
            ("usage-sender", ["-m", "revbridge_process.usage.sender"], None),
            ("experience-api", ["-m", "revbridge_experience.app"], f"{self.url('experience')}/healthz"),
            ("experience-projector", ["-m", "revbridge_experience.projector"], None),
            ("gateway", ["-m", "revbridge_gateway"], f"{self.url('gateway')}/healthz"),
        ]

    def start(self, timeout: float = 60.0, only: Iterable[str] | None = None) -> None:
        """Start the processes (``only`` those named), bottom layer first, and wait until healthy."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env()}
        pending: list[tuple[str, str]] = []
        chosen = set(only) if only is not None else None
        for name, args, health in self.processes():
            if chosen is not None and name not in chosen:
                continue
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
            self.procs[name] = subprocess.Popen(
                [sys.executable, *args],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if health:
                pending.append((name, health))
        deadline = time.monotonic() + timeout
        for name, health in pending:
            self._wait_healthy(name, health, deadline)
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir / name}.log")

    def _wait_healthy(self, name: str, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_dir / name}.log")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{name} did not become healthy at {url}; see {self.log_dir / name}.log")

    def stop(self, only: Iterable[str] | None = None) -> None:
        """Stop the processes (``only`` those named), top layer first."""
        chosen = set(only) if only is not None else set(self.procs)
        stopping = [(n, p) for n, p in reversed(list(self.procs.items())) if n in chosen]
        for _, proc in stopping:
            if proc.poll() is None:
                proc.terminate()
        for name, proc in stopping:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            del self.procs[name]

    def restart_services(self, timeout: float = 60.0) -> None:
        """Restart every revbridge process (services, workers, gateway); the sandboxes, standing in for
        the platforms, keep running."""
        names = [name for name, _, _ in self.processes() if not name.startswith("sandbox-")]
        self.stop(names)
        self.start(timeout, only=names)


@contextmanager
def running_stack(stack: Stack) -> Iterator[Stack]:
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@contextmanager
def single_instance() -> Iterator[None]:
    """One ``make run`` per checkout: a second one says so and leaves the first alone."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    lock_path = RUN_DIR / "stack.lock"
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid = lock.read().strip() or "?"
            gateway = f"http://127.0.0.1:{DEFAULT_PORTS['gateway']}"
            print(f"revbridge is already running from this checkout (pid {pid}):")
            print(f"  gateway    {gateway}\n  dashboard  {gateway}/dashboard/")
            print(f"  logs       {RUN_DIR / 'logs'}")
            print(f"Its terminal shows the demo and the curls; stop it with Ctrl-C there (or: kill {pid}).")
            raise SystemExit(0) from None  # what was asked for is running: not a failure
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def _ports_in_use(stack: Stack) -> list[str]:
    import socket

    busy = []
    for name, port in stack.ports.items():
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(f"{name}:{port}")
    return busy


def dashboard_banner(stack: Stack) -> str:
    user, password = DASHBOARD_USER
    return (
        "The dashboard (sign in in a browser; the user is a DEMO VALUE):\n\n"
        f"  {stack.url('gateway')}/dashboard/\n"
        f"  user {user}   password {password}\n"
    )


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """A database of its own on the server of DATABASE_URL (a bench's, a chaos run's), dropped after."""
    import uuid

    from revbridge_db.admin import create_database, drop_database, split_database

    admin, _ = split_database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    url = admin.rsplit("/", 1)[0] + f"/rb{label}_{uuid.uuid4().hex[:8]}"
    create_database(url)
    try:
        yield url
    finally:
        drop_database(url)


def demo_database() -> str:
    """``make run``'s database: ``revbridge_demo`` on the server of DATABASE_URL, made afresh each run,
    because the sandboxes start empty and the demo's record must be of the platforms it ran against.
    (A real deployment points DATABASE_URL at its own database and never runs this.)"""
    from revbridge_db.admin import create_database, drop_database, split_database

    server = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    admin, _ = split_database(server)
    url = admin.rsplit("/", 1)[0] + "/revbridge_demo"
    drop_database(url)
    create_database(url)
    return url


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run() -> None:
    from scripts import seed

    with single_instance():
        stack = Stack(database_url=demo_database())
        busy = _ports_in_use(stack)
        if busy:
            raise SystemExit(f"ports already in use ({', '.join(busy)}): is revbridge running elsewhere?")
        started = time.monotonic()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _interrupt)  # also when started with SIGINT ignored (a background job)
        try:
            print("revbridge: starting sandboxes, services, workers and gateway ...", flush=True)
            stack.start()
            print(f"revbridge: the gateway answers at {stack.url('gateway')}", flush=True)
            print("revbridge: seeding the demo (accounts, contract, invoice, payment) ...", flush=True)
            demo = seed.seed_demo(stack)
            print(seed.banner(stack, demo, time.monotonic() - started), flush=True)
            print(dashboard_banner(stack), flush=True)
            while all(p.poll() is None for p in stack.procs.values()):
                time.sleep(0.5)
            dead = [n for n, p in stack.procs.items() if p.poll() is not None]
            print(f"revbridge: {', '.join(dead)} stopped; shutting down. Logs in {stack.log_dir}")
        except KeyboardInterrupt:
            print("\nrevbridge: stopping ...")
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            stack.stop()
            print("revbridge: stopped.")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.stack")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    run()


if __name__ == "__main__":
    main()
