"""OAuth 2.0 client credentials (machine-to-machine), the way NetSuite issues and checks tokens.

``POST /services/rest/auth/oauth2/v1/token`` takes a JWT client assertion signed with the private
key of a certificate uploaded to the integration (PS256/384/512 or ES256/384/512; RS256 is not
accepted), whose ``kid`` is the certificate id, ``iss`` the client id, ``aud`` the token endpoint
and ``scope`` includes ``rest_webservices``. It answers a 60-minute Bearer token that every API
path then accepts. Failures are OAuth errors (``invalid_request``, ``invalid_client``,
``invalid_grant``, ``unsupported_grant_type``), all 400.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey

from .errors import invalid_login
from .settings import NetSuiteSandboxSettings
from .state import SandboxState

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
TOKEN_SECONDS = 3600
MAX_ASSERTION_SECONDS = 3600
CLOCK_SKEW = 60


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def load_public_key(settings: NetSuiteSandboxSettings) -> RSAKey | ECKey | None:
    """The configured certificate's key (a PEM public key or certificate, inline or in a file)."""
    raw = settings.m2m_public_key
    if not raw:
        return None
    pem = (raw if "-----BEGIN" in raw else Path(raw).read_text()).encode()
    if b"BEGIN CERTIFICATE" in pem:
        public: Any = x509.load_pem_x509_certificate(pem).public_key()
    else:
        public = serialization.load_pem_public_key(pem)
    spki = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return ECKey.import_key(spki)
    return RSAKey.import_key(spki)


def verify_bearer(state: SandboxState, token: str) -> None:
    """401 INVALID_LOGIN unless ``token`` was issued here and has not expired."""
    expires = state.access_tokens.get(token)
    if expires is None or expires <= time.time():
        raise invalid_login()


def _scopes(value: Any) -> set[str]:
    if isinstance(value, str):
        return {part for part in value.replace(",", " ").split() if part}
    if isinstance(value, list):
        return {str(part) for part in value}
    return set()


class TokenIssuer:
    """Checks client assertions against the configured certificate and issues access tokens."""

    def __init__(self, settings: NetSuiteSandboxSettings) -> None:
        self.settings = settings
        self.key = load_public_key(settings)
        self._signing_key = OctKey.import_key(secrets.token_bytes(32))

    def audiences(self, request: Request) -> set[str]:
        host = self.settings.account.lower().replace("_", "-")
        own = str(request.base_url).rstrip("/") + TOKEN_PATH
        return {own, f"https://{host}.suitetalk.api.netsuite.com{TOKEN_PATH}"}

    def verify_assertion(self, assertion: str, audiences: set[str], now: float) -> None:
        settings = self.settings
        if self.key is None or not settings.m2m_client_id or not settings.m2m_certificate_id:
            raise OAuthError("invalid_client", "OAuth 2.0 client credentials are not set up.")
        try:
            token = jwt.decode(assertion, self.key, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise OAuthError("invalid_client", "The client assertion could not be verified.") from exc
        header, claims = token.header, token.claims
        if header.get("kid") != settings.m2m_certificate_id or claims.get("iss") != settings.m2m_client_id:
            raise OAuthError("invalid_client", "Unknown certificate id or client id.")
        aud = claims.get("aud")
        if not ({aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()) & audiences:
            raise OAuthError("invalid_grant", "The aud claim must be the token endpoint URL.")
        if "rest_webservices" not in _scopes(claims.get("scope")):
            raise OAuthError("invalid_grant", "The scope claim must include rest_webservices.")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
            raise OAuthError("invalid_grant", "The iat and exp claims are required.")
        assert isinstance(iat, int | float) and isinstance(exp, int | float)
        if exp <= now or iat > now + CLOCK_SKEW or exp - iat > MAX_ASSERTION_SECONDS or exp <= iat:
            raise OAuthError("invalid_grant", "The client assertion has expired or is not yet valid.")

    def issue(self, state: SandboxState, now: float) -> str:
        for token, expires in list(state.access_tokens.items()):
            if expires <= now:
                del state.access_tokens[token]
        claims = {
            "sub": self.settings.m2m_client_id,
            "aud": self.settings.account,
            "iat": int(now),
            "exp": int(now) + TOKEN_SECONDS,
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self._signing_key)
        state.access_tokens[token] = now + TOKEN_SECONDS
        return token


def _oauth_error(error: OAuthError) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


def build_router(settings: NetSuiteSandboxSettings) -> APIRouter:
    router = APIRouter()
    issuer = TokenIssuer(settings)

    @router.post(TOKEN_PATH)
    async def token(request: Request) -> JSONResponse:
        try:
            form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            form = {}
        try:
            if form.get("grant_type") != "client_credentials":
                raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials.")
            if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
                raise OAuthError("invalid_request", "A jwt-bearer client_assertion is required.")
            now = time.time()
            issuer.verify_assertion(form["client_assertion"], issuer.audiences(request), now)
        except OAuthError as exc:
            return _oauth_error(exc)
        body = {
            "access_token": issuer.issue(request.app.state.netsuite, now),
            "expires_in": str(TOKEN_SECONDS),
            "token_type": "bearer",
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router
