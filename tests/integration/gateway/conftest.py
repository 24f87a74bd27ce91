"""Real processes for the gateway tests: an experience API (its process API is a closed port, so
it answers 503 problem) and gateways in front of it, each with its own Redis key prefix."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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

    def token(self, client_id: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = httpx.post(f"{self.base}/oauth/token", data=data, auth=(client_id, SECRETS[client_id]))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def call(self, method: str, path: str, token: str | None, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=15, **kwargs)


@pytest.fixture(scope="session")
def experience_api() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"EXPERIENCE_PORT": str(port), "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{free_port()}"}
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
            yield Gw(base, keys)

    return start


@pytest.fixture(scope="module")
def gateway(start_gateway: GatewayFactory) -> Iterator[Gw]:
    with isolated_prefix() as prefix, start_gateway(prefix) as gw:
        yield gw


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
