"""Browser sign-in: the authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636), S256 only.

``GET /oauth/authorize`` checks the request. A problem with the client or its redirect URI is shown
on a page and never redirected (§4.1.2.1: no open redirect); any other problem goes back to the
registered redirect URI with ``error`` and the caller's ``state``. A good request is kept in Redis
(``REQUEST_TTL``) and the form carries only its id and a CSRF token that must also come back in a
``SameSite=Strict`` cookie: the post can't change where the code goes, and another site can't post
the form. ``POST`` checks the password of a demo user (sandbox mode only; ``users``), then redirects
with a single-use code (Redis, ``authorization_code_ttl_seconds``) bound to the client, the redirect
URI, the code challenge and the user. The token endpoint (``oauth.token`` hands this grant to
``exchange``) trades code + ``code_verifier`` for the usual RFC 9068 access token, ``sub`` = the user.

A code is taken with GETDEL, so it works once even when two exchanges race, and a wrong verifier
burns it. Access tokens are self-contained and short-lived (``token_ttl_seconds``), so a reused code
is refused but the token of its first use is not revoked (RFC 6749 §4.1.2's SHOULD).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from redis.asyncio import Redis
from redis.exceptions import RedisError

from revbridge_gateway import dashboard
from revbridge_gateway.clients import Client
from revbridge_gateway.deps import Gateway
from revbridge_gateway.errors import OAuthError
from revbridge_gateway.settings import Settings
from revbridge_gateway.signin_page import error_page, signin_form
from revbridge_gateway.signin_store import REQUEST_TTL, Grant, Pending, SignInStore
from revbridge_gateway.users import Users, load_users

CODE_GRANT = "authorization_code"
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256), unpadded
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")  # our request ids, CSRF tokens and codes
MAX_STATE = 500
MAX_FORM_BYTES = 8 * 1024
MAX_ATTEMPTS = 5  # wrong passwords per sign-in request before it is refused
LOCKOUT_FAILURES = 10  # wrong passwords per user name in LOCKOUT_SECONDS before a pause
COOKIE = "rb_signin"
PATH = "/oauth/authorize"

log = logging.getLogger("revbridge.gateway.authorize")


@dataclass(frozen=True)
class SignIn:
    """The browser sign-in's parts, on ``app.state.signin`` (``users`` is None outside sandbox mode)."""

    users: Users | None
    store: SignInStore


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def redirect_uris(client: Client, issuer: str) -> tuple[str, ...]:
    return tuple(uri.replace("{issuer}", issuer.rstrip("/")) for uri in client.redirect_uris)


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _back(redirect_uri: str, issuer: str, **params: str | None) -> RedirectResponse:
    """A 303 to the client's registered redirect URI, with ``iss`` (RFC 9207) and the given params."""
    query = urlencode({k: v for k, v in {**params, "iss": issuer}.items() if v is not None})
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return RedirectResponse(f"{redirect_uri}{joiner}{query}", status_code=303, headers=headers)


def _parts(request: Request) -> tuple[Gateway, SignIn]:
    return request.app.state.gateway, request.app.state.signin


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise ValueError("the form must be application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ValueError("form too large")
    parsed = parse_qs(body.decode("utf-8", errors="strict"), keep_blank_values=True)
    if any(len(v) > 1 for v in parsed.values()):
        raise ValueError("a field is repeated")
    return {k: v[0] for k, v in parsed.items()}


def _public_client(gateway: Gateway, client_id: str | None) -> Client | None:
    client = gateway.registry.clients.get(client_id or "")
    return client if client is not None and client.secret_hash is None else None


async def authorize(request: Request) -> Response:
    """Check the authorization request and show the sign-in form."""
    request.state.operation_id = "oauth.authorize"
    gateway, signin = _parts(request)
    if signin.users is None:
        return error_page(404, "browser sign-in with demo users exists in sandbox mode only")
    query = parse_qs(request.url.query, keep_blank_values=True)
    params = {k: v[0] for k, v in query.items()}
    client = _public_client(gateway, params.get("client_id"))
    if client is None:
        return error_page(400, "unknown client_id (or not a public client)")
    request.state.client_id = client.client_id
    redirect_uri = params.get("redirect_uri", "")
    registered = redirect_uris(client, gateway.settings.issuer)
    if len(query.get("redirect_uri", [])) != 1 or redirect_uri not in registered:
        return error_page(400, "redirect_uri is missing or not registered for this client")
    issuer = gateway.settings.issuer
    state = params.get("state")
    if state is not None and len(state) > MAX_STATE:
        return _back(redirect_uri, issuer, error="invalid_request", error_description="state too long")

    def refuse(error: str, description: str) -> RedirectResponse:
        log.info("gateway.authorize.refused", extra={"client_id": client.client_id, "error": error})
        return _back(redirect_uri, issuer, error=error, error_description=description, state=state)

    repeated = sorted(k for k, v in query.items() if len(v) > 1)
    if repeated:
        return refuse("invalid_request", f"parameters repeated: {', '.join(repeated)}")
    if params.get("response_type") != "code":
        return refuse("unsupported_response_type", "response_type must be code")
    if params.get("code_challenge_method") != "S256":
        return refuse("invalid_request", "PKCE required: code_challenge_method=S256 (plain is refused)")
    if not CHALLENGE.match(params.get("code_challenge", "")):
        return refuse("invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier")
    requested = params.get("scope", "").split() or list(client.scopes)
    if set(requested) - set(client.scopes):
        return refuse("invalid_scope", "scope not allowed for this client")
    existing = request.cookies.get(COOKIE, "")
    binding = existing if TOKEN.match(existing) else secrets.token_urlsafe(32)
    pending = Pending(client.client_id, redirect_uri, params["code_challenge"], state, requested, binding)
    request_id = secrets.token_urlsafe(24)
    try:
        await signin.store.put_pending(request_id, pending)
    except RedisError:
        return refuse("temporarily_unavailable", "sign-in is unavailable; try again shortly")
    page = signin_form(
        client_id=client.client_id, request_id=request_id, csrf=binding, redirect_origin=_origin(redirect_uri)
    )
    page.set_cookie(
        COOKIE,
        binding,
        max_age=REQUEST_TTL,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=issuer.startswith("https://"),
    )
    return page


async def sign_in(request: Request) -> Response:
    """Check the user's password and send the browser back to the client with a code."""
    request.state.operation_id = "oauth.authorize"
    gateway, signin = _parts(request)
    if signin.users is None:
        return error_page(404, "browser sign-in with demo users exists in sandbox mode only")
    try:
        form = await _form(request)
    except (ValueError, UnicodeDecodeError) as exc:
        return error_page(400, f"unreadable sign-in form: {exc}")
    request_id, csrf = form.get("request_id", ""), form.get("csrf", "")
    if not TOKEN.match(request_id) or not TOKEN.match(csrf):
        return error_page(400, "the sign-in form is incomplete; start again from the app")
    try:
        return await _check_password(request, gateway, signin, request_id, csrf, form)
    except RedisError:
        return error_page(503, "sign-in is unavailable; try again shortly")


async def _check_password(
    request: Request, gateway: Gateway, signin: SignIn, request_id: str, csrf: str, form: dict[str, str]
) -> Response:
    assert signin.users is not None
    pending = await signin.store.pending(request_id)
    if pending is None:
        return error_page(400, "this sign-in request has expired or was used; start again from the app")
    request.state.client_id = pending.client_id
    cookie = request.cookies.get(COOKIE, "")
    if not (hmac.compare_digest(csrf, pending.binding) and hmac.compare_digest(cookie, pending.binding)):
        log.info("gateway.authorize.csrf_refused", extra={"client_id": pending.client_id})
        return error_page(403, "this form was not issued to this browser; start again from the app")
    issuer = gateway.settings.issuer
    username, password = form.get("username", "")[:64], form.get("password", "")

    def again(message: str, status: int = 400) -> Response:
        return signin_form(
            client_id=pending.client_id,
            request_id=request_id,
            csrf=pending.binding,
            redirect_origin=_origin(pending.redirect_uri),
            username=username,
            error=message,
            status=status,
        )

    if not username or not password:
        return again("enter your user name and password")
    if await signin.store.failures(username) >= LOCKOUT_FAILURES:
        return again("too many failed sign-ins for this user; wait a few minutes", status=429)
    user = await asyncio.to_thread(signin.users.authenticate, username, password)
    if user is None:
        await signin.store.failures(username, add=True)
        attempts = pending.attempts + 1
        log.info(
            "gateway.authorize.bad_password", extra={"client_id": pending.client_id, "attempts": attempts}
        )
        if attempts >= MAX_ATTEMPTS:
            await signin.store.drop_pending(request_id)
            return _back(
                pending.redirect_uri,
                issuer,
                error="access_denied",
                error_description="too many failed sign-ins",
                state=pending.state,
            )
        await signin.store.put_pending(request_id, Pending(**{**asdict(pending), "attempts": attempts}))
        return again("wrong user name or password")
    await signin.store.drop_pending(request_id)
    scopes = [s for s in pending.scopes if s in user.scopes]
    if not scopes:
        return _back(
            pending.redirect_uri,
            issuer,
            error="access_denied",
            error_description="this user holds none of the requested scopes",
            state=pending.state,
        )
    code = secrets.token_urlsafe(32)
    grant = Grant(pending.client_id, pending.redirect_uri, pending.code_challenge, user.username, scopes)
    await signin.store.put_code(code, grant)
    log.info("gateway.authorize.signed_in", extra={"client_id": pending.client_id, "subject": user.username})
    response = _back(pending.redirect_uri, issuer, code=code, state=pending.state)
    response.delete_cookie(COOKIE, path=PATH)
    return response


async def exchange(request: Request, gateway: Gateway, form: dict[str, str]) -> JSONResponse:
    """The token endpoint's ``authorization_code`` grant: a public client presents code + verifier."""
    signin: SignIn = request.app.state.signin
    if signin.users is None:
        raise OAuthError("unsupported_grant_type", "authorization_code is offered in sandbox mode only")
    if request.headers.get("authorization") or "client_secret" in form:
        raise OAuthError("invalid_request", "authorization_code is for public clients: send client_id only")
    client = _public_client(gateway, form.get("client_id"))
    if client is None:
        raise OAuthError("invalid_client", "unknown client_id (or not a public client)", status=401)
    request.state.client_id = client.client_id
    missing = [k for k in ("code", "redirect_uri", "code_verifier") if not form.get(k)]
    if missing:
        raise OAuthError("invalid_request", f"required: {', '.join(missing)}")
    if not VERIFIER.match(form["code_verifier"]):
        raise OAuthError("invalid_request", "code_verifier must be 43-128 characters of [A-Za-z0-9._~-]")
    if not TOKEN.match(form["code"]):
        raise OAuthError("invalid_grant", "authorization code is invalid, expired or already used")
    try:
        grant = await signin.store.take_code(form["code"])
    except RedisError as exc:
        raise OAuthError("temporarily_unavailable", "token service storage unavailable", status=503) from exc
    if grant is None:
        log.info("gateway.token.refused", extra={"client_id": client.client_id, "reason": "code_unknown"})
        raise OAuthError("invalid_grant", "authorization code is invalid, expired or already used")
    if grant.client_id != client.client_id or grant.redirect_uri != form["redirect_uri"]:
        raise OAuthError("invalid_grant", "the code was issued to another client or redirect_uri")
    if not hmac.compare_digest(s256(form["code_verifier"]), grant.code_challenge):
        log.info("gateway.token.refused", extra={"client_id": client.client_id, "reason": "pkce_mismatch"})
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    access_token = gateway.tokens.issue(client, grant.scopes, subject=grant.subject)
    log.info("gateway.token.issued", extra={"client_id": client.client_id, "scope": " ".join(grant.scopes)})
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": gateway.tokens.ttl,
        "scope": " ".join(grant.scopes),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def metadata(settings: Settings, base: dict[str, Any]) -> dict[str, Any]:
    """RFC 8414 fields of the code flow, added to the token service's metadata in sandbox mode."""
    if settings.mode != "sandbox":
        return {}
    return {
        "authorization_endpoint": settings.issuer.rstrip("/") + PATH,
        "grant_types_supported": [*base["grant_types_supported"], CODE_GRANT],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [*base["token_endpoint_auth_methods_supported"], "none"],
        "authorization_response_iss_parameter_supported": True,
    }


def router(settings: Settings, known_scopes: set[str]) -> APIRouter:
    """The sign-in routes; the users file is read here, so a broken one stops start-up."""
    users = load_users(settings.users_file, known_scopes) if settings.mode == "sandbox" else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
        store = SignInStore(redis, settings.key_prefix, settings.authorization_code_ttl_seconds)
        app.state.signin = SignIn(users, store)
        try:
            yield
        finally:
            await redis.aclose()

    routes = APIRouter(lifespan=lifespan)
    routes.add_api_route(PATH, authorize, methods=["GET"], include_in_schema=False)
    routes.add_api_route(PATH, sign_in, methods=["POST"], include_in_schema=False)
    routes.include_router(dashboard.router)  # the page that signs in here (public static files)
    return routes
