"""A ramped or phased contract as a Stripe subscription schedule: one phase per segment boundary.

Licensed items carry the contract's own monthly unit price as ``price_data`` on the product of
the mapped list price. A usage item is a metered price on the list price's meter, graduated so
the included quantity bills at 0 and the rest at the contract's overage rate; that price is made
once per contract and terms, found again by its lookup key before it is ever created.

Every write is keyed by the contract and its version: a retry after a lost answer replays the
same request (Stripe's idempotency), and the schedule is always looked up (by contract metadata)
before one is created. An amended contract (a new version) rewrites the phases still to come;
the phase in force keeps its start (Stripe's rule) and takes the amended items from now, prorated
as the command says.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import time
from decimal import Decimal
from typing import Any, cast

import stripe
from revbridge_contracts.models import PhaseItem, Subscription, SubscriptionPhase, SubscriptionUpsert

from revbridge_system.adapters.stripe import mappers
from revbridge_system.adapters.stripe.errors import stripe_errors
from revbridge_system.adapters.stripe.types import METADATA_CRM_CONTRACT, METADATA_REVISION
from revbridge_system.errors import Unprocessable, field_error

LIVE = ("active", "not_started")
MAX_LIST_PAGES = 20
log = logging.getLogger(__name__)


def ts(day: dt.date) -> int:
    """Midnight UTC of ``day``: phase boundaries fall on the contract's own dates."""
    return calendar.timegm(day.timetuple())


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def metered_lookup_key(crm_contract_id: str, item: PhaseItem) -> str:
    """The contract's own metered price: one per contract, list price and terms."""
    terms = _digest(item.billing_price_ref, item.included_quantity, item.overage_unit_amount)
    return f"rb_usage_{crm_contract_id}_{terms}"


def _decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


class Schedules:
    """Creates and converges one contract's schedule in one Stripe account."""

    def __init__(self, client: stripe.StripeClient, account: str) -> None:
        self._client = client
        self._account = account
        self._prices: dict[str, dict[str, Any]] = {}
        self._reuse: dict[tuple[str, int, str], str] = {}
        """Inline prices the schedule already has, by (product, monthly unit amount, currency): an
        amended schedule keeps them, so an unchanged item is not swapped (no zero-sum prorations)."""

    async def find(self, customer_id: str, crm_contract_id: str) -> dict[str, Any] | None:
        params: dict[str, Any] = {"customer": customer_id, "limit": 100}
        for _ in range(MAX_LIST_PAGES):
            with stripe_errors("list subscription schedules"):
                page = await self._client.v1.subscription_schedules.list_async(params=cast(Any, params))
            for item in page.data:
                raw = cast(dict[str, Any], mappers.plain(item))
                if (raw.get("metadata") or {}).get(METADATA_CRM_CONTRACT) == crm_contract_id and raw[
                    "status"
                ] in LIVE:
                    return raw
            if not page.has_more or not page.data:
                return None
            params["starting_after"] = page.data[-1].id
        return None

    async def _list_price(self, ref: str, index: str, currency: str) -> dict[str, Any]:
        if ref not in self._prices:
            with stripe_errors("list prices"):
                page = await self._client.v1.prices.list_async(params={"lookup_keys": [ref], "limit": 1})
            if not page.data:
                raise field_error(Unprocessable, index, f"no Stripe price with lookup_key {ref!r}")
            self._prices[ref] = cast(dict[str, Any], mappers.plain(page.data[0]))
        price = self._prices[ref]
        if str(price["currency"]).upper() != currency:
            raise field_error(
                Unprocessable, index, f"price is in {price['currency'].upper()}, not {currency}"
            )
        return price

    async def _metered_price(self, crm_contract_id: str, item: PhaseItem, list_price: dict[str, Any]) -> str:
        """The contract's graduated metered price (found by lookup key, else created under it)."""
        key = metered_lookup_key(crm_contract_id, item)
        with stripe_errors("list prices"):
            page = await self._client.v1.prices.list_async(params={"lookup_keys": [key], "limit": 1})
        if page.data:
            return str(page.data[0].id)
        recurring = list_price.get("recurring") or {}
        overage = item.overage_unit_amount or Decimal(0)
        included = int(item.included_quantity or 0)
        params: dict[str, Any] = {
            "product": list_price["product"],
            "currency": list_price["currency"],
            "lookup_key": key,
            "recurring": {
                "interval": recurring.get("interval", "month"),
                "interval_count": recurring.get("interval_count", 1),
                "usage_type": "metered",
                "meter": recurring.get("meter"),
            },
            "metadata": {METADATA_CRM_CONTRACT: crm_contract_id, **(list_price.get("metadata") or {})},
        }
        if included > 0:
            params |= {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [
                    {"up_to": included, "unit_amount": 0},
                    {"up_to": "inf", "unit_amount_decimal": _decimal(overage)},
                ],
            }
        else:
            params["unit_amount_decimal"] = _decimal(overage)
        with stripe_errors("create price"):
            created = await self._client.v1.prices.create_async(
                params=cast(Any, params),
                options={"idempotency_key": f"revbridge:price:{self._account}:{key}"},
            )
        return str(created.id)

    async def _phase(
        self, crm_contract_id: str, cmd: SubscriptionUpsert, index: int, phase: SubscriptionPhase
    ) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        for j, item in enumerate(phase.items):
            name = f"phases[{index}].items[{j}].billing_price_ref"
            price = await self._list_price(item.billing_price_ref, name, cmd.currency)
            if item.metered:
                items.append({"price": await self._metered_price(crm_contract_id, item, price)})
            elif item.unit_amount is None:
                items.append({"price": price["id"], "quantity": item.quantity})
            elif (
                reused := self._reuse.get((price["product"], item.unit_amount, price["currency"]))
            ) is not None:
                items.append({"price": reused, "quantity": item.quantity})
            else:
                recurring = price.get("recurring") or {}
                items.append(
                    {
                        "price_data": {
                            "currency": price["currency"],
                            "product": price["product"],
                            "recurring": {
                                "interval": recurring.get("interval", "month"),
                                "interval_count": recurring.get("interval_count", 1),
                            },
                            "unit_amount": item.unit_amount,
                        },
                        "quantity": item.quantity,
                    }
                )
        return {
            "items": items,
            "end_date": ts(phase.end_date),
            "metadata": _metadata(crm_contract_id, cmd),
        }

    async def create(self, crm_contract_id: str, cmd: SubscriptionUpsert) -> dict[str, Any]:
        phases = [await self._phase(crm_contract_id, cmd, i, p) for i, p in enumerate(cmd.phases)]
        params = {
            "customer": cmd.customer_id,
            "start_date": ts(cmd.phases[0].start_date),
            "end_behavior": "cancel",  # a term contract bills its term; a renewal opens a new schedule
            "phases": phases,
            "default_settings": {
                "collection_method": "send_invoice",
                "invoice_settings": {"days_until_due": cmd.days_until_due},
            },
            "metadata": _metadata(crm_contract_id, cmd),
            "expand": ["subscription"],
        }
        with stripe_errors("create subscription schedule"):
            created = await self._client.v1.subscription_schedules.create_async(
                params=cast(Any, params),
                options={"idempotency_key": _key("schedule", self._account, crm_contract_id, cmd.revision)},
            )
        log.info(
            "stripe.schedule.created",
            extra={"account": self._account, "crm_contract_id": crm_contract_id, "schedule_id": created.id},
        )
        return cast(dict[str, Any], mappers.plain(created))

    async def _now(self, customer_id: str) -> int:
        """The customer's billing clock: its test clock's frozen time, else the wall clock."""
        with stripe_errors("retrieve customer"):
            customer = await self._client.v1.customers.retrieve_async(customer_id)
        clock = mappers.plain(customer).get("test_clock")
        if not clock:
            return int(time.time())
        clock_id = clock if isinstance(clock, str) else clock["id"]
        with stripe_errors("retrieve test clock"):
            found = await self._client.v1.test_helpers.test_clocks.retrieve_async(clock_id)
        return int(found.frozen_time)

    async def converge(
        self, crm_contract_id: str, existing: dict[str, Any], cmd: SubscriptionUpsert
    ) -> dict[str, Any] | None:
        """Rewrite the phases still to come for a new contract version; None when nothing changes."""
        if (existing.get("metadata") or {}).get(METADATA_REVISION) == cmd.revision:
            return None
        now = await self._now(cmd.customer_id)
        with stripe_errors("retrieve subscription schedule"):
            full = await self._client.v1.subscription_schedules.retrieve_async(
                existing["id"], params={"expand": ["phases.items.price"]}
            )
        for phase in cast(dict[str, Any], mappers.plain(full)).get("phases") or []:
            for item in phase.get("items") or []:
                price = item.get("price")
                if (
                    isinstance(price, dict)
                    and not price.get("lookup_key")
                    and price.get("unit_amount") is not None
                ):
                    self._reuse[
                        (str(price["product"]), int(price["unit_amount"]), str(price["currency"]))
                    ] = price["id"]
        wanted = [
            (i, p) for i, p in enumerate(cmd.phases) if ts(p.end_date) > now
        ]  # phases wholly past stay as billed
        if not wanted:
            return None
        phases = [await self._phase(crm_contract_id, cmd, i, p) for i, p in wanted]
        current = existing.get("current_phase")
        if existing["status"] == "active" and current:
            phases[0]["start_date"] = int(current["start_date"])  # the phase in force keeps its start
        else:
            phases[0]["start_date"] = ts(wanted[0][1].start_date)
        params = {
            "phases": phases,
            "proration_behavior": cmd.proration_behavior,
            "metadata": _metadata(crm_contract_id, cmd),
            "expand": ["subscription"],
        }
        with stripe_errors("update subscription schedule"):
            updated = await self._client.v1.subscription_schedules.update_async(
                existing["id"],
                params=cast(Any, params),
                options={
                    "idempotency_key": _key(
                        "schedule-update",
                        self._account,
                        crm_contract_id,
                        cmd.revision,
                        _digest(cmd.model_dump_json(include={"phases"})),
                    )
                },
            )
        log.info(
            "stripe.schedule.updated",
            extra={
                "account": self._account,
                "crm_contract_id": crm_contract_id,
                "schedule_id": existing["id"],
                "revision": cmd.revision,
            },
        )
        return cast(dict[str, Any], mappers.plain(updated))


def _key(kind: str, account: str, crm_contract_id: str, *version: object) -> str:
    return ":".join(["revbridge", kind, account, crm_contract_id, *(str(v or "-") for v in version)])


def _metadata(crm_contract_id: str, cmd: SubscriptionUpsert) -> dict[str, str]:
    """The contract and the version it implements, as a plain subscription carries them."""
    return {METADATA_CRM_CONTRACT: crm_contract_id, **mappers.version_metadata(cmd)}


def to_subscription(raw: dict[str, Any], *, created: bool, updated: bool = False) -> Subscription:
    """The schedule as the canonical subscription: its subscription once started (the schedule's own
    id, status ``not_started``, before)."""
    sub = raw.get("subscription")
    sub_id = sub if isinstance(sub, str) else (sub or {}).get("id")
    status = (sub or {}).get("status") if isinstance(sub, dict) else None
    return Subscription(
        id=sub_id or raw["id"],
        customer_id=str(raw["customer"]) if isinstance(raw["customer"], str) else raw["customer"]["id"],
        crm_contract_id=(raw.get("metadata") or {}).get(METADATA_CRM_CONTRACT),
        status=status or ("not_started" if raw["status"] == "not_started" else raw["status"]),
        latest_invoice_id=(sub or {}).get("latest_invoice") if isinstance(sub, dict) else None,
        created=created,
        updated=updated,
        revision=(raw.get("metadata") or {}).get(METADATA_REVISION),
        schedule_id=raw["id"],
    )
