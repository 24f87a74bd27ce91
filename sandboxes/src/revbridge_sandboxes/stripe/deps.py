"""Per-request context for API handlers: the authenticated account, decoded params, event emission.

``ApiCtx`` is the one FastAPI dependency every ``/v1`` handler takes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from . import enums, forms
from . import params as accepted
from .archive import json_default
from .errors import StripeError
from .event_log import StoredEvent
from .listing import expand
from .state import Account, Obj, SandboxState, new_id, now, snapshot
from .webhooks import endpoint_matches

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). "
    "See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)


def presented_key(request: Request) -> str | None:
    """The secret key from ``Authorization: Bearer`` or HTTP Basic (key as the username)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def authenticate(state: SandboxState, request: Request) -> Account:
    key = presented_key(request)
    if not key:
        raise StripeError(401, NO_KEY)
    account = state.accounts.get(key)
    if account is None:
        raise StripeError(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}")
    return account


@dataclass
class Ctx:
    """What a handler needs: state, account, params, and the request identity events carry."""

    state: SandboxState
    account: Account
    params: dict[str, Any]
    request_id: str | None
    idempotency_key: str | None
    api_version: str

    def render(self, obj: Obj) -> Response:
        """``obj`` as the JSON response, with the requested ``expand[]`` paths expanded.

        Serialized here, so FastAPI's generic encoder (slow on large objects) never sees it.
        """
        paths = [str(p) for p in forms.as_list(self.params, "expand")]
        body = expand(snapshot(obj), paths, self.account) if paths else obj
        return Response(
            json.dumps(body, ensure_ascii=False, default=json_default), media_type="application/json"
        )

    def emit(self, event_type: str, obj: Obj, previous: Obj | None = None) -> StoredEvent:
        """Record an event with a snapshot of ``obj`` and queue its webhook deliveries.

        The snapshot is serialized straight into the stored event (no intermediate copy)."""
        data: Obj = {"object": obj}
        if previous:
            data["previous_attributes"] = previous
        event = StoredEvent.record(
            new_id("evt"), event_type, now(), data, self.api_version, self.request_id, self.idempotency_key
        )
        self.account.events.add(event)
        endpoints = [
            e for e in self.account.newest_first("webhook_endpoint") if endpoint_matches(e, event_type)
        ]
        event.pending_webhooks = len(endpoints)
        for endpoint in endpoints:
            secret = self.account.endpoint_secrets.get(endpoint["id"], "")
            self.state.webhooks.schedule(event, endpoint, secret)
        return event

    def emit_update(self, event_type: str, before: Obj, after: Obj) -> StoredEvent | None:
        """Emit ``*.updated`` with ``previous_attributes`` (top-level keys that changed), if any."""
        previous = {k: before.get(k) for k in after if before.get(k) != after.get(k)}
        return self.emit(event_type, after, previous) if previous else None


async def api_context(request: Request) -> Ctx:
    route = request.scope.get("route")
    return await request_context(request, getattr(route, "path", None))


async def request_context(request: Request, route_path: str | None) -> Ctx:
    """The ``Ctx`` of a call to the route ``route_path`` (also used by the fast create path)."""
    state: SandboxState = request.app.state.sandbox
    account = authenticate(state, request)
    params = forms.decode(request.scope["query_string"])
    if request.method == "POST":
        params.update(forms.decode(await request.body()))
    if not all(isinstance(path, str) for path in forms.as_list(params, "expand")):
        raise StripeError(400, "Invalid array", param="expand")
    accepted.check(request.method, route_path, params)
    enums.check(request.method, route_path, params)
    request_id = getattr(request.state, "request_id", None)
    return Ctx(
        state=state,
        account=account,
        params=params,
        request_id=new_id("req", 14) if request_id is None else request_id,
        idempotency_key=request.headers.get("idempotency-key"),
        api_version=request.headers.get("stripe-version") or state.settings.api_version,
    )


ApiCtx = Annotated[Ctx, Depends(api_context)]
