"""``/v1/billing/meters`` and ``/v1/billing/meter_events``: usage reported as events, summed per
customer and billed at the end of each period by metered prices (``recurring[meter]``).

An ``identifier`` seen before is a duplicate: answered like the first, counted once (Stripe
rejects duplicates asynchronously; the synchronous answer is still a success).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import billing, clocks, forms
from ..deps import ApiCtx, Ctx
from ..errors import StripeError, bad_state, invalid
from ..listing import created_filter, paginate
from ..state import Obj, new_id, now, snapshot

router = APIRouter()

FORMULAS = ("sum", "count", "last")


@router.post("/v1/billing/meters")
async def create_meter(ctx: ApiCtx) -> Response:
    p = ctx.params
    display_name = forms.as_str(p, "display_name", required=True)
    event_name = forms.as_str(p, "event_name", required=True)
    aggregation = p.get("default_aggregation")
    formula = forms.as_str(aggregation, "formula", required=True) if isinstance(aggregation, dict) else None
    if formula not in FORMULAS:
        raise invalid(
            "default_aggregation[formula]", f"Invalid formula: must be one of {', '.join(FORMULAS)}"
        )
    mapping = p["customer_mapping"] if isinstance(p.get("customer_mapping"), dict) else {}
    value_settings = p["value_settings"] if isinstance(p.get("value_settings"), dict) else {}
    async with ctx.account.lock:
        if any(m["event_name"] == event_name for m in ctx.account.newest_first("billing.meter")):
            raise invalid("event_name", f"A meter with event_name '{event_name}' already exists.")
        ts = now()
        meter: Obj = {
            "id": new_id("mtr"),
            "object": "billing.meter",
            "created": ts,
            "customer_mapping": {
                "event_payload_key": mapping.get("event_payload_key") or "stripe_customer_id",
                "type": "by_id",
            },
            "default_aggregation": {"formula": formula},
            "display_name": display_name,
            "event_name": event_name,
            "event_time_window": forms.as_str(p, "event_time_window"),
            "livemode": False,
            "status": "active",
            "status_transitions": {"deactivated_at": None},
            "updated": ts,
            "value_settings": {"event_payload_key": value_settings.get("event_payload_key") or "value"},
        }
        ctx.account.put(meter)
        ctx.emit("billing.meter.created", meter)
    return ctx.render(meter)


@router.get("/v1/billing/meters")
async def list_meters(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("billing.meter")
    status = forms.as_str(ctx.params, "status")
    if status:
        items = [m for m in items if m["status"] == status]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/billing/meters"))


def _meter(ctx: Ctx, meter_id: str) -> Obj:
    return ctx.account.require("billing.meter", meter_id, "billing meter", "id")


@router.get("/v1/billing/meters/{meter_id}")
async def retrieve_meter(meter_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_meter(ctx, meter_id))


@router.post("/v1/billing/meters/{meter_id}")
async def update_meter(meter_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        meter = _meter(ctx, meter_id)
        before = snapshot(meter)
        if "display_name" in ctx.params:
            meter["display_name"] = forms.as_str(ctx.params, "display_name", required=True)
        meter["updated"] = now()
        ctx.emit_update("billing.meter.updated", before, meter)
    return ctx.render(meter)


async def _set_status(ctx: Ctx, meter_id: str, status: str) -> Obj:
    async with ctx.account.lock:
        meter = _meter(ctx, meter_id)
        if meter["status"] == status:
            raise bad_state(f"This meter is already {status}.")
        meter.update(status=status, updated=now())
        meter["status_transitions"]["deactivated_at"] = now() if status == "inactive" else None
        ctx.emit("billing.meter.deactivated" if status == "inactive" else "billing.meter.reactivated", meter)
    return meter


WINDOWS = {"hour": 3600, "day": 86400}


@router.get("/v1/billing/meters/{meter_id}/event_summaries")
async def list_event_summaries(meter_id: str, ctx: ApiCtx) -> Response:
    """A customer's usage on the meter between ``start_time`` (inclusive) and ``end_time``
    (exclusive), aggregated by the meter's formula: one summary, or one per ``hour``/``day``.

    Guesses, marked: windows without events are left out, summaries come oldest first, and their
    ids are derived from the meter and the window (Stripe's look random).
    """
    p = ctx.params
    customer_id = forms.as_str(p, "customer", required=True) or ""
    start = forms.as_int(p, "start_time", required=True) or 0
    end = forms.as_int(p, "end_time", required=True) or 0
    for name, ts in (("start_time", start), ("end_time", end)):
        if ts % 60:
            raise invalid(name, f"{name} must be aligned with minute boundaries.")
    if end <= start:
        raise invalid("end_time", "end_time must be after start_time.")
    window = forms.as_str(p, "value_grouping_window")
    if window is not None and window not in WINDOWS:
        raise invalid("value_grouping_window", "Invalid value_grouping_window: must be one of day or hour")
    meter = _meter(ctx, meter_id)
    ctx.account.reference("customer", customer_id, "customer", "customer")
    step = WINDOWS[window] if window else end - start
    in_range = billing.meter_events(ctx, meter, customer_id, start, end)  # one scan, then windows
    summaries = []
    for lo in range(start - start % step if window else start, end, step):
        hi = min(lo + step, end)
        events = [e for e in in_range if max(lo, start) <= int(e["timestamp"]) < hi]
        if events or not window:
            summaries.append(
                {
                    "id": f"mtrusum_{meter['id'][4:]}{lo}",
                    "object": "billing.meter_event_summary",
                    "aggregated_value": float(billing.aggregate(meter, events)),
                    "end_time": hi,
                    "livemode": False,
                    "meter": meter["id"],
                    "start_time": max(lo, start),
                }
            )
    url = f"/v1/billing/meters/{meter['id']}/event_summaries"
    return ctx.render(paginate(summaries, p, url))


@router.post("/v1/billing/meters/{meter_id}/deactivate")
async def deactivate_meter(meter_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(await _set_status(ctx, meter_id, "inactive"))


@router.post("/v1/billing/meters/{meter_id}/reactivate")
async def reactivate_meter(meter_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(await _set_status(ctx, meter_id, "active"))


PAST_WINDOW_SECONDS = 35 * 86400
FUTURE_WINDOW_SECONDS = 5 * 60


def _check_timestamp(timestamp: int, reference: int) -> None:
    """Stripe takes an event ``timestamp`` within the past 35 days or up to 5 minutes ahead.

    ``reference`` is the customer's test clock time when it has one (guess: Stripe's docs say
    nothing of test clocks, but usage on a clock is reported on the clock's time). The past message
    is Stripe's; the future one, and the absence of an error ``code``, are guesses."""
    earliest = reference - PAST_WINDOW_SECONDS
    if timestamp < earliest:
        raise StripeError(
            400,
            "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater "
            f"than or equal to {earliest}.",
            param="timestamp",
        )
    latest = reference + FUTURE_WINDOW_SECONDS
    if timestamp > latest:
        raise StripeError(
            400,
            "The event timestamp cannot be more than 5 minutes in the future. Expected a timestamp "
            f"less than or equal to {latest}.",
            param="timestamp",
        )


@router.post("/v1/billing/meter_events")
async def create_meter_event(ctx: ApiCtx) -> Response:
    p = ctx.params
    event_name = forms.as_str(p, "event_name", required=True)
    payload = p.get("payload")
    if not isinstance(payload, dict):
        raise invalid("payload", "Missing required param: payload.", code="parameter_missing")
    identifier = forms.as_str(p, "identifier") or new_id("mev")
    async with ctx.account.lock:
        meter = next(
            (m for m in ctx.account.newest_first("billing.meter") if m["event_name"] == event_name), None
        )
        if meter is None or meter["status"] != "active":
            raise invalid("event_name", f"No active meter with event_name '{event_name}'.")
        customer_id = payload.get(meter["customer_mapping"]["event_payload_key"])
        if not isinstance(customer_id, str):
            raise invalid(
                f"payload[{meter['customer_mapping']['event_payload_key']}]", "Missing the customer id."
            )
        ctx.account.reference("customer", customer_id, "customer", "payload")
        value = payload.get(meter["value_settings"]["event_payload_key"], "1")
        try:
            float(value)
        except (TypeError, ValueError):
            raise invalid(
                f"payload[{meter['value_settings']['event_payload_key']}]", "Invalid number"
            ) from None
        clock_now = clocks.clock_time(ctx.account, customer_id)
        reference = clock_now if clock_now is not None else now()
        timestamp = forms.as_int(p, "timestamp", reference)
        assert timestamp is not None
        _check_timestamp(timestamp, reference)
        existing = ctx.account.get("billing.meter_event", identifier)
        if existing is not None:
            return ctx.render(existing)
        event: Obj = {
            "id": identifier,
            "object": "billing.meter_event",
            "created": now(),
            "event_name": event_name,
            "identifier": identifier,
            "livemode": False,
            "payload": {str(k): str(v) for k, v in payload.items()},
            "timestamp": timestamp,
        }
        ctx.account.put(event)
    return ctx.render(event)
