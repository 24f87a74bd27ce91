"""Token-Based Authentication (OAuth 1.0a, HMAC-SHA256) as NetSuite verifies it.

The base string is built here independently of authlib (which the clients use), so the
integration tests cross-check the two: METHOD & pct(scheme://host[:port]/path) & pct(sorted
params), params being every ``oauth_*`` header parameter except the signature (``realm`` is not
signed) plus the URL query parameters. Any failure is the same 401 ``INVALID_LOGIN``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote
from urllib.request import parse_http_list, parse_keqv_list

from .errors import invalid_login
from .state import SandboxState

REQUIRED = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp", "oauth_nonce")
DEFAULT_PORTS = {"http": "80", "https": "443"}


def pct(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding: everything but the unreserved set."""
    return quote(value, safe="-._~")


def parse_authorization(header: str) -> dict[str, str]:
    """The ``OAuth k="v", ...`` header as decoded parameters (``realm`` included)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth" or not rest:
        raise invalid_login()
    try:
        raw = parse_keqv_list(parse_http_list(rest))
    except ValueError as exc:
        raise invalid_login() from exc
    return {key.strip(): unquote(value) for key, value in raw.items()}


def base_string_uri(scheme: str, host: str, raw_path: str) -> str:
    scheme, host = scheme.lower(), host.lower()
    name, sep, port = host.rpartition(":")
    if sep and "]" not in port and port == DEFAULT_PORTS.get(scheme):
        host = name
    return f"{scheme}://{host}{raw_path or '/'}"


def signature_base_string(method: str, uri: str, oauth: Mapping[str, str], query: str) -> str:
    params = [(k, v) for k, v in oauth.items() if k.startswith("oauth_") and k != "oauth_signature"]
    params += parse_qsl(query, keep_blank_values=True)
    normalized = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in params))
    return "&".join([pct(method.upper()), pct(uri), pct(normalized)])


def hmac_sha256(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{pct(consumer_secret)}&{pct(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_tba(
    state: SandboxState,
    *,
    method: str,
    uri: str,
    query: str,
    authorization: str | None,
    body: bytes,
    now: float | None = None,
) -> None:
    """Raise 401 INVALID_LOGIN unless the request carries a fresh, valid TBA signature."""
    if not authorization:
        raise invalid_login()
    oauth = parse_authorization(authorization)
    settings = state.settings
    if any(not oauth.get(key) for key in (*REQUIRED, "oauth_signature")):
        raise invalid_login()
    if oauth["oauth_signature_method"] != "HMAC-SHA256":
        raise invalid_login()
    if not (
        hmac.compare_digest(oauth["oauth_consumer_key"], settings.consumer_key)
        and hmac.compare_digest(oauth["oauth_token"], settings.token_id)
    ):
        raise invalid_login()
    if "realm" in oauth and oauth["realm"].upper() != settings.account.upper():
        raise invalid_login()
    base = signature_base_string(method, uri, oauth, query)
    expected = hmac_sha256(
        base, settings.consumer_secret.get_secret_value(), settings.token_secret.get_secret_value()
    )
    if not hmac.compare_digest(expected, oauth["oauth_signature"]):
        raise invalid_login()
    body_hash = oauth.get("oauth_body_hash")
    if body_hash is not None and body_hash != base64.b64encode(hashlib.sha1(body).digest()).decode():
        raise invalid_login()
    _check_fresh(state, oauth, time.time() if now is None else now)


def _check_fresh(state: SandboxState, oauth: Mapping[str, str], now: float) -> None:
    """Reject stale/future timestamps and a nonce already seen inside the window."""
    window = state.settings.timestamp_window_seconds
    try:
        timestamp = int(oauth["oauth_timestamp"])
    except ValueError as exc:
        raise invalid_login() from exc
    if abs(now - timestamp) > window:
        raise invalid_login()
    nonces = state.nonces  # oldest first: drop from the front what the window has passed (O(1) each)
    while nonces and now - next(iter(nonces.values())) > window:
        nonces.popitem(last=False)
    key = (oauth["oauth_consumer_key"], oauth["oauth_token"], oauth["oauth_nonce"])
    if key in state.nonces:
        raise invalid_login()
    state.nonces[key] = timestamp
