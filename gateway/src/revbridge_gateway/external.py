"""Tokens from external issuers, each configured by its discovery URL (RFC 8414 or OIDC metadata).

At start-up the gateway reads each issuer's metadata (its ``issuer`` identifier and ``jwks_uri``)
and JWKS; an issuer that can't be reached is retried when a token names an unknown ``iss`` (at most
once per ``cooldown``), so an identity provider's outage never stops the gateway. Keys are cached;
a token signed with an unknown ``kid`` triggers one JWKS refetch, at most once per ``cooldown``, so
forged ``kid`` values can't turn the gateway into a load generator against the issuer.

The checks are as strict as for the gateway's own tokens: an asymmetric algorithm allow-list (never
``none`` or HMAC), a ``kid`` the issuer publishes, ``iss`` and ``aud`` exact, ``exp`` and ``iat``
required, ``exp``/``nbf``/``iat`` with the configured leeway (≤ 60 s). A caller's client id is
``<issuer host>:<client_id|azp|sub>``, which can never collide with a registered client's id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from revbridge_gateway.errors import InvalidToken
from revbridge_gateway.tokens import Caller, reason

ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"})

log = logging.getLogger("revbridge.gateway.external")


class ExternalIssuerConfig(BaseModel):
    """One entry of ``GATEWAY_EXTERNAL_ISSUERS`` (a JSON list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    discovery_url: AnyHttpUrl
    audience: str = Field(min_length=1)
    client_audience: Literal["internal", "partner"]
    plan: str = "standard"
    algorithms: tuple[str, ...] = ("RS256", "ES256")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = set(value) - ASYMMETRIC
        if refused or not value:
            raise ValueError(f"only asymmetric algorithms are allowed, not {sorted(refused)}")
        return value


class ExternalIssuer:
    def __init__(
        self,
        config: ExternalIssuerConfig,
        http: httpx.AsyncClient,
        leeway: int,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._http, self._leeway, self._cooldown, self._clock = http, leeway, cooldown, clock
        self.issuer: str | None = None
        self._jwks_uri = ""
        self._keys = KeySet([])
        self._kids: frozenset[str] = frozenset()
        self._last_attempt = float("-inf")
        self._last_refetch = float("-inf")
        self._lock = asyncio.Lock()

    async def discover(self) -> bool:
        """Read the metadata and JWKS; False (logged) if the issuer can't be reached right now."""
        async with self._lock:
            if self.issuer is not None:
                return True
            if self._clock() - self._last_attempt < self._cooldown:
                return False
            self._last_attempt = self._clock()
            url = str(self.config.discovery_url)
            try:
                metadata = await self._get_json(url)
                issuer, jwks_uri = metadata.get("issuer"), metadata.get("jwks_uri")
                if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                    raise ValueError("metadata lacks issuer or jwks_uri")
                if _origin(issuer) != _origin(url) or _origin(jwks_uri) != _origin(url):
                    raise ValueError("issuer and jwks_uri must be on the discovery URL's origin")
                self._jwks_uri = jwks_uri
                await self._load_keys()
            except (httpx.HTTPError, ValueError, JoseError) as exc:
                log.warning("gateway.external.discovery_failed", extra={"url": url, "error": str(exc)[:200]})
                return False
            self.issuer = issuer
            log.info("gateway.external.discovered", extra={"issuer": issuer, "kids": sorted(self._kids)})
            return True

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url)
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError(f"{url}: expected a JSON object")
        return body

    async def _load_keys(self) -> None:
        jwks = await self._get_json(self._jwks_uri)
        keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid")]
        self._keys = KeySet.import_key_set({"keys": keys})
        self._kids = frozenset(str(k["kid"]) for k in keys)

    async def _keys_for(self, kid: str) -> KeySet:
        if kid in self._kids:
            return self._keys
        async with self._lock:
            if kid not in self._kids and self._clock() - self._last_refetch >= self._cooldown:
                self._last_refetch = self._clock()
                try:
                    await self._load_keys()
                    log.info("gateway.external.jwks_refreshed", extra={"issuer": self.issuer})
                except (httpx.HTTPError, ValueError, JoseError) as exc:
                    log.warning("gateway.external.jwks_failed", extra={"error": str(exc)[:200]})
        if kid not in self._kids:
            raise InvalidToken("unknown signing key")
        return self._keys

    async def verify(self, token: str, header: dict[str, Any]) -> Caller:
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.config.algorithms:
            raise InvalidToken("algorithm not allowed")
        if not isinstance(kid, str):
            raise InvalidToken("unknown signing key")
        keys = await self._keys_for(kid)
        try:
            decoded = jwt.decode(token, keys, algorithms=[str(alg)])
            jwt.JWTClaimsRegistry(
                leeway=self._leeway,
                iss={"essential": True, "value": self.issuer or ""},
                aud={"essential": True, "value": self.config.audience},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken(reason(exc)) from exc
        claims = decoded.claims
        subject = claims.get("client_id") or claims.get("azp") or claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("token names no client (client_id, azp or sub)")
        scope = claims.get("scope", claims.get("scp", ""))
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope or []]
        return Caller(
            client_id=f"{urlsplit(self.issuer or '').netloc}:{subject}",
            scopes=frozenset(scopes),
            audience=self.config.client_audience,
            jti=str(claims.get("jti", "")),
            plan=self.config.plan,
        )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class ExternalIssuers:
    """Every configured external issuer, found by the ``iss`` a token claims."""

    def __init__(self, issuers: list[ExternalIssuer]) -> None:
        self._issuers = issuers

    async def start(self) -> None:
        await asyncio.gather(*(i.discover() for i in self._issuers))

    async def find(self, iss: object) -> ExternalIssuer | None:
        if not isinstance(iss, str) or not self._issuers:
            return None
        for issuer in self._issuers:
            if issuer.issuer == iss:
                return issuer
        for issuer in self._issuers:
            if issuer.issuer is None and await issuer.discover() and issuer.issuer == iss:
                return issuer
        return None
