"""What the platforms' users do while revbridge runs: sales activates contracts, time passes on the
billing test clocks (each month renews every subscription: one finalized invoice each), and billing
collects (most invoices paid by card, a few declined, the rest left open).
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from scripts.chaos_http import call
from scripts.chaos_world import Account, Platforms, Scenario, World

DAY = 86400


@dataclass
class Tally:
    invoices: int = 0
    paid: int = 0
    declined: int = 0
    left_open: int = 0


async def activate(p: Platforms, accounts: list[Account], batch: int = 25) -> None:
    """Sales activates contracts in batches; each activation fires Salesforce's signed push."""
    for start in range(0, len(accounts), batch):
        records = [
            {"attributes": {"type": "Contract"}, "id": a.contract_id, "Status": "Activated"}
            for a in accounts[start : start + batch]
        ]
        response = await call(
            p.sf, "PATCH", "/composite/sobjects", json={"allOrNone": True, "records": records}
        )
        failed = [r for r in response.json() if not r.get("success")]
        if failed:
            raise RuntimeError(f"activating contracts: {failed[:3]}")


async def subscribed_contracts(p: Platforms, world: World) -> set[str]:
    """CRM contract ids that have a Stripe subscription (revbridge's onboarding got that far)."""
    found: set[str] = set()
    for account in {e.billing_account for e in world.entities}:
        params: dict[str, str | int] = {"status": "all", "limit": 100}
        while True:
            page = (await call(p.stripe[account], "GET", "/v1/subscriptions", params=params)).json()
            found |= {s["metadata"].get("revbridge_crm_contract_id", "") for s in page["data"]}
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
    return found


async def wait_subscribed(p: Platforms, world: World, timeout: float) -> float:
    started = time.monotonic()
    want = {a.contract_id for a in world.mapped}  # probes too
    while not want <= await subscribed_contracts(p, world):
        if time.monotonic() - started > timeout:
            missing = want - await subscribed_contracts(p, world)
            raise TimeoutError(f"{len(missing)} contracts not onboarded after {timeout:.0f}s")
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def add_months(ts: int, months: int) -> int:
    start = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return int(start.replace(year=year, month=month + 1, day=day).timestamp())


async def advance(
    p: Platforms, world: World, month: int, timeout: float = 120.0, clocks: dict[str, str] | None = None
) -> None:
    """Move clocks (default: every entity's shared clock; else ``{clock: billing account}``) a day
    past the ``month``-th renewal and wait until they are ready."""
    target = add_months(world.clock_start, month) + DAY
    chosen = clocks if clocks is not None else {clock: account for account, clock in world.clocks.items()}
    for clock, account in chosen.items():
        await call(
            p.stripe[account],
            "POST",
            f"/v1/test_helpers/test_clocks/{clock}/advance",
            data={"frozen_time": target},
            headers={"Idempotency-Key": f"chaos-advance-{clock}-{month}"},
        )
    deadline = time.monotonic() + timeout
    for clock, account in chosen.items():
        while True:
            body = (await call(p.stripe[account], "GET", f"/v1/test_helpers/test_clocks/{clock}")).json()
            if body["status"] == "ready" and int(body["frozen_time"]) >= target:
                break
            if body["status"] == "internal_failure" or time.monotonic() > deadline:
                raise RuntimeError(f"test clock {clock} is {body['status']}")
            await asyncio.sleep(0.2)


async def open_invoices(stripe: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    params: dict[str, str | int] = {"status": "open", "limit": 100}
    while True:
        page = (await call(stripe, "GET", "/v1/invoices", params=params)).json()
        ids += [inv["id"] for inv in page["data"]]
        if not page["has_more"]:
            return ids
        params["starting_after"] = page["data"][-1]["id"]


def _decline_or_paid(response: httpx.Response) -> bool:
    """A declined card (402) is an outcome, and so is "already paid" after a lost answer."""
    return response.status_code == 402 or (response.status_code == 400 and "already paid" in response.text)


async def collect(p: Platforms, world: World, scenario: Scenario, decided: set[str], tally: Tally) -> None:
    """Billing's pass over every open invoice not seen before: pay, decline or leave open."""
    gate = asyncio.Semaphore(8)

    async def settle(stripe: httpx.AsyncClient, invoice_id: str) -> None:
        roll = random.Random(f"{scenario.seed}:{invoice_id}").random()
        if roll >= scenario.paid_share + scenario.declined_share:
            tally.left_open += 1
            return
        declined = roll >= scenario.paid_share
        method = "pm_card_chargeDeclined" if declined else "pm_card_visa"
        async with gate:
            await call(
                stripe,
                "POST",
                f"/v1/invoices/{invoice_id}/pay",
                data={"payment_method": method},
                headers={"Idempotency-Key": f"chaos-pay-{invoice_id}"},
                accept=_decline_or_paid,
            )
        if declined:
            tally.declined += 1
        else:
            tally.paid += 1

    for account in {e.billing_account for e in world.entities}:
        stripe = p.stripe[account]
        fresh = [i for i in await open_invoices(stripe) if i not in decided]
        decided.update(fresh)
        tally.invoices += len(fresh)
        await asyncio.gather(*(settle(stripe, i) for i in fresh))


async def run_months(
    p: Platforms,
    world: World,
    scenario: Scenario,
    on_month: Callable[[int], Awaitable[None]] | None = None,
) -> Tally:
    """Month 0 collects the subscriptions' first invoices; each later month renews and collects."""
    decided: set[str] = set()
    tally = Tally()
    for month in range(scenario.months + 1):
        if month:
            await advance(p, world, month)
        await collect(p, world, scenario, decided, tally)
        if on_month is not None:
            await on_month(month)
    return tally
