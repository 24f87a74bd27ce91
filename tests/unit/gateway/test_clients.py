"""Client secrets are stored as salted scrypt hashes; a broken clients file names what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from revbridge_gateway.clients import ClientsFileError, load_registry, main
from revbridge_gateway.secrets_hash import hash_secret, parse_hash, verify_secret

pytestmark = pytest.mark.unit

REPO_FILE = Path(__file__).resolve().parents[3] / "config" / "gateway-clients.yaml"
FAST = {"n": 2**10}


def test_hash_verifies_its_secret_only():
    encoded = hash_secret("s3cret", **FAST)
    assert verify_secret("s3cret", encoded)
    assert not verify_secret("s3cret ", encoded)


def test_hash_is_salted_and_carries_its_parameters():
    a, b = hash_secret("same", **FAST), hash_secret("same", **FAST)
    assert a != b
    n, r, p, salt, _ = parse_hash(a)
    assert (n, r, p) == (2**10, 8, 1) and len(salt) == 16


@pytest.mark.parametrize(
    "bad", ["plain", "scrypt$16384$8$1$abc", "bcrypt$1$2$3$YWJjZGVmZ2g$YWJj", "scrypt$1000$8$1$x$y"]
)
def test_malformed_hash_is_rejected(bad):
    with pytest.raises(ValueError):
        parse_hash(bad)


def test_hash_cli_prints_a_verifiable_hash(capsys):
    assert main(["hash", "demo"]) == 0
    assert verify_secret("demo", capsys.readouterr().out.strip())


def test_repository_clients_file_holds_the_demo_clients():
    registry = load_registry(REPO_FILE)
    assert registry.authenticate("revops-dashboard", "revops-demo-secret") is not None
    assert registry.authenticate("partner-demo", "partner-demo-secret") is not None
    trial = registry.authenticate("partner-trial", "partner-trial-secret")
    assert trial is not None and registry.plan_of(trial).requests_per_minute == 5
    assert registry.authenticate("partner-demo", "revops-demo-secret") is None
    assert registry.authenticate("nobody", "x") is None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clients.yaml"
    path.write_text(text)
    return path


GOOD_HASH = hash_secret("x", **FAST)


def test_invalid_entry_names_file_entry_and_problem(tmp_path):
    path = write(
        tmp_path,
        f"""
plans: {{standard: {{requests_per_minute: 10}}}}
clients:
  - {{client_id: ok, secret_hash: "{GOOD_HASH}", scopes: [a], audience: partner, plan: standard}}
  - {{client_id: broken, secret_hash: "{GOOD_HASH}", scopes: [a], audience: everyone, plan: standard}}
""",
    )
    with pytest.raises(ClientsFileError) as err:
        load_registry(path)
    message = str(err.value)
    assert str(path) in message and "'broken'" in message and "audience" in message


def test_unknown_plan_and_unknown_scope_are_refused(tmp_path):
    base = f'client_id: c, secret_hash: "{GOOD_HASH}", audience: partner'
    plans = "plans: {standard: {requests_per_minute: 10}}\n"
    with pytest.raises(ClientsFileError, match="unknown plan 'gold'"):
        load_registry(write(tmp_path, plans + f"clients: [{{{base}, scopes: [a], plan: gold}}]"))
    with pytest.raises(ClientsFileError, match="scopes not used by any contract"):
        load_registry(
            write(tmp_path, plans + f"clients: [{{{base}, scopes: [zz], plan: standard}}]"),
            known_scopes={"a"},
        )


def test_plain_secret_in_place_of_hash_is_refused(tmp_path):
    path = write(
        tmp_path,
        """
plans: {standard: {requests_per_minute: 10}}
clients: [{client_id: c, secret_hash: "hunter2", scopes: [a], audience: partner, plan: standard}]
""",
    )
    with pytest.raises(ClientsFileError, match="secret_hash"):
        load_registry(path)
