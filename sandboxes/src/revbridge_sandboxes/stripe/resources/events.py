"""``/v1/events`` (the polling view of every state change) and ``/v1/webhook_endpoints``."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Response

from .. import forms
from ..deps import ApiCtx, Ctx
from ..errors import invalid, not_found
from ..listing import created_filter, paginate
from ..state import BASE62, Obj, webhook_endpoint_object

router = APIRouter()


def _type_matches(pattern: str, event_type: str) -> bool:
    """``type`` accepts one wildcard: ``invoice.*``."""
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


@router.get("/v1/events")
async def list_events(ctx: ApiCtx) -> Response:
    """Filtered on the stored envelopes; only the page's events are inflated."""
    p = ctx.params
    items = ctx.account.events.newest_first()
    single = forms.as_str(p, "type")
    if single:
        items = [e for e in items if _type_matches(single, e.type)]
    types = forms.as_list(p, "types")
    if types:
        items = [e for e in items if e.type in types]
    success = forms.as_bool(p, "delivery_success")
    if success is not None:
        items = [e for e in items if (e.pending_webhooks == 0) is success]
    envelopes = [{"id": e.id, "created": e.created, "event": e} for e in items]
    page = paginate(created_filter(p, envelopes), p, "/v1/events")
    page["data"] = [envelope["event"].to_dict() for envelope in page["data"]]
    return ctx.render(page)


@router.get("/v1/events/{event_id}")
async def retrieve_event(event_id: str, ctx: ApiCtx) -> Response:
    event = ctx.account.events.get(event_id)
    if event is None:
        raise not_found("event", event_id, "id")
    return ctx.render(event.to_dict())


def _enabled_events(ctx: Ctx, required: bool) -> list[str] | None:
    events = [str(e) for e in forms.as_list(ctx.params, "enabled_events")]
    if not events:
        if required:
            raise invalid(
                "enabled_events", "Missing required param: enabled_events.", code="parameter_missing"
            )
        return None
    return events


@router.post("/v1/webhook_endpoints")
async def create_webhook_endpoint(ctx: ApiCtx) -> Response:
    url = forms.as_str(ctx.params, "url", required=True) or ""
    if not url.startswith(("http://", "https://")):
        raise invalid("url", f"Invalid URL: {url}. URLs must begin with http:// or https://")
    enabled = _enabled_events(ctx, required=True) or []
    async with ctx.account.lock:
        endpoint = webhook_endpoint_object(url, enabled, forms.as_str(ctx.params, "api_version"))
        endpoint["description"] = forms.as_str(ctx.params, "description")
        endpoint["metadata"] = forms.merge_metadata({}, ctx.params.get("metadata"))
        secret = "whsec_" + "".join(secrets.choice(BASE62) for _ in range(32))
        ctx.account.put(endpoint)
        ctx.account.endpoint_secrets[endpoint["id"]] = secret
    return ctx.render({**endpoint, "secret": secret})


@router.get("/v1/webhook_endpoints")
async def list_webhook_endpoints(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("webhook_endpoint")
    return ctx.render(paginate(items, ctx.params, "/v1/webhook_endpoints"))


def _endpoint(ctx: Ctx, endpoint_id: str) -> Obj:
    return ctx.account.require("webhook_endpoint", endpoint_id, "webhook endpoint", "webhook_endpoint")


@router.get("/v1/webhook_endpoints/{endpoint_id}")
async def retrieve_webhook_endpoint(endpoint_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_endpoint(ctx, endpoint_id))


@router.post("/v1/webhook_endpoints/{endpoint_id}")
async def update_webhook_endpoint(endpoint_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        endpoint = _endpoint(ctx, endpoint_id)
        url = forms.as_str(ctx.params, "url")
        if url:
            endpoint["url"] = url
        enabled = _enabled_events(ctx, required=False)
        if enabled is not None:
            endpoint["enabled_events"] = enabled
        disabled = forms.as_bool(ctx.params, "disabled")
        if disabled is not None:
            endpoint["status"] = "disabled" if disabled else "enabled"
        if "description" in ctx.params:
            endpoint["description"] = ctx.params["description"] or None
        endpoint["metadata"] = forms.merge_metadata(endpoint["metadata"], ctx.params.get("metadata"))
    return ctx.render(endpoint)


@router.delete("/v1/webhook_endpoints/{endpoint_id}")
async def delete_webhook_endpoint(endpoint_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        _endpoint(ctx, endpoint_id)
        ctx.account.remove("webhook_endpoint", endpoint_id)
        ctx.account.endpoint_secrets.pop(endpoint_id, None)
        ctx.account.configured_endpoints.discard(endpoint_id)
    return ctx.render({"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})
