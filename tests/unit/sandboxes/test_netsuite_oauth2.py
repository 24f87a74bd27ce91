"""The M2M client-assertion rules without I/O: which JWTs get a token and which OAuth error the rest get."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from revbridge_sandboxes.netsuite.oauth2 import TOKEN_PATH, OAuthError, TokenIssuer
from revbridge_sandboxes.netsuite.settings import NetSuiteSandboxSettings

pytestmark = pytest.mark.unit

AUD = f"https://1234567-sb1.suitetalk.api.netsuite.com{TOKEN_PATH}"
RSA = RSAKey.generate_key(2048)
EC = ECKey.generate_key("P-256")


def issuer(key: RSAKey | ECKey, tmp_path: Path | None = None) -> TokenIssuer:
    pem = key.as_pem(private=False).decode()
    if tmp_path is not None:  # the key may also be given as a path to a PEM file
        (tmp_path / "cert.pem").write_text(pem)
        pem = str(tmp_path / "cert.pem")
    return TokenIssuer(
        NetSuiteSandboxSettings(m2m_client_id="client-1", m2m_certificate_id="cert-1", m2m_public_key=pem)
    )


def assertion(
    key: RSAKey | ECKey, alg: str = "PS256", header: dict[str, Any] | None = None, **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": "client-1",
        "scope": "rest_webservices",
        "aud": AUD,
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(
        {"typ": "JWT", "alg": alg, "kid": "cert-1", **(header or {})}, body, key, algorithms=[alg]
    )


def error_of(token_issuer: TokenIssuer, token: str) -> str:
    with pytest.raises(OAuthError) as caught:
        token_issuer.verify_assertion(token, {AUD}, time.time())
    return caught.value.error


def test_ps256_and_es256_assertions_with_string_or_list_scope_are_accepted(tmp_path: Path) -> None:
    issuer(RSA).verify_assertion(assertion(RSA), {AUD}, time.time())
    issuer(RSA).verify_assertion(
        assertion(RSA, "PS512", scope=["restlets", "rest_webservices"]), {AUD}, time.time()
    )
    issuer(EC, tmp_path).verify_assertion(assertion(EC, "ES256", aud=[AUD]), {AUD}, time.time())


def test_wrong_key_kid_issuer_or_algorithm_is_invalid_client() -> None:
    other = RSAKey.generate_key(2048)
    assert error_of(issuer(RSA), assertion(other)) == "invalid_client"
    assert error_of(issuer(RSA), assertion(RSA, header={"kid": "cert-2"})) == "invalid_client"
    assert error_of(issuer(RSA), assertion(RSA, iss="client-2")) == "invalid_client"
    assert error_of(issuer(RSA), assertion(RSA, "RS256")) == "invalid_client"
    assert error_of(issuer(RSA), "not.a.jwt") == "invalid_client"
    unconfigured = TokenIssuer(NetSuiteSandboxSettings())
    assert error_of(unconfigured, assertion(RSA)) == "invalid_client"


def test_bad_audience_scope_or_lifetime_is_invalid_grant() -> None:
    now = int(time.time())
    token_issuer = issuer(RSA)
    assert error_of(token_issuer, assertion(RSA, aud="https://elsewhere.test/token")) == "invalid_grant"
    assert error_of(token_issuer, assertion(RSA, scope="restlets")) == "invalid_grant"
    assert error_of(token_issuer, assertion(RSA, iat=now - 120, exp=now - 60)) == "invalid_grant"
    assert error_of(token_issuer, assertion(RSA, exp=now + 3601)) == "invalid_grant"
    assert error_of(token_issuer, assertion(RSA, iat=None)) == "invalid_grant"
