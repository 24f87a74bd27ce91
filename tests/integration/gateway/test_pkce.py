"""Browser sign-in: authorization code with PKCE (S256) on the gateway's token service.

The gateway runs in-process on real Redis (codes and pending sign-ins live there). Each refusal is
checked for the answer RFC 6749/7636 give it: a page (never a redirect) when the client or its
redirect URI can't be trusted, a redirect with ``error`` and ``state`` otherwise, and an OAuth
error from the token endpoint — never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from revbridge_gateway.clients import ClientsFileError

from tests.support.procs import free_port

from .conftest import InProcess, in_process_gateway

pytestmark = pytest.mark.integration

ISSUER = "http://gateway.test"
CLIENT = "revops-web"
REDIRECT = f"{ISSUER}/dashboard/"
USER, PASSWORD = "revops-demo", "revops-demo-password"  # DEMO VALUES (config/gateway-users.yaml)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    with in_process_gateway(tmp_path_factory.mktemp("keys")) as gateway:
        yield gateway


def authorize(gw: InProcess, challenge: str, **overrides: str | None):
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-" + secrets.token_hex(4),
        "scope": "reports:read exceptions:read",
        **overrides,
    }
    return gw.client.get(
        "/oauth/authorize", params={k: v for k, v in params.items() if v is not None}, follow_redirects=False
    )


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type=hidden name=(\w+) value="([^"]*)">', html))


def sign_in(gw: InProcess, page_html: str, username: str = USER, password: str = PASSWORD):
    fields = {**form_fields(page_html), "username": username, "password": password}
    return gw.client.post("/oauth/authorize", data=fields, follow_redirects=False)


def code_for(gw: InProcess, challenge: str) -> tuple[str, str]:
    page = authorize(gw, challenge, state="xyz")
    assert page.status_code == 200, page.text
    back = sign_in(gw, page.text)
    assert back.status_code == 303, back.text
    params = query_of(back.headers["location"])
    assert back.headers["location"].startswith(REDIRECT)
    assert params["state"] == "xyz" and params["iss"] == ISSUER
    return params["code"], back.headers["location"]


def exchange(gw: InProcess, code: str, verifier: str, **overrides: str):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT,
        "code_verifier": verifier,
        **overrides,
    }
    return gw.client.post("/oauth/token", data=data)


def test_metadata_advertises_the_code_flow_with_s256_only(gw):
    meta = gw.client.get("/.well-known/oauth-authorization-server").json()
    assert meta["authorization_endpoint"] == f"{ISSUER}/oauth/authorize"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"client_credentials", "authorization_code"}
    assert meta["response_types_supported"] == ["code"]
    assert "none" in meta["token_endpoint_auth_methods_supported"]


def test_sign_in_and_exchange_give_a_user_token_that_passes_the_gateway(gw):
    verifier, challenge = pkce()
    page = authorize(gw, challenge)
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    code, _ = code_for(gw, challenge)
    response = exchange(gw, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "reports:read exceptions:read"
    keys = KeySet.import_key_set(gw.client.get("/.well-known/jwks.json").json())
    claims = jwt.decode(body["access_token"], keys, algorithms=["ES256"]).claims
    assert claims["sub"] == USER and claims["client_id"] == CLIENT
    assert claims["revbridge_audience"] == "internal" and claims["iss"] == ISSUER
    # the token is accepted by the pipeline (401/403 would mean refused); the upstream is a closed port
    proxied = gw.call("GET", "/experience/v2/versions", body["access_token"])
    assert proxied.status_code == 503, proxied.text
    # and it carries the user's granted scopes only: exceptions:write was not asked for
    refused = gw.call("POST", "/experience/v2/exceptions/onboarding:x/retry", body["access_token"])
    assert refused.status_code == 403 and "exceptions:write" in refused.json()["detail"]


def test_wrong_verifier_is_invalid_grant_and_burns_the_code(gw):
    verifier, challenge = pkce()
    code, _ = code_for(gw, challenge)
    other, _ = pkce()
    wrong = exchange(gw, code, other)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    after = exchange(gw, code, verifier)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_a_code_works_once(gw):
    verifier, challenge = pkce()
    code, _ = code_for(gw, challenge)
    assert exchange(gw, code, verifier).status_code == 200
    again = exchange(gw, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_wrong_redirect_uri_at_the_token_endpoint_is_invalid_grant(gw):
    verifier, challenge = pkce()
    code, _ = code_for(gw, challenge)
    wrong = exchange(gw, code, verifier, redirect_uri=f"{ISSUER}/dashboard/other")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/dashboard/", f"{ISSUER}/dashboard/x", f"{ISSUER}/dashboard", None],
)
def test_unregistered_redirect_uri_gets_a_page_never_a_redirect(gw, redirect_uri):
    _, challenge = pkce()
    response = authorize(gw, challenge, redirect_uri=redirect_uri)
    assert response.status_code == 400 and "location" not in response.headers
    assert "redirect_uri" in response.text


@pytest.mark.parametrize("client_id", ["nobody", "revops-dashboard", None])
def test_unknown_or_confidential_client_gets_a_page(gw, client_id):
    _, challenge = pkce()
    response = authorize(gw, challenge, client_id=client_id)
    assert response.status_code == 400 and "location" not in response.headers


def test_unknown_client_at_the_token_endpoint_is_invalid_client(gw):
    verifier, challenge = pkce()
    code, _ = code_for(gw, challenge)
    response = exchange(gw, code, verifier, client_id="nobody")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_public_client_cannot_use_client_credentials(gw):
    response = gw.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(CLIENT, "anything")
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "onboarding:write"}, "invalid_scope"),
    ],
)
def test_bad_requests_go_back_to_the_client_with_error_and_state(gw, overrides, error):
    _, challenge = pkce()
    response = authorize(gw, challenge, state="keep-me", **overrides)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    params = query_of(location)
    assert params["error"] == error and params["state"] == "keep-me" and "code" not in params


def test_plain_verifier_equal_to_the_challenge_is_refused(gw):
    """A client that sent its verifier as the 'challenge' (plain) can't get a token with it."""
    verifier = secrets.token_urlsafe(32)[:43]
    code, _ = code_for(gw, verifier)
    response = exchange(gw, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_bad_password_shows_the_form_again_and_then_denies(gw):
    _, challenge = pkce()
    page = authorize(gw, challenge, state="s1")
    for attempt in range(1, 5):
        wrong = sign_in(gw, page.text, password=f"wrong-{attempt}")
        assert wrong.status_code == 400 and "location" not in wrong.headers
        assert "wrong user name or password" in wrong.text
    unknown_user = sign_in(gw, page.text, username="nobody", password="x")
    assert unknown_user.status_code == 303  # the fifth failure ends this sign-in request
    params = query_of(unknown_user.headers["location"])
    assert params["error"] == "access_denied" and params["state"] == "s1"
    assert sign_in(gw, page.text).status_code == 400  # the request is gone, even with the right password


def test_form_without_its_cookie_or_with_another_token_is_refused(gw):
    _, challenge = pkce()
    page = authorize(gw, challenge)
    fields = {**form_fields(page.text), "username": USER, "password": PASSWORD}
    cookie = gw.client.cookies.get("rb_signin")
    gw.client.cookies.clear()
    try:
        no_cookie = gw.client.post("/oauth/authorize", data=fields, follow_redirects=False)
        assert no_cookie.status_code == 403 and "location" not in no_cookie.headers
    finally:
        gw.client.cookies.set("rb_signin", cookie or "", domain="gateway.test", path="/oauth/authorize")
    forged = {**fields, "csrf": secrets.token_urlsafe(32)}
    response = gw.client.post("/oauth/authorize", data=forged, follow_redirects=False)
    assert response.status_code == 403
    unknown = {**fields, "request_id": secrets.token_urlsafe(24)}
    assert gw.client.post("/oauth/authorize", data=unknown, follow_redirects=False).status_code == 400
    assert gw.client.post("/oauth/authorize", content=b"\xff", follow_redirects=False).status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "authorization_code", "client_id": CLIENT},
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT,
            "code": "x" * 43,
            "redirect_uri": REDIRECT,
            "code_verifier": "short",
        },
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT,
            "code": "x" * 43,
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 43,
            "client_secret": "s",
        },
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT,
            "code": "<script>",
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 43,
        },
    ],
)
def test_malformed_exchanges_are_oauth_errors_not_500(gw, data):
    response = gw.client.post("/oauth/token", data=data)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")


def test_a_broken_users_file_stops_start_up_naming_it(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  - {username: eve, password_hash: plain-text, scopes: [reports:read]}\n")
    expected = r"users\.yaml: user #0 \('eve'\): password_hash"
    with pytest.raises(ClientsFileError, match=expected), in_process_gateway(tmp_path, users_file=users):
        pass


def test_outside_sandbox_mode_there_is_no_password_sign_in(tmp_path):
    with in_process_gateway(tmp_path):  # sandbox mode writes the signing key live mode needs
        pass
    with in_process_gateway(tmp_path, REVBRIDGE_MODE="live") as live:
        meta = live.client.get("/.well-known/oauth-authorization-server").json()
        assert "authorization_endpoint" not in meta and meta["grant_types_supported"] == [
            "client_credentials"
        ]
        _, challenge = pkce()
        assert authorize(live, challenge).status_code == 404
        verifier, _ = pkce()
        response = exchange(live, "x" * 43, verifier)
        assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_with_redis_unreachable_sign_in_answers_unavailable_never_500(tmp_path):
    with in_process_gateway(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as down:
        verifier, challenge = pkce()
        page = authorize(down, challenge, state="s")
        assert page.status_code == 303
        assert query_of(page.headers["location"])["error"] == "temporarily_unavailable"
        posted = down.client.post(
            "/oauth/authorize",
            data={"request_id": "r" * 32, "csrf": "c" * 43, "username": USER, "password": PASSWORD},
        )
        assert posted.status_code == 503
        response = exchange(down, "x" * 43, verifier)
        assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
