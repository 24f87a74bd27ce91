"""Signing keys rotate on a shared schedule: published a period ahead, kept until their tokens expire.

Every test drives an injected clock (no sleeps); "replicas" are key rings on one shared directory.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError
from revbridge_gateway.clients import Client
from revbridge_gateway.errors import InvalidToken
from revbridge_gateway.keys import KeyConfigError, load_keyring
from revbridge_gateway.secrets_hash import hash_secret
from revbridge_gateway.settings import Settings
from revbridge_gateway.tokens import TokenService

pytestmark = pytest.mark.unit

PERIOD, TTL, LEEWAY = 3600, 300, 30
START = 1_800_000_000 // PERIOD * PERIOD  # the start of some period (2027)
CLIENT = Client(
    client_id="partner-x",
    secret_hash=hash_secret("x", n=2**10),
    scopes=("onboarding:read",),
    audience="partner",
    plan="standard",
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def replica(keys_dir, clock, sandbox=True):
    ring = load_keyring(
        keys_dir, sandbox=sandbox, rotation_seconds=PERIOD, retain_seconds=TTL + LEEWAY, clock=clock
    )
    tokens = TokenService(ring, issuer="http://gw", audience="revbridge", ttl=TTL, leeway=LEEWAY, clock=clock)
    return ring, tokens


def kids(tokens):
    return [k["kid"] for k in tokens.jwks()["keys"]]


def test_token_signed_before_rotation_still_verifies_after(tmp_path):
    clock = Clock(START + PERIOD - 10)
    ring, tokens = replica(tmp_path, clock)
    token, old_kid = tokens.issue(CLIENT, []), ring.kid
    clock.now = START + PERIOD + 200  # the next period: a new key signs
    assert ring.kid != old_kid
    assert tokens.verify(token).client_id == "partner-x"
    assert old_kid in kids(tokens)


def test_the_next_key_is_in_jwks_a_whole_period_before_it_signs(tmp_path):
    clock = Clock(START)
    ring, tokens = replica(tmp_path, clock)
    published_early = kids(tokens)
    clock.now = START + PERIOD
    assert ring.kid in published_early and ring.kid != published_early[0]
    assert kids(tokens)[0] == ring.kid  # the signing key is listed first


def test_a_retired_key_leaves_jwks_only_after_its_last_token_expired(tmp_path):
    clock = Clock(START + PERIOD - 1)  # the last second this key signs
    ring, tokens = replica(tmp_path, clock)
    last_token, old_kid = tokens.issue(CLIENT, []), ring.kid
    clock.now = START + PERIOD + TTL + LEEWAY - 2  # its token is still within exp + leeway
    assert tokens.verify(last_token).client_id == "partner-x"
    assert old_kid in kids(tokens)
    clock.now = START + PERIOD + TTL + LEEWAY  # every token it signed has expired
    assert old_kid not in kids(tokens)
    assert not (tmp_path / f"rotating-{START}.pem").exists()
    with pytest.raises(InvalidToken):
        tokens.verify(last_token)


def test_two_replicas_on_one_directory_sign_with_and_publish_the_same_keys(tmp_path):
    clock_a, clock_b = Clock(START + 5), Clock(START + 5)
    ring_a, tokens_a = replica(tmp_path, clock_a)
    ring_b, tokens_b = replica(tmp_path, clock_b)
    for step in range(0, 4 * PERIOD, 700):  # through three rotations, each replica asking on its own
        clock_a.now = clock_b.now = START + 5 + step
        assert ring_a.kid == ring_b.kid
        assert tokens_a.jwks() == tokens_b.jwks()
        assert tokens_b.verify(tokens_a.issue(CLIENT, [])).client_id == "partner-x"
        assert tokens_a.verify(tokens_b.issue(CLIENT, [])).client_id == "partner-x"


def test_a_replica_a_little_ahead_switches_early_and_the_other_already_accepts_it(tmp_path):
    ahead, behind = Clock(START + PERIOD + 2), Clock(START + PERIOD - 2)
    ring_behind, tokens_behind = replica(tmp_path, behind)  # read its keys before the other switched
    _, tokens_ahead = replica(tmp_path, ahead)
    token = tokens_ahead.issue(CLIENT, [])  # signed with the next key, which the other publishes already
    assert tokens_behind.verify(token).client_id == "partner-x"
    assert ring_behind.kid != tokens_ahead.jwks()["keys"][0]["kid"]


def test_replicas_racing_at_a_boundary_all_get_one_key(tmp_path):
    def start(_: int) -> str:
        return load_keyring(tmp_path, sandbox=True, rotation_seconds=PERIOD, clock=lambda: START).kid

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert len(set(pool.map(start, range(16)))) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"rotating-{START}.pem",
        f"rotating-{START + PERIOD}.pem",
    ]


def test_retired_files_are_still_published_when_rotating(tmp_path):
    static = load_keyring(tmp_path / "static", sandbox=True)
    (tmp_path / "rotating").mkdir()
    (tmp_path / "rotating" / "retired-static.pem").write_bytes(
        (tmp_path / "static" / "signing-key.pem").read_bytes()
    )
    ring, tokens = replica(tmp_path / "rotating", Clock(START))
    assert static.kid in kids(tokens) and ring.kid != static.kid


def test_outside_sandbox_rotation_needs_the_shared_directory(tmp_path):
    with pytest.raises(KeyConfigError, match="no signing key directory"):
        replica(tmp_path / "missing", Clock(START), sandbox=False)
    assert not (tmp_path / "missing").exists()
    ring, _ = replica(tmp_path, Clock(START), sandbox=False)  # an existing (mounted) directory is filled
    assert (tmp_path / f"rotating-{START}.pem").exists() and ring.kid


@pytest.mark.parametrize("seconds", [0, 600, 86_400])
def test_rotation_period_is_off_or_longer_than_twice_the_jwks_cache(seconds):
    assert Settings(key_rotation_seconds=seconds).key_rotation_seconds == seconds


@pytest.mark.parametrize("seconds", [1, 599, -1])
def test_a_rotation_period_a_cached_jwks_could_miss_is_refused(seconds):
    with pytest.raises(ValidationError, match="key_rotation_seconds"):
        Settings(key_rotation_seconds=seconds)
