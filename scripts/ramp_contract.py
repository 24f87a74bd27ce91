"""The seed's contract as Salesforce CPQ holds it: a three-year ramp with a seat phase-in and usage.

Written through the org's REST API as CPQ would write it on contracting: one ``SBQQ__Subscription__c``
per line segment (platform fee at a different price each year; 100 seats for the first three
months, then 250, re-priced each year) and a usage line (API calls) whose consumption rates
include 100,000 calls a month and bill the rest at $0.002 a call. Prices are CPQ's net prices per
unit for each whole segment. Also seeds the Stripe side a usage line needs: the meter and the list
metered price (``config/mappings.yaml`` ``meters``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from revbridge_process.flows.amendments import add_months

METER_EVENT = "api_calls"
METER_PRICE = "api_calls_overage_usd"
INCLUDED_CALLS = 100_000
OVERAGE_PER_CALL = "0.002"  # USD per call beyond the included quantity
TERM_MONTHS = 36

# (product code, first month, months, quantity, net price per unit for the segment in USD, label)
SEGMENTS = [
    ("PLAT-ENT", 0, 12, 1, "24000.00", "Year 1"),
    ("PLAT-ENT", 12, 12, 1, "26400.00", "Year 2"),
    ("PLAT-ENT", 24, 12, 1, "28800.00", "Year 3"),
    ("SEAT", 0, 3, 100, "75.00", "Year 1 onboarding"),
    ("SEAT", 3, 9, 250, "225.00", "Year 1"),
    ("SEAT", 12, 12, 250, "330.00", "Year 2"),
    ("SEAT", 24, 12, 250, "360.00", "Year 3"),
]


@dataclass
class RampContract:
    contract_id: str
    start: dt.date
    monthly: list[int]
    """The recurring amount billed for each month of the term, in cents (what each invoice bills
    before usage)."""


def monthly_recurring() -> list[int]:
    """Cents billed in each month of the term before usage (the segments' monthly prices)."""
    out = [0] * TERM_MONTHS
    for _, first, months, quantity, price, _ in SEGMENTS:
        cents = int(Decimal(price) * 100)
        for m in range(first, first + months):
            out[m] += cents // months * quantity
    return out


def seed_ramp_contract(
    sf_create: Any, account_id: str, products: dict[str, str], start: dt.date, name: str = "Ramp deal"
) -> RampContract:
    """A draft contract with CPQ subscriptions (activate it separately). ``sf_create(sobject, fields)``
    creates one record and answers its id; ``products`` maps product code -> Product2 id (it must
    hold PLAT-ENT, SEAT and API-CALLS)."""
    contract_id = sf_create(
        "Contract",
        {
            "AccountId": account_id,
            "StartDate": start.isoformat(),
            "ContractTerm": TERM_MONTHS,
            "Status": "Draft",
            "CurrencyIsoCode": "USD",
        },
    )
    for code, first, months, quantity, price, label in SEGMENTS:
        seg_start = add_months(start, first)
        seg_end = add_months(start, first + months) - dt.timedelta(days=1)
        sf_create(
            "SBQQ__Subscription__c",
            {
                "SBQQ__Contract__c": contract_id,
                "SBQQ__Account__c": account_id,
                "SBQQ__Product__c": products[code],
                "SBQQ__Quantity__c": quantity,
                "SBQQ__SegmentQuantity__c": quantity,
                "SBQQ__NetPrice__c": float(price),
                "SBQQ__StartDate__c": start.isoformat(),
                "SBQQ__EndDate__c": (add_months(start, TERM_MONTHS) - dt.timedelta(days=1)).isoformat(),
                "SBQQ__SegmentStartDate__c": seg_start.isoformat(),
                "SBQQ__SegmentEndDate__c": seg_end.isoformat(),
                "SBQQ__SegmentIndex__c": sum(1 for s in SEGMENTS if s[0] == code and s[1] <= first),
                "SBQQ__SegmentLabel__c": label,
                "SBQQ__SegmentKey__c": f"{name}:{code}",
                "SBQQ__ChargeType__c": "Recurring",
                "SBQQ__BillingFrequency__c": "Monthly",
                "SBQQ__BillingType__c": "Advance",
                "CurrencyIsoCode": "USD",
            },
        )
    usage = sf_create(
        "SBQQ__Subscription__c",
        {
            "SBQQ__Contract__c": contract_id,
            "SBQQ__Account__c": account_id,
            "SBQQ__Product__c": products["API-CALLS"],
            "SBQQ__Quantity__c": 1,
            "SBQQ__NetPrice__c": 0,
            "SBQQ__StartDate__c": start.isoformat(),
            "SBQQ__EndDate__c": (add_months(start, TERM_MONTHS) - dt.timedelta(days=1)).isoformat(),
            "SBQQ__ChargeType__c": "Usage",
            "SBQQ__BillingType__c": "Arrears",
            "SBQQ__BillingFrequency__c": "Monthly",
            "CurrencyIsoCode": "USD",
        },
    )
    schedule = sf_create(
        "SBQQ__SubscriptionConsumptionSchedule__c",
        {
            "SBQQ__Subscription__c": usage,
            "SBQQ__Type__c": "Range",
            "SBQQ__RatingMethod__c": "Tier",
            "SBQQ__BillingTerm__c": 1,
            "SBQQ__BillingTermUnit__c": "Month",
            "SBQQ__UnitOfMeasure__c": "API call",
        },
    )
    for order, (lower, upper, price) in enumerate(
        ((1, INCLUDED_CALLS + 1, "0"), (INCLUDED_CALLS + 1, None, OVERAGE_PER_CALL)), start=1
    ):
        sf_create(
            "SBQQ__SubscriptionConsumptionRate__c",
            {
                "SBQQ__ConsumptionSchedule__c": schedule,
                "SBQQ__LowerBound__c": lower,
                "SBQQ__UpperBound__c": upper,
                "SBQQ__Price__c": float(price),  # a JSON number, as the REST API takes currency fields
                "SBQQ__PricingMethod__c": "PerUnit",
                "SBQQ__ProcessingOrder__c": order,
            },
        )
    return RampContract(contract_id, start, monthly_recurring())


def seed_stripe_meter(stripe: httpx.Client) -> None:
    """The API-calls meter and its list metered price in one Stripe account; idempotent."""
    found = stripe.get("/v1/prices", params={"lookup_keys[0]": METER_PRICE}).raise_for_status().json()
    if found["data"]:
        return
    meter = stripe.post(
        "/v1/billing/meters",
        data={
            "display_name": "API calls",
            "event_name": METER_EVENT,
            "default_aggregation[formula]": "sum",
            "customer_mapping[event_payload_key]": "stripe_customer_id",
            "customer_mapping[type]": "by_id",
            "value_settings[event_payload_key]": "value",
        },
    ).raise_for_status()
    product = stripe.post(
        "/v1/products", data={"name": "API calls", "metadata[revbridge_product_code]": "API-CALLS"}
    ).raise_for_status()
    stripe.post(
        "/v1/prices",
        data={
            "product": product.json()["id"],
            "currency": "usd",
            "unit_amount_decimal": "0.2",
            "recurring[interval]": "month",
            "recurring[usage_type]": "metered",
            "recurring[meter]": meter.json()["id"],
            "lookup_key": METER_PRICE,
            "metadata[revbridge_product_code]": "API-CALLS",
        },
    ).raise_for_status()
