"""Who is calling: the bearer token checked against the gateway's own keys or an external issuer.

The token's unverified ``iss`` only chooses whose keys to verify with; everything is then checked
strictly by that issuer's verifier. Verified local tokens are cached by their exact text until they
expire (a tampered token is a different string, so it can never hit the cache), which saves an
ECDSA verification per request; the registry check still runs every time, so a removed client is
refused at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from revbridge_gateway.clients import Registry
from revbridge_gateway.errors import InvalidToken, MissingToken
from revbridge_gateway.external import ExternalIssuers
from revbridge_gateway.tokens import Caller, TokenService, read_header, unverified_issuer

CACHE_SIZE = 10_000


class Authenticator:
    def __init__(
        self,
        tokens: TokenService,
        registry: Registry,
        externals: ExternalIssuers,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens, self._registry, self._externals = tokens, registry, externals
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise MissingToken()
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("expected 'Authorization: Bearer <token>'")
        cached = self._cache.get(token)
        if cached is not None and cached[1] > self._clock():
            caller = cached[0]
        else:
            caller = await self._verify(token)
        if caller.plan is None and caller.client_id not in self._registry.clients:
            raise InvalidToken("client no longer registered")
        return caller

    async def _verify(self, token: str) -> Caller:
        header = read_header(token)
        issuer = unverified_issuer(token)
        if issuer != self._tokens.issuer:
            external = await self._externals.find(issuer)
            if external is not None:
                return await external.verify(token, header)
        caller = self._tokens.verify(token, header)
        self._remember(token, caller)
        return caller

    def _remember(self, token: str, caller: Caller) -> None:
        self._cache[token] = (caller, caller.expires_at)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
