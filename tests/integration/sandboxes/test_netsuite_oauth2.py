"""OAuth 2.0 M2M against the sandbox process: a signed client assertion buys a Bearer token that
every API path accepts; bad assertions get NetSuite's OAuth errors and bad tokens a 401."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.integration.sandboxes.test_netsuite_sandbox import (
    M2M_KEY,
    REC,
    SUITEQL,
    error_code,
    shared_sandbox,
)

pytestmark = pytest.mark.integration

TOKEN = "/services/rest/auth/oauth2/v1/token"
KEY = M2M_KEY
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def base() -> str:
    return shared_sandbox()


def assertion(base: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": "it-client",
        "scope": "rest_webservices",
        "aud": f"{base}{TOKEN}",
        "iat": now,
        "exp": now + 300,
    }
    header = {"typ": "JWT", "alg": "PS256", "kid": "it-cert"}
    return jwt.encode(header, {**body, **claims}, KEY, algorithms=["PS256"])


def token_request(base: str, **form: str) -> httpx.Response:
    return httpx.post(f"{base}{TOKEN}", data=form)


def get_token(base: str) -> str:
    response = token_request(
        base,
        grant_type="client_credentials",
        client_assertion_type=ASSERTION_TYPE,
        client_assertion=assertion(base),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("bearer", "3600")
    return str(body["access_token"])


def test_bearer_token_is_accepted_by_records_and_suiteql(base: str) -> None:
    headers = {"Authorization": f"Bearer {get_token(base)}"}
    with httpx.Client(base_url=base, headers=headers) as ns:
        created = ns.post(f"{REC}/customer", json={"companyName": "M2M Co", "subsidiary": {"id": "1"}})
        assert created.status_code == 204
        assert ns.get(created.headers["location"]).json()["companyName"] == "M2M Co"
        rows = ns.post(SUITEQL, json={"q": "SELECT id FROM currency"}, headers={"Prefer": "transient"})
        assert rows.status_code == 200 and rows.json()["count"] == 4


def test_unknown_or_tampered_bearer_token_is_401_invalid_login(base: str) -> None:
    token = get_token(base)
    for bad in ("not-a-token", token[:-2] + ("AA" if not token.endswith("AA") else "BB")):
        response = httpx.get(f"{base}{REC}/currency/1", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401 and error_code(response) == "INVALID_LOGIN"


def test_token_endpoint_errors_are_oauth_errors(base: str) -> None:
    good = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion(base)}
    wrong_grant = token_request(base, grant_type="password", **good)
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
    no_assertion = token_request(base, grant_type="client_credentials")
    assert no_assertion.status_code == 400 and no_assertion.json()["error"] == "invalid_request"
    forged = jwt.encode(
        {"alg": "PS256", "kid": "it-cert"},
        {"iss": "it-client", "scope": "rest_webservices", "aud": f"{base}{TOKEN}", "iat": 1, "exp": 2},
        RSAKey.generate_key(2048),
        algorithms=["PS256"],
    )
    bad_key = token_request(
        base, grant_type="client_credentials", client_assertion_type=ASSERTION_TYPE, client_assertion=forged
    )
    assert bad_key.status_code == 400 and bad_key.json()["error"] == "invalid_client"
    bad_aud = token_request(
        base,
        grant_type="client_credentials",
        client_assertion_type=ASSERTION_TYPE,
        client_assertion=assertion(base, aud="https://elsewhere.test/token"),
    )
    assert bad_aud.status_code == 400 and bad_aud.json()["error"] == "invalid_grant"
