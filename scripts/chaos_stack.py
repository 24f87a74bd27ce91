"""The processes a chaos run (or the pipeline bench) owns: its own Redis and PostgreSQL and a stack
with N workers.

``RedisServer`` runs ``redis-server`` in the foreground on its own port and directory under
``.tmp`` with AOF on, so the run can kill or restart it without touching anyone else's Redis.
``PostgresServer`` is a PostgreSQL cluster of the run's own (Debian's binaries, ``initdb`` into the
run's directory), restarted the same way, fast (checkpoint) or immediate (crash recovery).
``ChaosStack`` is ``scripts.stack.Stack`` with ``process-worker-1..N`` instead of one worker, and
the operations a chaos run needs: SIGKILL one process, start it again, read each process's peak
memory (``VmHWM``, kept across restarts of the same name).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scripts.stack import ROOT, Stack

WORKER = "process-worker"
SYSTEM_API = "system-api"


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A project-local Redis with AOF (``appendfsync everysec``), restartable on the same dir/port."""

    port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit(
                "redis-server not found: sudo apt-get install -y redis-server (or brew install redis)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no"]
        args += ["--logfile", str(self.directory / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not _pong(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {self.directory}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.05)

    def stop(self, hard: bool = False) -> None:
        """SIGTERM is Redis's SHUTDOWN (AOF flushed); ``hard`` is SIGKILL (up to 1 s of writes lost)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self, hard: bool = False) -> float:
        """Stop and start again on the same port and directory; the seconds nothing answered."""
        started = time.monotonic()
        self.stop(hard)
        self.start()
        return time.monotonic() - started


def _pg_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise SystemExit("PostgreSQL server binaries not found: sudo apt-get install -y postgresql")


@dataclass
class PostgresServer:
    """A project-local PostgreSQL cluster (trust auth, user postgres), restartable on the same port."""

    port: int
    directory: Path
    """Under the run's directory; as root, a directory of its own under /tmp instead (the server runs
    as the postgres user, who may not traverse the run's directory)."""

    def __post_init__(self) -> None:
        if os.geteuid() == 0:
            import tempfile

            self.directory = Path(tempfile.mkdtemp(prefix="revbridge-pg-"))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/revbridge"

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _as_owner(self, *args: str) -> list[str]:
        if os.geteuid() != 0:  # initdb and postgres refuse to run as root
            return list(args)
        owner = (
            "postgres"
            if subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode == 0
            else "nobody"
        )
        shutil.chown(self.directory, owner)
        return ["runuser", "-u", owner, "--", *args]

    def _ctl(self, *args: str) -> None:
        bindir, data = _pg_bindir(), self.directory / "data"
        cmd = self._as_owner(
            str(bindir / "pg_ctl"), "-D", str(data), "-l", str(self.directory / "pg.log"), *args
        )
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        from revbridge_db.admin import create_database

        self.directory.mkdir(parents=True, exist_ok=True)
        data = self.directory / "data"
        if not (data / "PG_VERSION").exists():
            initdb = self._as_owner(
                str(_pg_bindir() / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
            subprocess.run(initdb, check=True, stdout=subprocess.DEVNULL, timeout=120)
        opts = f"-p {self.port} -h 127.0.0.1 -k {self.directory} -c max_connections=300"
        self._ctl("-w", "-t", "60", "-o", opts, "start")
        create_database(self.url)

    def stop(self, hard: bool = False) -> None:
        if (self.directory / "data" / "postmaster.pid").exists():
            self._ctl("-w", "-m", "immediate" if hard else "fast", "stop")

    def restart(self, hard: bool = False) -> float:
        """Stop and start again on the same port and data; the seconds nothing answered."""
        started = time.monotonic()
        self.stop(hard)
        self.start()
        return time.monotonic() - started


@dataclass
class ChaosStack(Stack):
    workers: int = 2
    system_apis: int = 1
    """System API replicas sharing its port (``SYSTEM_REUSE_PORT``); 1: the usual single process."""
    peaks_kb: dict[str, int] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {**super().env(), **({"SYSTEM_REUSE_PORT": "1"} if self.system_apis > 1 else {})}

    def processes(self) -> list[tuple[str, list[str], str | None]]:
        out: list[tuple[str, list[str], str | None]] = []
        for name, args, health in super().processes():
            if name == WORKER:
                out += [(f"{WORKER}-{i}", args, None) for i in range(1, self.workers + 1)]
            elif name == SYSTEM_API and self.system_apis > 1:
                out += [(f"{SYSTEM_API}-{i}", args, health) for i in range(1, self.system_apis + 1)]
            else:
                out.append((name, args, health))
        return out

    def worker_names(self) -> list[str]:
        return [f"{WORKER}-{i}" for i in range(1, self.workers + 1)]

    def spawn(self, name: str) -> None:
        """Start process ``name`` (after a kill) with the stack's environment."""
        args = next(a for n, a, _ in self.processes() if n == name)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **self.env()},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up, no acknowledgement of the entry in hand."""
        proc = self.procs[name]
        self.sample_memory()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def sample_memory(self) -> dict[str, int]:
        """Peak resident memory (kB) of every live process, kept as the max per name."""
        for name, proc in self.procs.items():
            if proc.poll() is None:
                peak = vm_hwm_kb(proc.pid)
                if peak:
                    self.peaks_kb[name] = max(self.peaks_kb.get(name, 0), peak)
        return dict(self.peaks_kb)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by every live process."""
        return {name: cpu_seconds(proc.pid) for name, proc in self.procs.items() if proc.poll() is None}

    def stop(self, only: Iterable[str] | None = None) -> None:
        self.sample_memory()
        super().stop(only)


WEBHOOK_DELIVERY = {
    "STRIPE_SANDBOX_WEBHOOK_MAX_ATTEMPTS": "10",
    "STRIPE_SANDBOX_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    "STRIPE_SANDBOX_WEBHOOK_TIMEOUT_SECONDS": "20",
}
"""The Stripe sandbox's webhook retries, closer to Stripe's (which retries for three days): 10
attempts, backing off from 0.5 s, 20 s each, so a receiver that is down for a while (the system
API while Redis restarts) gets every event once it is back."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a Linux process has used so far; 0 where /proc is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def vm_hwm_kb(pid: int) -> int:
    """``VmHWM`` (peak resident set) of a Linux process in kB; 0 where /proc is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
