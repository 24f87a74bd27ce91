"""``POST /services/oauth2/token``: client-credentials and JWT-bearer grants as Salesforce answers them.

Client authentication is accepted as form fields or HTTP Basic (what simple-salesforce sends);
the client-credentials response carries ``signature`` = Base64 HMAC-SHA256(id + issued_at) keyed by
the client secret. The JWT-bearer response has no signature, as documented.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request

from .. import jwt_bearer
from ..errors import OAuthError
from ..state import SalesforceState, get_state

router = APIRouter()


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "invalid client credentials") from exc
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def token_signature(secret: str, identity_url: str, issued_at: str) -> str:
    mac = hmac.new(secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _jwt_bearer(state: SalesforceState, request: Request, form: dict[str, str]) -> dict[str, str]:
    settings = state.settings
    jwt_bearer.verify_assertion(
        form.get("assertion", ""),
        state.jwt_key,
        client_id=settings.client_id,
        username=settings.username,
        audiences=jwt_bearer.accepted_audiences(str(request.base_url), settings.instance_url),
    )
    instance_url = settings.instance_url or str(request.base_url).rstrip("/")
    return {
        "access_token": state.issue_token(),
        "scope": "api",
        "instance_url": instance_url,
        "id": f"{instance_url}/id/{state.org_id}/{state.user_id}",
        "token_type": "Bearer",
    }


@router.post("/services/oauth2/token")
async def token(request: Request) -> dict[str, str]:
    state = get_state(request)
    settings = state.settings
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    grant = form.get("grant_type")
    if grant == jwt_bearer.GRANT_TYPE:
        return _jwt_bearer(state, request, form)
    if grant != "client_credentials":
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    client_id, client_secret = _client_credentials(request, form)
    secret = settings.client_secret.get_secret_value()
    id_ok = secrets.compare_digest(client_id.encode(), settings.client_id.encode())
    secret_ok = secrets.compare_digest(client_secret.encode(), secret.encode())
    if not (id_ok and secret_ok):
        raise OAuthError("invalid_client", "invalid client credentials")
    instance_url = settings.instance_url or str(request.base_url).rstrip("/")
    identity_url = f"{instance_url}/id/{state.org_id}/{state.user_id}"
    issued_at = str(int(time.time() * 1000))
    return {
        "access_token": state.issue_token(),
        "signature": token_signature(secret, identity_url, issued_at),
        "token_format": "opaque",
        "instance_url": instance_url,
        "id": identity_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "scope": "api",
    }
