"""Tokens of an external issuer found by its discovery URL: a tiny issuer served by the test."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.support.procs import free_port

from .conftest import InProcess, Upstream, b64url, in_process_gateway

pytestmark = pytest.mark.integration

AUDIENCE = "revbridge-partners"
ONBOARDING = "/process/v1/onboardings/800000000000001AAA"


class Issuer:
    """Serves OIDC discovery metadata and a JWKS; counts JWKS fetches; signs tokens."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.keys: list[Any] = [RSAKey.generate_key(2048, {"kid": "rsa-1", "alg": "RS256"}, private=True)]
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": issuer.base, "jwks_uri": f"{issuer.base}/keys"}
                elif self.path == "/keys":
                    issuer.jwks_fetches += 1
                    body = {"keys": [k.as_dict(private=False) for k in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def token(self, key: Any = None, alg: str = "RS256", **overrides: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        claims = {
            "iss": self.base,
            "aud": AUDIENCE,
            "sub": "acme-integration",
            "azp": "acme-integration",
            "scope": "onboarding:read",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            **overrides,
        }
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=[alg])


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[InProcess, Issuer, Upstream]]:
    issuer = Issuer()
    threading.Thread(target=issuer.server.serve_forever, daemon=True).start()
    config = [
        {
            "discovery_url": f"{issuer.base}/.well-known/openid-configuration",
            "audience": AUDIENCE,
            "client_audience": "partner",
            "plan": "trial",
        }
    ]
    try:
        with (
            Upstream().serving() as upstream,
            in_process_gateway(
                tmp_path_factory.mktemp("keys"), process_url=upstream.url, external_issuers=config
            ) as gw,
        ):
            yield gw, issuer, upstream
    finally:
        issuer.server.shutdown()
        issuer.server.server_close()


def assert_401(response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_external_token_reaches_upstream_as_a_partner_client_of_that_issuer(setup):
    gw, issuer, _ = setup
    response = gw.call("GET", ONBOARDING, issuer.token())
    assert response.status_code == 202, response.text
    assert response.headers["ratelimit-limit"] == "5"  # the plan configured for this issuer
    forbidden = gw.call("GET", "/process/v1/exceptions", issuer.token(scope="exceptions:read"))
    assert forbidden.status_code == 403  # a partner audience, whatever scopes it claims


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "revbridge"},
        {"iss": "http://127.0.0.1:1"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000, "nbf": int(time.time()) - 4000},
        {"nbf": int(time.time()) + 600},
        {"iat": int(time.time()) + 600},
    ],
    ids=["wrong-aud", "wrong-iss", "expired", "nbf-future", "iat-future"],
)
def test_external_token_with_bad_claims_is_401(setup, claims):
    gw, issuer, _ = setup
    assert_401(gw.call("GET", ONBOARDING, issuer.token(**claims)))


def test_external_token_with_a_symmetric_or_no_algorithm_is_401(setup):
    gw, issuer, _ = setup
    public_pem = issuer.keys[0].as_pem(private=False)
    payload = b64url(json.dumps(jwt_claims(issuer)).encode())
    hs_head = b64url(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    signature = hmac.new(public_pem, f"{hs_head}.{payload}".encode(), hashlib.sha256).digest()
    assert_401(gw.call("GET", ONBOARDING, f"{hs_head}.{payload}.{b64url(signature)}"))
    none_head = b64url(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    assert_401(gw.call("GET", ONBOARDING, f"{none_head}.{payload}."))


def jwt_claims(issuer: Issuer) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer.base,
        "aud": AUDIENCE,
        "sub": "x",
        "scope": "onboarding:read",
        "iat": now,
        "exp": now + 60,
    }


def test_rotated_key_is_fetched_once_then_unknown_kids_wait_for_the_cooldown(setup):
    gw, issuer, _ = setup
    rotated = ECKey.generate_key("P-256", {"kid": "ec-2", "alg": "ES256"}, private=True)
    issuer.keys.append(rotated)
    before = issuer.jwks_fetches
    assert gw.call("GET", ONBOARDING, issuer.token(key=rotated, alg="ES256")).status_code == 202
    assert issuer.jwks_fetches == before + 1
    stranger = ECKey.generate_key("P-256", {"kid": "forged", "alg": "ES256"}, private=True)
    for _ in range(3):
        assert_401(gw.call("GET", ONBOARDING, issuer.token(key=stranger, alg="ES256")))
    assert issuer.jwks_fetches == before + 1  # no refetch storm for unknown kids
