"""The token service: client-credentials grant (RFC 6749 §4.4), JWKS and RFC 8414 metadata.

Client authentication is ``client_secret_basic`` or ``client_secret_post`` (exactly one per
request). Errors follow RFC 6749 §5.2 and are never a 500; an unknown client and a wrong secret
get the same answer. Secrets are checked off the event loop (scrypt is deliberately slow).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from revbridge_gateway import authorize
from revbridge_gateway.deps import GatewayDep
from revbridge_gateway.errors import OAuthError, invalid_client

MAX_FORM_BYTES = 8 * 1024
GRANT = "client_credentials"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

log = logging.getLogger("revbridge.gateway.oauth")
router = APIRouter()


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "body must be application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", "request too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "unreadable form body") from exc
    repeated = sorted(k for k, v in parsed.items() if len(v) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"parameters repeated: {', '.join(repeated)}")
    return {k: v[0] for k, v in parsed.items()}


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization")
    in_body = "client_secret" in form
    if header and in_body:
        raise OAuthError("invalid_request", "use one client authentication method, not two")
    if header:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise invalid_client()
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_client() from exc
        if not sep:
            raise invalid_client()
        return unquote_plus(user), unquote_plus(password)  # RFC 6749 §2.3.1: form-encoded first
    if in_body and form.get("client_id"):
        return form["client_id"], form["client_secret"]
    raise invalid_client()


@router.post("/oauth/token", include_in_schema=False)
async def token(request: Request, gateway: GatewayDep) -> JSONResponse:
    request.state.operation_id = "oauth.token"
    form = await _form(request)
    if form.get("grant_type") == authorize.CODE_GRANT:  # public clients with PKCE: see authorize.py
        return await authorize.exchange(request, gateway, form)
    client_id, secret = _credentials(request, form)
    client = await asyncio.to_thread(gateway.registry.authenticate, client_id, secret)
    if client is None:
        log.info("gateway.token.refused", extra={"client_id": client_id[:64], "reason": "invalid_client"})
        raise invalid_client()
    request.state.client_id = client.client_id
    grant = form.get("grant_type")
    if not grant:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant != GRANT:
        raise OAuthError("unsupported_grant_type", f"only {GRANT} is supported")
    requested = form.get("scope", "").split()
    unknown = sorted(set(requested) - set(client.scopes))
    if unknown:
        raise OAuthError("invalid_scope", f"scope not allowed for this client: {' '.join(unknown)}")
    scopes = requested or list(client.scopes)
    access_token = gateway.tokens.issue(client, scopes)
    log.info("gateway.token.issued", extra={"client_id": client.client_id, "scope": " ".join(scopes)})
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": gateway.tokens.ttl,
        "scope": " ".join(scopes),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/.well-known/jwks.json", include_in_schema=False)
async def jwks(gateway: GatewayDep) -> JSONResponse:
    return JSONResponse(gateway.tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/oauth-authorization-server", include_in_schema=False)
async def metadata(gateway: GatewayDep) -> dict[str, Any]:
    issuer = gateway.settings.issuer.rstrip("/")
    body = {
        "issuer": gateway.settings.issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": [GRANT],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": sorted(gateway.routes.scopes_supported),
        "response_types_supported": [],
    }
    return body | authorize.metadata(gateway.settings, body)  # the code flow's endpoint and methods
