"""The token endpoint, JWKS and metadata of a running gateway."""

from __future__ import annotations

import base64

import httpx
import pytest
import yaml
from joserfc import jwt
from joserfc.jwk import KeySet

from .conftest import CLIENTS_FILE

pytestmark = pytest.mark.integration

FORM = {"grant_type": "client_credentials"}


def configured_scopes(client_id: str) -> set[str]:
    clients = yaml.safe_load(CLIENTS_FILE.read_text())["clients"]
    return {s for c in clients if c["client_id"] == client_id for s in c["scopes"]}


def test_token_via_client_secret_basic(gateway):
    response = httpx.post(
        f"{gateway.base}/oauth/token", data=FORM, auth=("revops-dashboard", "revops-demo-secret")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert set(body["scope"].split()) == configured_scopes("revops-dashboard")  # all of them by default
    assert response.headers["cache-control"] == "no-store"


def test_token_via_client_secret_post_with_a_scope_subset(gateway):
    data = {
        **FORM,
        "client_id": "partner-demo",
        "client_secret": "partner-demo-secret",
        "scope": "onboarding:read",
    }
    response = httpx.post(f"{gateway.base}/oauth/token", data=data)
    assert response.status_code == 200 and response.json()["scope"] == "onboarding:read"


def test_jwks_verifies_an_issued_token(gateway):
    token = gateway.token("partner-demo")
    jwks = httpx.get(f"{gateway.base}/.well-known/jwks.json").json()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt" and decoded.header["kid"] == jwks["keys"][0]["kid"]
    claims = decoded.claims
    assert claims["iss"] == gateway.base and claims["aud"] == "revbridge"
    assert claims["sub"] == claims["client_id"] == "partner-demo"
    assert claims["revbridge_audience"] == "partner"
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"]
    assert "d" not in jwks["keys"][0]


def test_metadata_names_the_endpoints_and_scopes(gateway):
    meta = httpx.get(f"{gateway.base}/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == gateway.base
    assert meta["token_endpoint"] == f"{gateway.base}/oauth/token"
    assert meta["jwks_uri"] == f"{gateway.base}/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials", "authorization_code"]  # code: test_pkce
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",  # the public client of the browser sign-in
    }
    assert {"reports:read", "onboarding:write"} <= set(meta["scopes_supported"])


@pytest.mark.parametrize(
    ("client_id", "secret"), [("no-such-client", "whatever"), ("revops-dashboard", "wrong-secret")]
)
def test_bad_client_credentials_are_401_invalid_client(gateway, client_id, secret):
    response = httpx.post(f"{gateway.base}/oauth/token", data=FORM, auth=(client_id, secret))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_scope_beyond_the_clients_allowance_is_invalid_scope(gateway):
    data = {**FORM, "scope": "onboarding:read reports:read"}
    response = httpx.post(
        f"{gateway.base}/oauth/token", data=data, auth=("partner-demo", "partner-demo-secret")
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_other_grant_type_is_unsupported(gateway):
    data = {"grant_type": "password", "username": "u", "password": "p"}
    response = httpx.post(
        f"{gateway.base}/oauth/token", data=data, auth=("partner-demo", "partner-demo-secret")
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"Content-Type": "application/json"}, b'{"grant_type": "client_credentials"}'),
        (
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic %%%"},
            b"grant_type=x",
        ),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"\xff\xfe"),
        (
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "Basic " + base64.b64encode(b"partner-demo:partner-demo-secret").decode(),
            },
            b"grant_type=client_credentials&client_id=partner-demo&client_secret=partner-demo-secret",
        ),
    ],
)
def test_malformed_token_requests_are_oauth_errors_not_500(gateway, headers, content):
    response = httpx.post(f"{gateway.base}/oauth/token", headers=headers, content=content)
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_request", "invalid_client")
