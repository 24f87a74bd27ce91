"""Token-based authentication (OAuth 1.0a, HMAC-SHA256) for httpx, signed by authlib's core.

authlib's own httpx integration is deprecated in favour of httpx2, which the rest of the stack
(and the ``netsuite`` package the conformance suite runs) does not use; so the signing stays with
authlib's protocol layer (``authlib.oauth1.ClientAuth``) and only the few lines binding it to an
``httpx.Auth`` live here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Generator
from typing import Any

import httpx
from authlib.oauth1 import ClientAuth
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape

HMAC_SHA256 = "HMAC-SHA256"


def sign_hmac_sha256(client: Any, request: Any) -> str:
    """RFC 5849 signature with HMAC-SHA256, the only HMAC NetSuite accepts since 2023.1."""
    base = generate_signature_base_string(request)
    key = f"{escape(client.client_secret or '')}&{escape(client.token_secret or '')}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()).decode()


class _Signer(ClientAuth):  # type: ignore[misc]  # authlib ships no type hints
    """HMAC-SHA256 on this class only: authlib's table is shared by everything in the process."""

    SIGNATURE_METHODS = {**ClientAuth.SIGNATURE_METHODS, HMAC_SHA256: sign_hmac_sha256}


class TokenAuth(httpx.Auth):
    """Signs every request with the account's TBA credentials; the JSON body is hashed in
    (``oauth_body_hash``), as NetSuite's REST services accept."""

    requires_request_body = True

    def __init__(
        self, *, client_id: str, client_secret: str, token: str, token_secret: str, realm: str
    ) -> None:
        self._signer = _Signer(
            client_id=client_id,
            client_secret=client_secret,
            token=token,
            token_secret=token_secret,
            realm=realm,
            signature_method=HMAC_SHA256,
            force_include_body=True,  # without it authlib leaves non-form (JSON) bodies unsigned
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # A copy: authlib writes the header into what it is given; only Authorization is taken back.
        headers = httpx.Headers(request.headers)
        self._signer.prepare(request.method, str(request.url), headers, request.content)
        request.headers["Authorization"] = headers["Authorization"]
        yield request
