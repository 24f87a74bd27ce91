"""Bearer-token checks and contract policy (scopes, audience) on the gateway's routes."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from .conftest import b64url

pytestmark = pytest.mark.integration

SUMMARY = "/experience/v1/revenue/summary"


def claims_for(gateway, **overrides):
    now = int(time.time())
    claims = {
        "iss": gateway.base,
        "sub": "revops-dashboard",
        "aud": "revbridge",
        "client_id": "revops-dashboard",
        "scope": "reports:read",
        "revbridge_audience": "internal",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    return {**claims, **overrides}


def signed_by_gateway_key(gateway, claims, **header):
    """Forge with the gateway's real key, so only the claim checks can refuse the token."""
    key = ECKey.import_key(gateway.signing_key_pem())
    head = {"alg": "ES256", "typ": "at+jwt", "kid": key.thumbprint(), **header}
    return jwt.encode(head, claims, key, algorithms=["ES256"])


def unsigned(header, claims, signature=b""):
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}.{b64url(signature)}"


def assert_invalid_token(response):
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_no_token_is_401_with_a_bearer_challenge(gateway):
    response = gateway.call("GET", SUMMARY, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_alg_none_token_is_401(gateway):
    token = unsigned({"alg": "none", "typ": "at+jwt"}, claims_for(gateway))
    assert_invalid_token(gateway.call("GET", SUMMARY, token))


def test_hs256_token_signed_with_the_public_key_is_401(gateway):
    public_pem = ECKey.import_key(gateway.signing_key_pem()).as_pem(private=False)
    kid = ECKey.import_key(public_pem).thumbprint()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    signing_input = (
        f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims_for(gateway)).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_invalid_token(gateway.call("GET", SUMMARY, f"{signing_input}.{b64url(signature)}"))


def test_expired_token_is_401(gateway):
    past = int(time.time()) - 3600
    token = signed_by_gateway_key(gateway, claims_for(gateway, iat=past, nbf=past, exp=past + 300))
    assert_invalid_token(gateway.call("GET", SUMMARY, token))


@pytest.mark.parametrize("claim", [{"aud": "someone-else"}, {"iss": "http://evil.example"}])
def test_wrong_audience_or_issuer_is_401(gateway, claim):
    token = signed_by_gateway_key(gateway, claims_for(gateway, **claim))
    assert_invalid_token(gateway.call("GET", SUMMARY, token))


def test_forged_claims_with_the_right_key_reach_upstream_as_a_control(gateway):
    """Control for the tests above: the forging helper itself produces acceptable tokens."""
    token = signed_by_gateway_key(gateway, claims_for(gateway))
    assert gateway.call("GET", SUMMARY, token).status_code in (200, 503)  # the experience API's answer


def test_tampered_payload_is_401(gateway):
    head, _, signature = gateway.token("partner-demo").split(".")
    widened = claims_for(
        gateway,
        sub="partner-demo",
        client_id="partner-demo",
        scope="reports:read",
        revbridge_audience="internal",
    )
    tampered = f"{head}.{b64url(json.dumps(widened).encode())}.{signature}"
    assert_invalid_token(gateway.call("GET", SUMMARY, tampered))


def test_partner_token_without_reports_read_is_403_on_experience(gateway):
    response = gateway.call("GET", SUMMARY, gateway.token("partner-demo"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_missing_scope_is_403_insufficient_scope(gateway):
    token = gateway.token("revops-dashboard", scope="exceptions:read")
    response = gateway.call("GET", SUMMARY, token)
    assert response.status_code == 403
    assert response.json()["type"].endswith("insufficient_scope")
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_partner_client_on_internal_process_operation_is_403(gateway):
    response = gateway.call("GET", "/process/v1/exceptions", gateway.token("partner-demo"))
    assert response.status_code == 403 and response.json()["type"].endswith("audience")


def test_internal_client_reaches_revenue_summary_and_upstream_answer_passes_through(gateway):
    cid = uuid.uuid4().hex
    response = gateway.call(
        "GET", SUMMARY, gateway.token("revops-dashboard"), headers={"X-Correlation-Id": cid}
    )
    # the experience API's own answer passes through, whatever it is
    direct = gateway.direct("/v1/revenue/summary")
    assert response.status_code == direct.status_code
    assert response.headers["content-type"] == direct.headers["content-type"]
    assert response.headers["x-correlation-id"] == cid
    assert int(response.headers["ratelimit-limit"]) == 120
    assert response.headers["x-ratelimit-remaining"] == response.headers["ratelimit-remaining"]


def test_internal_client_may_reach_partner_operations(gateway):
    # revops-dashboard lacks onboarding:read, so audience passes and the scope check answers
    response = gateway.call("GET", "/process/v1/onboardings/800x", gateway.token("revops-dashboard"))
    assert response.status_code == 403 and response.json()["type"].endswith("insufficient_scope")


def test_partner_reaches_its_process_operation_and_gets_503_when_process_api_is_down(gateway):
    response = gateway.call("GET", "/process/v1/onboardings/800x", gateway.token("partner-demo"))
    assert response.status_code == 503 and response.json()["type"].endswith("upstream_unavailable")


def test_path_variants_reach_the_same_policy(gateway):
    token = gateway.token("partner-demo")
    for path in ("//experience/v1/revenue//summary", "/experience/v1/revenue/%73ummary/"):
        assert gateway.call("GET", path, token).status_code == 403


def test_dot_segments_are_400(gateway):
    token = gateway.token("partner-demo")
    response = gateway.call("GET", "/process/v1/onboardings/%2e%2e/exceptions", token)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"


def test_unknown_path_is_404_and_unknown_method_405(gateway):
    token = gateway.token("partner-demo")
    assert gateway.call("GET", "/process/v1/nothing-here", token).status_code == 404
    response = gateway.call("DELETE", "/process/v1/onboardings", token)
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_body_over_one_mib_is_413(gateway):
    token = gateway.token("partner-demo")
    response = gateway.call(
        "POST",
        "/process/v1/onboardings",
        token,
        content=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_token_not_valid_yet_is_401(gateway):
    future = int(time.time()) + 600
    token = signed_by_gateway_key(gateway, claims_for(gateway, nbf=future))
    assert_invalid_token(gateway.call("GET", SUMMARY, token))


def test_token_signed_by_an_unknown_kid_is_401(gateway):
    stranger = ECKey.generate_key("P-256", private=True)
    head = {"alg": "ES256", "typ": "at+jwt", "kid": stranger.thumbprint()}
    token = jwt.encode(head, claims_for(gateway), stranger, algorithms=["ES256"])
    assert_invalid_token(gateway.call("GET", SUMMARY, token))


def test_token_with_the_gateways_kid_but_another_key_is_401(gateway):
    stranger = ECKey.generate_key("P-256", private=True)
    kid = ECKey.import_key(gateway.signing_key_pem()).thumbprint()
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims_for(gateway), stranger)
    assert_invalid_token(gateway.call("GET", SUMMARY, token))


def test_token_without_any_scope_claim_is_403(gateway):
    claims = claims_for(gateway)
    del claims["scope"]
    response = gateway.call("GET", SUMMARY, signed_by_gateway_key(gateway, claims))
    assert response.status_code == 403 and response.json()["type"].endswith("insufficient_scope")


def test_partner_with_read_scope_only_cannot_start_onboarding(gateway):
    response = gateway.call(
        "POST",
        "/process/v1/onboardings",
        gateway.token("partner-trial"),
        json={"contract_id": "800000000000001AAA"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 403 and response.json()["type"].endswith("insufficient_scope")
    assert 'scope="onboarding:write"' in response.headers["www-authenticate"]


def test_oversized_body_with_a_lying_content_length_is_413(gateway):
    def chunks():
        for _ in range(17):
            yield b"x" * 65536

    response = gateway.call(
        "POST",
        "/process/v1/onboardings",
        gateway.token("partner-demo"),
        content=chunks(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "big"},
    )
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
