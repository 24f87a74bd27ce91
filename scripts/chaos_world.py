"""The world a chaos run (or the pipeline bench) starts from, created through the platforms' own APIs.

Legal entities come from ``config/mappings.yaml`` (one customer set per entity, round robin), the
Stripe keys of their billing accounts from the stack's ``STRIPE_ACCOUNTS`` (the demo key when it
is not set). Before the faults go on, the harness creates what a company already has: the Stripe
catalogue, Salesforce products, accounts and draft contracts with their opportunity lines, and a
Stripe customer per account on its entity's test clock (tagged with the CRM account id, so
revbridge's onboarding adopts it instead of creating one: that is what lets the clock renew the
subscription revbridge creates, month after month). A few contracts carry products that
``config/mappings.yaml`` does not map: the pre-flight gate must hold them as ``mapping_missing``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from scripts import seed
from scripts.chaos_http import call, stripe_form

SF_COLLECTIONS = seed.SF_API + "/composite/sobjects"
DEMO_ACCOUNTS = {"default": seed.STRIPE_KEY, "uk": "sk_test_revbridge_demo_uk"}  # DEMO VALUES (sandbox)
UNIT_AMOUNTS = {code: amount for code, _, _, amount in seed.CATALOGUE}


@dataclass(frozen=True)
class Entity:
    country: str
    currency: str
    subsidiary_id: str
    billing_account: str
    secret_key: str


@dataclass(frozen=True)
class Scenario:
    customers: int = 200
    invoices: int = 5000
    unmapped: int = 4
    paid_share: float = 0.85
    declined_share: float = 0.03
    seed: int = 7
    probes: int = 0
    """Extra customers, each on a test clock of its own: one invoice at a time, for latency probes."""

    @property
    def months(self) -> int:
        """Renewals per subscription: the first invoice comes with the subscription itself."""
        return max(0, math.ceil(self.invoices / self.customers) - 1)


@dataclass
class Account:
    index: int
    entity: Entity
    lines: list[tuple[str, int]]
    unmapped_codes: list[str] = field(default_factory=list)
    probe: bool = False
    crm_account_id: str = ""
    contract_id: str = ""
    stripe_customer_id: str = ""


@dataclass
class World:
    entities: list[Entity]
    accounts: list[Account]
    clocks: dict[str, str] = field(default_factory=dict)  # billing account -> test clock id
    probe_clocks: dict[int, str] = field(default_factory=dict)  # probe account index -> its clock
    clock_start: int = 0

    @property
    def mapped(self) -> list[Account]:
        """Every account whose contract onboards (probes included)."""
        return [a for a in self.accounts if not a.unmapped_codes]

    @property
    def renewing(self) -> list[Account]:
        """The accounts on the entities' shared clocks (``advance`` renews them together)."""
        return [a for a in self.mapped if not a.probe]

    @property
    def probes(self) -> list[Account]:
        return [a for a in self.accounts if a.probe]

    @property
    def unmapped(self) -> list[Account]:
        return [a for a in self.accounts if a.unmapped_codes]


def mappings(config_dir: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((config_dir / "mappings.yaml").read_text()))


def stripe_keys(stack_env: dict[str, str]) -> dict[str, str]:
    """Billing account name -> Stripe secret key, as the system API is configured."""
    raw = stack_env.get("STRIPE_ACCOUNTS") or os.environ.get("STRIPE_ACCOUNTS")
    return {k: v["secret_key"] for k, v in json.loads(raw).items()} if raw else dict(DEMO_ACCOUNTS)


def load_entities(config_dir: Path, stack_env: dict[str, str]) -> list[Entity]:
    keys = stripe_keys(stack_env)
    out = []
    for country, spec in mappings(config_dir)["legal_entities"].items():
        account = str(spec["billing_account"])
        if account not in keys:
            raise SystemExit(
                f"config/mappings.yaml: entity {country} bills through {account!r}, not in STRIPE_ACCOUNTS"
            )
        out.append(Entity(country, str(spec["currency"]), str(spec["subsidiary_id"]), account, keys[account]))
    return out


def price_ref(product: dict[str, Any], entity: Entity) -> str | None:
    """The Stripe lookup key of a mapped product for this entity (one key, or one per currency/account)."""
    refs = product.get("billing_price_refs")
    if isinstance(refs, dict):
        found = refs.get(entity.currency) or refs.get(entity.billing_account)
        if found:
            return str(found)
    ref = product.get("billing_price_ref")
    return str(ref) if ref else None


def plan_accounts(scenario: Scenario, entities: list[Entity], mapped_codes: list[str]) -> list[Account]:
    rng = random.Random(scenario.seed)
    accounts = []
    for i in range(scenario.customers + scenario.unmapped + scenario.probes):
        lines = [(mapped_codes[0], 1)] + [
            (c, rng.randint(1, 40)) for c in mapped_codes[1:] if rng.random() < 0.7
        ]
        account = Account(i, entities[i % len(entities)], lines)
        if scenario.customers <= i < scenario.customers + scenario.unmapped:  # unmapped: one product each
            k = i - scenario.customers
            account.unmapped_codes = [f"UNMAPPED-{k + 1}"] + (["UNMAPPED-EXTRA"] if k == 0 else [])
            account.lines += [(code, 1) for code in account.unmapped_codes]
        if i >= scenario.customers + scenario.unmapped:  # a probe: one line, its own clock
            account.probe, account.lines = True, lines[:1]
        accounts.append(account)
    return accounts


class Platforms:
    """Async clients for the three sandboxes, as the harness's users reach them."""

    def __init__(self, urls: dict[str, str], entities: list[Entity], timeout: float = 5.0) -> None:
        self.urls = urls
        limits = httpx.Limits(max_connections=32)
        self.stripe = {
            e.billing_account: httpx.AsyncClient(
                base_url=urls["stripe"], auth=(e.secret_key, ""), timeout=timeout, limits=limits
            )
            for e in entities
        }
        self.sf = httpx.AsyncClient(base_url=urls["salesforce"] + seed.SF_API, timeout=timeout, limits=limits)
        self.admin = httpx.AsyncClient(timeout=60.0)

    async def login(self) -> None:
        token = await call(
            self.admin,
            "POST",
            self.urls["salesforce"] + "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=seed.SF_CLIENT,
        )
        self.sf.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    async def aclose(self) -> None:
        for client in [*self.stripe.values(), self.sf, self.admin]:
            await client.aclose()


async def listen_to_revbridge_events(p: Platforms) -> None:
    """Narrow revbridge's Stripe endpoints to the event types the system API consumes, as a real
    deployment registers them (the sandbox's configured endpoint takes ``*``). A month of renewals
    then sends one webhook per invoice instead of several per invoice, subscription and item."""
    from revbridge_system.adapters.stripe.mappers import EVENT_TYPES  # what the system API maps

    for stripe in p.stripe.values():
        endpoints = (await call(stripe, "GET", "/v1/webhook_endpoints", params={"limit": 100})).json()["data"]
        for endpoint in endpoints:
            if "/v1/webhooks/stripe/" in endpoint["url"]:
                params = stripe_form({"enabled_events": sorted(EVENT_TYPES)})
                await call(stripe, "POST", f"/v1/webhook_endpoints/{endpoint['id']}", data=params)


async def sf_create_all(p: Platforms, sobject: str, rows: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(rows), 200):
        records = [{"attributes": {"type": sobject}, **row} for row in rows[start : start + 200]]
        response = await call(
            p.sf, "POST", "/composite/sobjects", json={"allOrNone": True, "records": records}
        )
        results = response.json()
        if not all(r.get("success") for r in results):
            raise RuntimeError(f"creating {sobject}: {results[:3]}")
        ids += [str(r["id"]) for r in results]
    return ids


async def seed_catalogue(p: Platforms, entities: list[Entity], config_dir: Path) -> None:
    products = mappings(config_dir)["products"]
    for entity in entities:
        stripe = p.stripe[entity.billing_account]
        for code, product in products.items():
            ref = price_ref(product, entity)
            if ref is None:
                continue
            found = await call(stripe, "GET", "/v1/prices", params={"lookup_keys[0]": ref})
            if found.json()["data"]:
                continue
            meta = {"revbridge_product_code": code}
            created = await call(
                stripe, "POST", "/v1/products", data=stripe_form({"name": product["name"], "metadata": meta})
            )
            price = {
                "product": created.json()["id"],
                "currency": entity.currency.lower(),
                "unit_amount": UNIT_AMOUNTS.get(code, 10000),
                "recurring": {"interval": "month"},
                "lookup_key": ref,
                "metadata": meta,
            }
            await call(stripe, "POST", "/v1/prices", data=stripe_form(price))


async def seed_world(p: Platforms, scenario: Scenario, entities: list[Entity], config_dir: Path) -> World:
    """Catalogue, CRM accounts with draft contracts, and billing customers on test clocks."""
    await seed_catalogue(p, entities, config_dir)
    mapped_codes = list(mappings(config_dir)["products"])
    world = World(entities, plan_accounts(scenario, entities, mapped_codes))
    codes = sorted({code for a in world.accounts for code, _ in a.lines})
    product_ids = dict(
        zip(
            codes,
            await sf_create_all(
                p, "Product2", [{"Name": c, "ProductCode": c, "IsActive": True} for c in codes]
            ),
            strict=True,
        )
    )
    today = time.strftime("%Y-%m-%d")
    rows = [
        {
            "Name": f"Chaos Customer {a.index:05d}",
            "BillingCountry": a.entity.country,
            "CurrencyIsoCode": a.entity.currency,
            "Tax_Id__c": f"{a.entity.country}{100000000 + a.index}",
        }
        for a in world.accounts
    ]
    for account, crm_id in zip(world.accounts, await sf_create_all(p, "Account", rows), strict=True):
        account.crm_account_id = crm_id
    contracts = [
        {
            "AccountId": a.crm_account_id,
            "StartDate": today,
            "ContractTerm": 24,
            "Status": "Draft",
            "CurrencyIsoCode": a.entity.currency,
        }
        for a in world.accounts
    ]
    for account, contract_id in zip(
        world.accounts, await sf_create_all(p, "Contract", contracts), strict=True
    ):
        account.contract_id = contract_id
    opps = [
        {
            "Name": f"Chaos {a.index:05d}",
            "AccountId": a.crm_account_id,
            "StageName": "Closed Won",
            "CloseDate": today,
            "ContractId": a.contract_id,
            "CurrencyIsoCode": a.entity.currency,
        }
        for a in world.accounts
    ]
    opp_ids = await sf_create_all(p, "Opportunity", opps)
    lines = [
        {
            "OpportunityId": opp,
            "Product2Id": product_ids[code],
            "Quantity": qty,
            "UnitPrice": UNIT_AMOUNTS.get(code, 10000) / 100,
        }
        for a, opp in zip(world.accounts, opp_ids, strict=True)
        for code, qty in a.lines
    ]
    await sf_create_all(p, "OpportunityLineItem", lines)
    await seed_billing_customers(p, world)
    return world


async def seed_billing_customers(p: Platforms, world: World) -> None:
    world.clock_start = int(time.time())
    for entity in world.entities:
        stripe = p.stripe[entity.billing_account]
        clock = await call(
            stripe,
            "POST",
            "/v1/test_helpers/test_clocks",
            data={"frozen_time": world.clock_start, "name": f"chaos {entity.country}"},
        )
        world.clocks[entity.billing_account] = clock.json()["id"]
    for account in world.probes:
        stripe = p.stripe[account.entity.billing_account]
        body = {"frozen_time": world.clock_start, "name": f"probe {account.index}"}
        world.probe_clocks[account.index] = (
            await call(stripe, "POST", "/v1/test_helpers/test_clocks", data=body)
        ).json()["id"]
    gate = asyncio.Semaphore(8)

    async def one(account: Account) -> None:
        clock = world.probe_clocks.get(account.index) or world.clocks[account.entity.billing_account]
        params = {
            "name": f"Chaos Customer {account.index:05d}",
            "test_clock": clock,
            "address": {"country": account.entity.country},
            "metadata": {
                "revbridge_crm_account_id": account.crm_account_id,
                "revbridge_currency": account.entity.currency,
            },
        }
        async with gate:
            created = await call(
                p.stripe[account.entity.billing_account],
                "POST",
                "/v1/customers",
                data=stripe_form(params),
                headers={"Idempotency-Key": f"chaos-customer-{account.crm_account_id}"},
            )
        account.stripe_customer_id = created.json()["id"]

    await asyncio.gather(*(one(a) for a in world.accounts))
