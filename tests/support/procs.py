"""Start real processes for tests (sandboxes, services) and wait for them with a deadline.

Tests talk to real servers over real HTTP; this module only starts them, polls their health
URL until it answers, and stops them afterwards. Logs go to ``.tmp/logs`` for post-mortems.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / ".tmp" / "logs"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing polled may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {message}") from last_exc


@contextmanager
def running(
    name: str,
    args: Sequence[str],
    health_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python <args>`` as a child process until the block ends."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}-{os.getpid()}.log"
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, *args], env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:

            def healthy() -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {log_path}")
                return httpx.get(health_url, timeout=1.0).status_code < 500

            wait_until(healthy, timeout=timeout, message=f"{name} at {health_url}")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


SANDBOXES_STARTED: list[str] = []  # the conformance plugin expects recordings when this is not empty


@contextmanager
def sandbox(platform: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run one sandbox on a free port; yields its base URL."""
    SANDBOXES_STARTED.append(platform)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        f"sandbox-{platform}",
        ["-m", "revbridge_sandboxes", platform, "--port", str(port)],
        f"{base}/__sandbox/health",
        env=env,
    ):
        yield base


@contextmanager
def worker(
    name: str, args: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python <args>`` (a worker: no health URL) until the block ends; a test may kill it first."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}-{os.getpid()}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *args], env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def usage_sender(env: Mapping[str, str], name: str = "usage-sender") -> Iterator[subprocess.Popen[bytes]]:
    """The process API's usage sender (``revbridge_process.usage.sender``), as ``make run`` starts it."""
    with worker(name, ["-m", "revbridge_process.usage.sender"], env) as proc:
        yield proc
