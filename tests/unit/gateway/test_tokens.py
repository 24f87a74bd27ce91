"""Tokens: RFC 9068 claims, strict verification, and the signing key shared through the keys dir."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from revbridge_gateway.clients import Client
from revbridge_gateway.errors import InvalidToken
from revbridge_gateway.keys import KeyConfigError, load_keyring
from revbridge_gateway.secrets_hash import hash_secret
from revbridge_gateway.tokens import TokenService

pytestmark = pytest.mark.unit

CLIENT = Client(
    client_id="partner-x",
    secret_hash=hash_secret("x", n=2**10),
    scopes=("onboarding:read",),
    audience="partner",
    plan="standard",
)


def service(keys_dir, **overrides):
    options = {"issuer": "http://gw", "audience": "revbridge", "ttl": 300, "leeway": 30, **overrides}
    return TokenService(load_keyring(keys_dir, sandbox=True), **options)


def test_issued_token_verifies_with_its_claims(tmp_path):
    tokens = service(tmp_path)
    caller = tokens.verify(tokens.issue(CLIENT, ["onboarding:read"]))
    assert (caller.client_id, caller.scopes, caller.audience) == ("partner-x", {"onboarding:read"}, "partner")


def test_expired_token_is_refused_beyond_leeway_only(tmp_path):
    tokens = service(tmp_path)
    now = int(time.time())
    tokens.verify(tokens.issue(CLIENT, [], now=now - 300 - 10))
    with pytest.raises(InvalidToken):
        tokens.verify(tokens.issue(CLIENT, [], now=now - 300 - 60))


def test_token_from_the_future_is_refused(tmp_path):
    tokens = service(tmp_path)
    with pytest.raises(InvalidToken):
        tokens.verify(tokens.issue(CLIENT, [], now=int(time.time()) + 120))


def test_other_issuer_or_audience_is_refused(tmp_path):
    token = service(tmp_path).issue(CLIENT, [])
    with pytest.raises(InvalidToken):
        service(tmp_path, issuer="http://elsewhere").verify(token)
    with pytest.raises(InvalidToken):
        service(tmp_path, audience="other").verify(token)


def test_token_signed_by_another_key_is_refused(tmp_path):
    foreign = service(tmp_path / "a").issue(CLIENT, [])
    with pytest.raises(InvalidToken, match="unknown signing key"):
        service(tmp_path / "b").verify(foreign)


def test_replicas_starting_on_one_keys_dir_share_the_key(tmp_path):
    assert load_keyring(tmp_path, sandbox=True).kid == load_keyring(tmp_path, sandbox=True).kid


def test_missing_key_outside_sandbox_refuses_start_up(tmp_path):
    with pytest.raises(KeyConfigError, match="sandbox"):
        load_keyring(tmp_path, sandbox=False)


def test_retired_key_still_verifies_but_does_not_sign(tmp_path):
    old = service(tmp_path / "old")
    token = old.issue(CLIENT, [])
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "retired-1.pem").write_bytes((tmp_path / "old" / "signing-key.pem").read_bytes())
    new = service(tmp_path / "new")
    assert new.verify(token).client_id == "partner-x"
    assert len(new.jwks()["keys"]) == 2


def test_replicas_racing_to_create_the_key_all_get_the_winner(tmp_path):
    with ThreadPoolExecutor(max_workers=8) as pool:
        kids = set(pool.map(lambda _: load_keyring(tmp_path, sandbox=True).kid, range(16)))
    assert len(kids) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key.pem"]
