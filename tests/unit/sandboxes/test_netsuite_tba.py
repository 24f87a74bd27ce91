"""The sandbox's TBA verifier without I/O: its base string matches authlib's, and freshness rules hold."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import pytest
from authlib.oauth1.rfc5849.signature import construct_base_string
from revbridge_sandboxes.netsuite.auth import (
    _check_fresh,
    base_string_uri,
    hmac_sha256,
    signature_base_string,
    verify_tba,
)
from revbridge_sandboxes.netsuite.errors import NetSuiteError
from revbridge_sandboxes.netsuite.settings import NetSuiteSandboxSettings
from revbridge_sandboxes.netsuite.state import SandboxState, new_state

pytestmark = pytest.mark.unit

OAUTH = {
    "realm": "1234567_SB1",
    "oauth_consumer_key": "revbridge-demo-consumer-key",
    "oauth_token": "revbridge-demo-token-id",
    "oauth_signature_method": "HMAC-SHA256",
    "oauth_timestamp": "1700000000",
    "oauth_nonce": "n 1/+",
    "oauth_version": "1.0",
}
URI = "http://127.0.0.1:12113/services/rest/record/v1/customer/eid:cus%2F1"
QUERY = "limit=10&offset=0&q=name%20IS%20%22a+b%22"


def header(oauth: dict[str, str], signature: str) -> str:
    parts = [f'{k}="{quote(v, safe="-._~")}"' for k, v in {**oauth, "oauth_signature": signature}.items()]
    return "OAuth " + ", ".join(parts)


def test_base_string_matches_authlib_for_the_same_request() -> None:
    params = list(OAUTH.items()) + parse_qsl(QUERY)
    expected = construct_base_string("GET", f"{URI}?{QUERY}", params)
    assert signature_base_string("GET", URI, OAUTH, QUERY) == expected


def test_default_ports_are_dropped_and_others_kept() -> None:
    assert base_string_uri("HTTP", "Example.COM:80", "/a") == "http://example.com/a"
    assert base_string_uri("https", "example.com:443", "/a") == "https://example.com/a"
    assert base_string_uri("http", "127.0.0.1:12113", "/a") == "http://127.0.0.1:12113/a"


def test_signed_request_passes_once_then_the_nonce_is_rejected_and_stale_ones_fail() -> None:
    state = new_state(NetSuiteSandboxSettings())
    signature = hmac_sha256(
        signature_base_string("GET", URI, OAUTH, QUERY),
        "revbridge-demo-consumer-secret",
        "revbridge-demo-token-secret",
    )
    authorization = header(OAUTH, signature)

    def verify(state: SandboxState, now: int, query: str = QUERY) -> None:
        verify_tba(state, method="GET", uri=URI, query=query, authorization=authorization, body=b"", now=now)

    verify(state, now=1700000010)
    with pytest.raises(NetSuiteError) as replay:
        verify(state, now=1700000011)
    assert (replay.value.status, replay.value.code) == (401, "INVALID_LOGIN")
    with pytest.raises(NetSuiteError):
        verify(new_state(NetSuiteSandboxSettings()), now=1700000000 + 301)
    with pytest.raises(NetSuiteError):
        verify(new_state(NetSuiteSandboxSettings()), now=1700000010, query="limit=11")


def test_nonces_are_forgotten_once_the_window_has_passed_them_oldest_first() -> None:
    """The nonce store holds only the window's nonces, so checking one is not a scan of every
    nonce the sandbox has seen (it was, and it was most of the sandbox's CPU under load)."""
    state = new_state(NetSuiteSandboxSettings())
    window = state.settings.timestamp_window_seconds

    def fresh(nonce: str, timestamp: int, now: float) -> None:
        oauth = {"oauth_consumer_key": "ck", "oauth_token": "tk", "oauth_nonce": nonce}
        _check_fresh(state, {**oauth, "oauth_timestamp": str(timestamp)}, now)

    for i in range(3):
        fresh(f"n{i}", 1_000 + i, now=1_000 + i)
    with pytest.raises(NetSuiteError):
        fresh("n2", 1_002, now=1_002)  # a replay inside the window
    fresh("n3", 1_000 + window + 1, now=1_000 + window + 1.5)
    assert [key[2] for key in state.nonces] == ["n2", "n3"]  # n0 and n1 are outside the window now
