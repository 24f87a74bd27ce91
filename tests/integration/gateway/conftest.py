"""Real processes for the gateway tests: an experience API (reading an empty read model under its
own key prefix; its process API is a closed port) and gateways in front of it, each with its own Redis
key prefix; and, where a test needs to inject a clock or settings, the gateway app in-process
(still real Redis and real
upstream sockets), which starts in milliseconds instead of seconds."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from revbridge_gateway.app import create_app
from revbridge_gateway.settings import Settings

# Starlette warns once per run that its TestClient wants httpx2; httpx2 is not installed because
# the netsuite SDK the conformance suite runs breaks beside it (test_netsuite_sdk.py says how).
from starlette.testclient import TestClient

from tests.support.procs import ROOT, free_port, running
from tests.support.redis import REDIS_URL, isolated_prefix

CLIENTS_FILE = ROOT / "config" / "gateway-clients.yaml"
SECRETS = {
    "revops-dashboard": "revops-demo-secret",
    "partner-demo": "partner-demo-secret",
    "partner-trial": "partner-trial-secret",
}


@dataclass(frozen=True)
class Gw:
    base: str
    keys_dir: Path
    experience: str = ""  # the experience API behind it, to compare with what passes through

    def direct(self, path: str) -> httpx.Response:
        """The experience API's own answer to ``path`` (without the ``/experience`` prefix)."""
        return httpx.get(f"{self.experience}{path}", timeout=15)

    def token(self, client_id: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = httpx.post(f"{self.base}/oauth/token", data=data, auth=(client_id, SECRETS[client_id]))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def signing_key_pem(self) -> bytes:
        """The private key the gateway signs with now (keys rotate daily by default, see keys.py)."""
        keys_dir, period = self.keys_dir, Settings().key_rotation_seconds
        return (keys_dir / f"rotating-{int(time.time()) // period * period}.pem").read_bytes()

    def call(self, method: str, path: str, token: str | None, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=15, **kwargs)


@pytest.fixture(scope="session")
def experience_api() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with isolated_prefix() as prefix:
        env = {
            "EXPERIENCE_PORT": str(port),
            "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{free_port()}",
            "REVBRIDGE_KEY_PREFIX": prefix,
        }
        with running("experience-api", ["-m", "revbridge_experience.app"], f"{base}/healthz", env=env):
            yield base


GatewayFactory = Callable[..., AbstractContextManager[Gw]]


@pytest.fixture(scope="session")
def start_gateway(experience_api: str, tmp_path_factory: pytest.TempPathFactory) -> GatewayFactory:
    """Start a gateway process; several may share ``prefix`` and ``keys_dir`` like real replicas."""

    @contextmanager
    def start(
        prefix: str,
        redis_url: str = REDIS_URL,
        keys_dir: Path | None = None,
        issuer: str | None = None,
        process_url: str | None = None,
    ) -> Iterator[Gw]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        keys = keys_dir or tmp_path_factory.mktemp("keys")
        env = {
            "GATEWAY_PORT": str(port),
            "GATEWAY_ISSUER": issuer or base,
            "GATEWAY_EXPERIENCE_API_URL": experience_api,
            "GATEWAY_PROCESS_API_URL": process_url or f"http://127.0.0.1:{free_port()}",
            "GATEWAY_CLIENTS_FILE": str(CLIENTS_FILE),
            "GATEWAY_KEYS_DIR": str(keys),
            "REDIS_URL": redis_url,
            "REVBRIDGE_KEY_PREFIX": prefix,
            "REVBRIDGE_MODE": "sandbox",
        }
        with running(f"gateway-{port}", ["-m", "revbridge_gateway"], f"{base}/healthz", env=env):
            yield Gw(base, keys, experience_api)

    return start


@pytest.fixture(scope="module")
def gateway(start_gateway: GatewayFactory) -> Iterator[Gw]:
    with isolated_prefix() as prefix, start_gateway(prefix) as gw:
        yield gw


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Upstream:
    """A stand-in upstream in a thread: records each request and answers ``status`` with JSON.

    ``hold`` (when set by a test) keeps requests waiting until it is released, to catch a call
    while it is still running.
    """

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.seen: list[dict[str, object]] = []
        self.port = free_port()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                upstream.seen.append({"method": self.command, "path": self.path, "body": body})
                payload = json.dumps({"echo": len(upstream.seen)}).encode()
                self.send_response(upstream.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Location", "/v1/onboardings/800000000000001AAA")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._handler = Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def serving(self) -> Iterator[Upstream]:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


@dataclass
class InProcess:
    """A gateway app run in the test's process (real Redis, real upstream sockets)."""

    client: TestClient
    prefix: str

    def token(self, client_id: str, scopes: list[str] | None = None) -> str:
        gateway = self.client.app.state.gateway  # type: ignore[attr-defined]
        client = gateway.registry.clients[client_id]
        return str(gateway.tokens.issue(client, scopes or list(client.scopes)))

    def call(self, method: str, path: str, token: str | None, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, path, headers=headers, **kwargs)


@contextmanager
def in_process_gateway(
    tmp: Path,
    experience_url: str | None = None,
    process_url: str | None = None,
    clock: Callable[[], float] = time.time,
    **settings: object,
) -> Iterator[InProcess]:
    with isolated_prefix() as prefix:
        config = Settings.model_validate(
            {
                "issuer": "http://gateway.test",
                "experience_api_url": experience_url or f"http://127.0.0.1:{free_port()}",
                "process_api_url": process_url or f"http://127.0.0.1:{free_port()}",
                "clients_file": CLIENTS_FILE,
                "keys_dir": tmp,
                "REDIS_URL": REDIS_URL,
                "REVBRIDGE_KEY_PREFIX": prefix,
                "REVBRIDGE_MODE": "sandbox",
                **settings,
            }
        )
        with TestClient(create_app(config, clock=clock), base_url="http://gateway.test") as client:
            yield InProcess(client, prefix)
