"""Seeds the demo through the platforms' own APIs, then waits for revbridge to carry it through.

The catalogue (Stripe prices by lookup key, NetSuite items) matches ``config/mappings.yaml``.
Salesforce gets a parent account and a child account, each with a contract; activating the
contracts fires the signed push that starts onboarding. The child's first invoice is then paid
in Stripe, and the seed returns once the gateway's revenue summary shows it posted and paid in
NetSuite, so "ready" means the whole chain worked.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import httpx

from scripts.ramp_contract import METER_EVENT, seed_ramp_contract, seed_stripe_meter

# Demo credentials of the sandboxes and gateway (DEMO VALUES, sandbox mode only).
STRIPE_KEY = "sk_test_revbridge_demo"
STRIPE_UK_KEY = "sk_test_revbridge_demo_uk"  # the second Stripe account: Revbridge Ltd (GB, GBP)
SF_CLIENT = ("revbridge-demo-client", "revbridge-demo-secret")
INTERNAL_CLIENT = ("revops-dashboard", "revops-demo-secret")
PARTNER_CLIENT = ("partner-demo", "partner-demo-secret")
SF_API = "/services/data/v59.0"

CATALOGUE = [
    # product code, name, Stripe price lookup key, monthly unit amount in cents (USD)
    ("PLAT-ENT", "Platform Enterprise", "plat_ent_monthly_usd", 200000),
    ("SEAT", "Additional seats", "seat_monthly_usd", 2500),
    ("SUPPORT-PREM", "Premium support", "support_prem_monthly_usd", 50000),
]
CATALOGUE_GBP = [
    # the same products in the uk account, in pence (GBP): config/mappings.yaml billing_price_refs
    ("PLAT-ENT", "Platform Enterprise", "plat_ent_monthly_gbp", 160000),
    ("SEAT", "Additional seats", "seat_monthly_gbp", 2000),
    ("SUPPORT-PREM", "Premium support", "support_prem_monthly_gbp", 40000),
]


@dataclass
class Demo:
    parent_account_id: str
    account_id: str
    parent_contract_id: str
    contract_id: str
    invoice_id: str
    uk_account_id: str | None = None
    uk_contract_id: str | None = None
    ramp_contract_id: str | None = None
    """The three-year CPQ ramp with a seat phase-in and usage overages (scripts/ramp_contract.py)."""


def poll(fn: Any, what: str, timeout: float = 60.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def seed_stripe_catalogue(
    stripe: httpx.Client, catalogue: list[tuple[str, str, str, int]] = CATALOGUE, currency: str = "usd"
) -> None:
    for code, name, lookup_key, amount in catalogue:
        existing = stripe.get("/v1/prices", params={"lookup_keys[0]": lookup_key}).raise_for_status().json()
        if existing["data"]:
            continue
        product = stripe.post("/v1/products", data={"name": name, "metadata[revbridge_product_code]": code})
        stripe.post(
            "/v1/prices",
            data={
                "product": product.raise_for_status().json()["id"],
                "currency": currency,
                "unit_amount": amount,
                "recurring[interval]": "month",
                "lookup_key": lookup_key,
                "metadata[revbridge_product_code]": code,
            },
        ).raise_for_status()


def salesforce_client(base: str) -> httpx.Client:
    token = (
        httpx.post(f"{base}/services/oauth2/token", data={"grant_type": "client_credentials"}, auth=SF_CLIENT)
        .raise_for_status()
        .json()["access_token"]
    )
    return httpx.Client(base_url=base + SF_API, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def sf_create(sf: httpx.Client, sobject: str, fields: dict[str, Any]) -> str:
    return str(sf.post(f"/sobjects/{sobject}/", json=fields).raise_for_status().json()["id"])


def seed_contract(
    sf: httpx.Client,
    account_id: str,
    products: dict[str, str],
    lines: list[tuple[str, int]],
    name: str,
    currency: str = "USD",
) -> str:
    """A draft contract with an opportunity carrying its lines; activated separately."""
    contract_id = sf_create(
        sf,
        "Contract",
        {
            "AccountId": account_id,
            "StartDate": time.strftime("%Y-%m-%d"),
            "ContractTerm": 12,
            "Status": "Draft",
            "CurrencyIsoCode": currency,
        },
    )
    opp_id = sf_create(
        sf,
        "Opportunity",
        {
            "Name": name,
            "AccountId": account_id,
            "StageName": "Closed Won",
            "CloseDate": time.strftime("%Y-%m-%d"),
            "ContractId": contract_id,
            "CurrencyIsoCode": currency,
        },
    )
    prices = {code: amount for code, _, _, amount in (CATALOGUE if currency == "USD" else CATALOGUE_GBP)}
    for code, quantity in lines:
        sf_create(
            sf,
            "OpportunityLineItem",
            {
                "OpportunityId": opp_id,
                "Product2Id": products[code],
                "Quantity": quantity,
                "UnitPrice": prices.get(code, 10000) / 100,  # unmapped codes: any price
            },
        )
    return contract_id


def activate(sf: httpx.Client, contract_id: str) -> None:
    sf.patch(f"/sobjects/Contract/{contract_id}", json={"Status": "Activated"}).raise_for_status()


def gateway_token(gateway: str, client: tuple[str, str] = INTERNAL_CLIENT) -> str:
    response = httpx.post(f"{gateway}/oauth/token", data={"grant_type": "client_credentials"}, auth=client)
    return str(response.raise_for_status().json()["access_token"])


def seed_catalogues(stack: Any) -> None:
    """Prices in both Stripe accounts (USD in ``default``, GBP in ``uk``); idempotent."""
    for key, catalogue, currency in ((STRIPE_KEY, CATALOGUE, "usd"), (STRIPE_UK_KEY, CATALOGUE_GBP, "gbp")):
        with httpx.Client(base_url=stack.url("stripe"), auth=(key, ""), timeout=10) as stripe:
            seed_stripe_catalogue(stripe, catalogue, currency)


def seed_demo(stack: Any, timeout: float = 90.0) -> Demo:
    seed_catalogues(stack)
    with httpx.Client(base_url=stack.url("stripe"), auth=(STRIPE_KEY, ""), timeout=10) as stripe:
        with salesforce_client(stack.url("salesforce")) as sf:
            products = {
                code: sf_create(sf, "Product2", {"Name": name, "ProductCode": code, "IsActive": True})
                for code, name, _, _ in CATALOGUE
            }
            parent = sf_create(
                sf, "Account", {"Name": "Globex Holdings", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
            )
            child = sf_create(
                sf,
                "Account",
                {
                    "Name": "Globex Corp US",
                    "ParentId": parent,
                    "BillingCountry": "US",
                    "CurrencyIsoCode": "USD",
                },
            )
            parent_contract = seed_contract(
                sf, parent, products, [("PLAT-ENT", 1)], "Globex Holdings platform"
            )
            contract = seed_contract(
                sf,
                child,
                products,
                [("PLAT-ENT", 1), ("SEAT", 40), ("SUPPORT-PREM", 1)],
                "Globex Corp US expansion",
            )
            # The parent is onboarded first: the hierarchy gate holds a child whose parent is not.
            activate(sf, parent_contract)
            poll(
                lambda: sf.get(f"/sobjects/Account/{parent}").json().get("ERP_Customer_Id__c"),
                "the parent account's onboarding",
                timeout,
            )
            activate(sf, contract)
            # Revbridge Ltd's customer: GB, billed in GBP by the uk Stripe account, NetSuite subsidiary 2
            uk_account = sf_create(
                sf,
                "Account",
                {
                    "Name": "Globex UK Ltd",
                    "ParentId": parent,
                    "BillingCountry": "GB",
                    "CurrencyIsoCode": "GBP",
                    "Tax_Id__c": "GB123456789",
                },
            )
            uk_contract = seed_contract(
                sf, uk_account, products, [("PLAT-ENT", 1), ("SEAT", 10)], "Globex UK rollout", "GBP"
            )
            activate(sf, uk_contract)
            subscription = poll(
                lambda: sf.get(f"/sobjects/Contract/{contract}").json().get("Billing_Subscription_Id__c"),
                "the contract's onboarding",
                timeout,
            )
            poll(
                lambda: sf.get(f"/sobjects/Contract/{uk_contract}").json().get("ERP_Customer_Id__c"),
                "the UK contract's onboarding (Revbridge Ltd)",
                timeout,
            )
            ramp = seed_ramp(stripe, sf, products)
        invoice_id = (
            stripe.get(f"/v1/subscriptions/{subscription}").raise_for_status().json()["latest_invoice"]
        )
        stripe.post(
            f"/v1/invoices/{invoice_id}/pay", data={"payment_method": "pm_card_visa"}
        ).raise_for_status()

    gateway = stack.url("gateway")
    headers = {"Authorization": f"Bearer {gateway_token(gateway)}"}

    def posted_and_paid() -> bool:
        lineage = httpx.get(
            f"{gateway}/experience/v1/lineage/contracts/{contract}", headers=headers, timeout=10
        )
        if lineage.status_code != 200:
            return False
        erp = lineage.json()["erp"]
        return any(r["record_type"] == "invoice" for r in erp) and any(
            r["record_type"] == "payment" for r in erp
        )

    poll(posted_and_paid, "the demo invoice to be posted and paid in NetSuite", timeout, interval=0.5)
    send_demo_usage(gateway, ramp)
    token = gateway_token(gateway)
    poll(  # gently: the internal client has 120 requests a minute
        lambda: any(i.get("posted") for i in ramp_lineage_view(gateway, ramp, token).get("invoices", [])),
        "the ramp contract's first invoice to be posted in NetSuite",
        timeout,
        interval=1.0,
    )
    return Demo(parent, child, parent_contract, contract, invoice_id, uk_account, uk_contract, ramp)


def seed_ramp(stripe: httpx.Client, sf: httpx.Client, products: dict[str, str]) -> str:
    """The three-year ramp contract (CPQ segments, usage line) for Globex Analytics, activated."""
    seed_stripe_meter(stripe)
    products = products | {
        "API-CALLS": sf_create(
            sf, "Product2", {"Name": "API calls", "ProductCode": "API-CALLS", "IsActive": True}
        )
    }
    account = sf_create(
        sf, "Account", {"Name": "Globex Analytics", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
    )
    start = dt.datetime.now(dt.UTC).date()
    ramp = seed_ramp_contract(
        lambda sobject, fields: sf_create(sf, sobject, fields), account, products, start, "Globex Analytics"
    )
    activate(sf, ramp.contract_id)
    return ramp.contract_id


def ramp_lineage_view(gateway: str, contract_id: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token or gateway_token(gateway)}"}
    response = httpx.get(
        f"{gateway}/experience/v2/lineage", params={"contract_id": contract_id}, headers=headers, timeout=10
    )
    contracts = response.json().get("contracts", []) if response.status_code == 200 else []
    return dict(contracts[0]) if contracts else {}


def ramp_lineage(gateway: str, contract_id: str) -> list[str]:
    """The ramp contract's lineage as ``make run`` prints it: CRM -> Stripe -> NetSuite, with amounts."""
    view = ramp_lineage_view(gateway, contract_id)

    def rec(label: str, record: dict[str, Any] | None) -> str:
        if not record:
            return f"{label:<18} (not yet)"
        amount = (
            f"  {record['amount'] / 100:,.2f} {record['currency']}"
            if record.get("amount") is not None
            else ""
        )
        return f"{label:<18} {record['system']}:{record['record_type']} {record['id']}{amount}"

    out = [
        rec("contract (booked)", view.get("contract")),
        rec("billing customer", view.get("billing_customer")),
        rec("subscription", view.get("subscription")),
        rec("ERP customer", view.get("erp_customer")),
    ]
    for invoice in view.get("invoices", []):
        out.append(rec("invoice (billed)", invoice.get("billed")))
        out.append(rec("  posted", invoice.get("posted")))
        out += [rec("  revenue", j) for j in invoice.get("journal_entries", [])]
    return out


def send_demo_usage(gateway: str, contract_id: str, timeout: float = 60.0) -> None:
    """A first batch of API-call usage for the ramp contract, as a partner sends it."""
    token = gateway_token(gateway, PARTNER_CLIENT)
    now = dt.datetime.now(dt.UTC).isoformat()
    batch = {
        "events": [
            {
                "event_id": f"demo-{contract_id}-{i}",
                "contract_id": contract_id,
                "meter": METER_EVENT,
                "quantity": "2500",
                "timestamp": now,
            }
            for i in range(4)
        ]
    }

    attempts = iter(range(1_000_000))

    def accepted() -> bool:  # once the contract is onboarded its usage is taken (event ids dedupe)
        response = httpx.post(
            f"{gateway}/process/v1/usage/events",
            json=batch,
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": f"demo-usage-{contract_id}-{next(attempts)}",
            },
            timeout=10,
        )
        return response.status_code == 200 and all(
            e["status"] in ("accepted", "duplicate") for e in response.json()["results"]
        )

    poll(accepted, "the ramp contract's usage to be accepted", timeout, interval=0.5)


def try_it(gw: str, contract_id: str) -> list[str]:
    """The shell lines ``make run`` prints and the README shows, one per main v2 endpoint; the
    README's copies are checked against these (tests/unit/test_readme.py)."""
    client_id, secret = INTERNAL_CLIENT
    auth = '-H "Authorization: Bearer $TOKEN"'
    return [
        f"TOKEN=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials {gw}/oauth/token"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f"CONTRACT={contract_id}",
        f"curl -s {auth} {gw}/experience/v2/revenue/summary",
        f'curl -s {auth} "{gw}/experience/v2/revenue/waterfall?months=12&entity=US"',
        f'curl -s {auth} "{gw}/experience/v2/lineage?contract_id=$CONTRACT"',
        f"curl -s {auth} {gw}/experience/v2/operations/metrics",
        f'curl -s {auth} "{gw}/experience/v2/exceptions?status=open"',
        f'curl -s {auth} "{gw}/experience/v2/audit?limit=20"',
    ]


def banner(stack: Any, demo: Demo, elapsed: float) -> str:
    gw = stack.url("gateway")
    client_id, secret = INTERNAL_CLIENT
    lines = "\n".join(f"  {line}" for line in try_it(gw, demo.contract_id))
    ramp = (
        "\n".join(f"  {line}" for line in ramp_lineage(gw, demo.ramp_contract_id))
        if demo.ramp_contract_id
        else ""
    )
    return f"""
revbridge is ready ({elapsed:.0f}s).

  gateway            {gw}
  demo client        {client_id} / {secret}   (DEMO VALUES)
  partner client     {PARTNER_CLIENT[0]} / {PARTNER_CLIENT[1]}   (DEMO VALUES)
  demo contract      {demo.contract_id} (invoice {demo.invoice_id}, posted and paid in NetSuite)
  UK demo contract   {demo.uk_contract_id} (Revbridge Ltd: GBP, Stripe account uk, NetSuite subsidiary 2)
  ramp contract      {demo.ramp_contract_id} (3 years: yearly price ramps, 100 then 250 seats, API-call overage)
  sandboxes          Stripe {stack.url("stripe")}  Salesforce {stack.url("salesforce")}  NetSuite {stack.url("netsuite")}
  logs               {stack.log_dir}

The ramp contract's lineage (first month billed; API-call usage is queued for Stripe):

{ramp}

A token, then the revenue summary, the demo contract's lineage, the operations metrics and the
open exceptions (all v2):

{lines}

Ctrl-C stops everything.
"""
