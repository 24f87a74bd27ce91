"""A gateway with broken configuration refuses to start, saying what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.procs import ROOT, free_port

pytestmark = pytest.mark.integration


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_CLIENTS_FILE": str(ROOT / "config" / "gateway-clients.yaml"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "revbridge_gateway"], env=full, capture_output=True, text=True, timeout=60
    )


def test_invalid_clients_file_stops_start_up_naming_file_entry_and_problem(tmp_path):
    clients = tmp_path / "clients.yaml"
    clients.write_text("""
plans: {standard: {requests_per_minute: 10}}
clients:
  - {client_id: shady, secret_hash: "plain-text-secret", scopes: [reports:read], audience: internal,
     plan: standard}
""")
    result = start({"GATEWAY_CLIENTS_FILE": str(clients), "GATEWAY_KEYS_DIR": str(tmp_path / "keys")})
    assert result.returncode == 2
    assert str(clients) in result.stderr and "'shady'" in result.stderr and "secret_hash" in result.stderr


def test_live_mode_without_a_signing_key_stops_start_up(tmp_path):
    result = start({"REVBRIDGE_MODE": "live", "GATEWAY_KEYS_DIR": str(tmp_path / "keys")})
    assert result.returncode == 2 and "no signing key" in result.stderr
    assert not (tmp_path / "keys").exists()
