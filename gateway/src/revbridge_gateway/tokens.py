"""Access tokens: RFC 9068 JWTs signed ES256, issued for client credentials and verified strictly.

Verification reads the protected header before any cryptography and accepts only
``alg: ES256``, ``typ: at+jwt`` and a ``kid`` the gateway publishes; so ``alg: none``, HS256
signed with the public key, or a token from another key never reach a signature check. Claims
must carry the expected ``iss`` and ``aud``; ``exp``/``nbf`` are checked with a small leeway.
Which keys sign and verify is asked of the key ring at each call (see ``keys``: they rotate), by the
same injected clock that the claim checks use.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from revbridge_gateway.clients import Client
from revbridge_gateway.errors import InvalidToken
from revbridge_gateway.keys import ALGORITHM, KeyRing

TOKEN_TYPES = ("at+jwt", "application/at+jwt")
AUDIENCES = ("internal", "partner")


@dataclass(frozen=True)
class Caller:
    """Who a verified token speaks for."""

    client_id: str
    scopes: frozenset[str]
    audience: str
    jti: str
    plan: str | None = None  # set for external issuers' callers; registered clients use their own
    expires_at: float = 0.0
    subject: str | None = None  # our tokens' ``sub``: the signed-in user, or the client itself


class TokenService:
    def __init__(
        self,
        keyring: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl: int,
        leeway: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keyring = keyring
        self._issuer, self._audience = issuer, audience
        self._ttl, self._leeway = ttl, leeway
        self._clock = clock
        self._claims = self._registry()

    @property
    def ttl(self) -> int:
        return self._ttl

    def jwks(self) -> dict[str, Any]:
        return self._keyring.current(self._clock()).jwks()

    def issue(
        self, client: Client, scopes: list[str], now: int | None = None, subject: str | None = None
    ) -> str:
        """``subject``: the signed-in user of an authorization-code grant; else the client itself."""
        keys = self._keyring.current(self._clock())  # ``now`` only dates the claims
        now = int(self._clock()) if now is None else now
        header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": keys.kid}
        claims = {
            "iss": self._issuer,
            "sub": subject or client.client_id,
            "aud": self._audience,
            "client_id": client.client_id,
            "scope": " ".join(scopes),
            "revbridge_audience": client.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(header, claims, keys.signing, algorithms=[ALGORITHM])

    @property
    def issuer(self) -> str:
        return self._issuer

    def verify(self, token: str, header: dict[str, Any] | None = None) -> Caller:
        header = header if header is not None else read_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm not allowed")
        if header.get("typ") not in TOKEN_TYPES:
            raise InvalidToken("not an access token (typ must be at+jwt)")
        keys = self._keyring.current(self._clock())
        if header.get("kid") not in keys.kids:
            raise InvalidToken("unknown signing key")
        try:
            decoded = jwt.decode(token, keys.key_set, algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken(reason(exc)) from exc
        claims = decoded.claims
        if claims.get("revbridge_audience") not in AUDIENCES or not isinstance(claims.get("sub"), str):
            raise InvalidToken("malformed revbridge claims")
        return Caller(
            client_id=str(claims["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            audience=str(claims["revbridge_audience"]),
            jti=str(claims["jti"]),
            expires_at=float(claims["exp"]),
            subject=str(claims["sub"]),
        )

    def _registry(self) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self._leeway,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            nbf={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
        )


def _segment(token: str, index: int, what: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a compact JWS")
    try:
        value = json.loads(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken(f"unreadable token {what}") from exc
    if not isinstance(value, dict):
        raise InvalidToken(f"unreadable token {what}")
    return value


def read_header(token: str) -> dict[str, Any]:
    """The protected header, unverified: only to choose how (and whether) to verify."""
    return _segment(token, 0, "header")


def unverified_issuer(token: str) -> object:
    """The ``iss`` the token claims, unverified: only to pick which issuer's keys to check with."""
    return _segment(token, 1, "payload").get("iss")


def reason(exc: Exception) -> str:
    """A short, token-free reason (joserfc messages name claims, never their secret values)."""
    if isinstance(exc, JoseError):
        return f"{exc.error}: {exc.description}" if exc.description else str(exc.error)
    return "malformed token"
