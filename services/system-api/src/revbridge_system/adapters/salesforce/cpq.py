"""Contract lines as Salesforce CPQ stores them: one subscription record per line segment, and for a
usage line its consumption rates (the included quantity and the overage price).

Which objects and fields carry this is configuration (``config/salesforce-fields.yaml``); the
defaults are CPQ's managed (``SBQQ``) fields. Field names go into SOQL, so each is checked against
the shape of an API name (or a relationship path of them) when the file is read.

A segment's ``SBQQ__NetPrice__c`` is its price per unit for the whole segment (CPQ prorates the
list price over the segment's months); revbridge bills monthly, so the canonical line carries the
monthly unit price and keeps the segment's own price beside it for the gate to check that the two
agree to the cent (``price_basis: month`` reads the field as a monthly price instead).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from revbridge_contracts.models import ChargeType, ContractLine

from revbridge_system.adapters.salesforce.mappers import soql_in
from revbridge_system.money import exponent, to_minor

FIELDS_FILE = "salesforce-fields.yaml"
API_NAME = r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$"
SfName = Field(pattern=API_NAME, max_length=200)
CHARGE_TYPES = {"Recurring": ChargeType.recurring, "Usage": ChargeType.usage, "One-Time": ChargeType.one_time}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubscriptionFields(_Strict):
    """The CPQ subscription (one record per segment of a line) and the fields read from it."""

    object: str = Field(default="SBQQ__Subscription__c", pattern=API_NAME)
    contract: str = Field(default="SBQQ__Contract__c", pattern=API_NAME)
    product_code: str = Field(default="SBQQ__Product__r.ProductCode", pattern=API_NAME)
    product_name: str = Field(default="SBQQ__Product__r.Name", pattern=API_NAME)
    quantity: str = Field(default="SBQQ__Quantity__c", pattern=API_NAME)
    segment_quantity: str = Field(default="SBQQ__SegmentQuantity__c", pattern=API_NAME)
    net_price: str = Field(default="SBQQ__NetPrice__c", pattern=API_NAME)
    price_basis: Literal["segment", "month"] = "segment"
    start_date: str = Field(default="SBQQ__StartDate__c", pattern=API_NAME)
    end_date: str = Field(default="SBQQ__EndDate__c", pattern=API_NAME)
    segment_start_date: str = Field(default="SBQQ__SegmentStartDate__c", pattern=API_NAME)
    segment_end_date: str = Field(default="SBQQ__SegmentEndDate__c", pattern=API_NAME)
    segment_index: str = Field(default="SBQQ__SegmentIndex__c", pattern=API_NAME)
    segment_label: str = Field(default="SBQQ__SegmentLabel__c", pattern=API_NAME)
    segment_key: str = Field(default="SBQQ__SegmentKey__c", pattern=API_NAME)
    charge_type: str = Field(default="SBQQ__ChargeType__c", pattern=API_NAME)
    terminated_date: str = Field(default="SBQQ__TerminatedDate__c", pattern=API_NAME)
    currency: str = Field(default="CurrencyIsoCode", pattern=API_NAME)

    def columns(self) -> list[str]:
        names = [
            "Id",
            self.contract,
            self.product_code,
            self.product_name,
            self.quantity,
            self.segment_quantity,
            self.net_price,
            self.start_date,
            self.end_date,
            self.segment_start_date,
            self.segment_end_date,
            self.segment_index,
            self.segment_label,
            self.segment_key,
            self.charge_type,
            self.terminated_date,
            self.currency,
        ]
        return list(dict.fromkeys(names))


class RateFields(_Strict):
    """A usage line's consumption rates: the price per unit in each quantity range of a period.

    guess: ranges read as Salesforce's consumption rates do (lower bound inclusive, upper bound
    exclusive), so a free tier 1-1001 includes 1,000 units.
    """

    object: str = Field(default="SBQQ__SubscriptionConsumptionRate__c", pattern=API_NAME)
    subscription: str = Field(default="SBQQ__ConsumptionSchedule__r.SBQQ__Subscription__c", pattern=API_NAME)
    lower_bound: str = Field(default="SBQQ__LowerBound__c", pattern=API_NAME)
    upper_bound: str = Field(default="SBQQ__UpperBound__c", pattern=API_NAME)
    price: str = Field(default="SBQQ__Price__c", pattern=API_NAME)
    order: str = Field(default="SBQQ__ProcessingOrder__c", pattern=API_NAME)

    def columns(self) -> list[str]:
        return list(dict.fromkeys(["Id", self.subscription, self.lower_bound, self.upper_bound, self.price]))


class CrmFields(_Strict):
    """``config/salesforce-fields.yaml``: where a contract's lines come from.

    ``cpq``: CPQ subscriptions, falling back to the contract's opportunity products when it has
    none; ``opportunity``: opportunity products only (an org without CPQ installed).
    """

    source: Literal["cpq", "opportunity"] = "cpq"
    subscription: SubscriptionFields = Field(default_factory=SubscriptionFields)
    rates: RateFields = Field(default_factory=RateFields)


def load_fields(config_dir: Path) -> CrmFields:
    """The file's settings, or CPQ's standard fields when there is no file; a bad file raises
    ``ValueError`` naming the file and entry (the system API then refuses to start)."""
    path = config_dir / FIELDS_FILE
    if not path.exists():
        return CrmFields()
    try:
        return CrmFields.model_validate(yaml.safe_load(path.read_text()) or {})
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ValueError(f"{path}: {problems}") from exc


def subscriptions_query(fields: CrmFields, contract_ids: list[str]) -> str:
    sub = fields.subscription
    return (
        f"SELECT {', '.join(sub.columns())} FROM {sub.object} WHERE {soql_in(sub.contract, contract_ids)} "
        "ORDER BY Id"
    )


def rates_query(fields: CrmFields, subscription_ids: list[str]) -> str:
    rates = fields.rates
    return (
        f"SELECT {', '.join(rates.columns())} FROM {rates.object} "
        f"WHERE {soql_in(rates.subscription, subscription_ids)} ORDER BY {rates.order}, {rates.lower_bound}"
    )


def value(row: dict[str, Any], path: str) -> Any:
    """A field of a query row by its (relationship) path: ``SBQQ__Product__r.ProductCode``."""
    current: Any = row
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = next((v for k, v in current.items() if k.lower() == part.lower()), None)
    return current


def _date(raw: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(raw)) if raw else None


def months_between(start: dt.date, end_inclusive: dt.date) -> int | None:
    """Whole months from ``start`` to the day after ``end_inclusive``; None when not whole months."""
    after = end_inclusive + dt.timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    return months if months > 0 and after.day == start.day else None


def _usage_terms(rates: list[dict[str, Any]], fields: RateFields, currency: str) -> tuple[Decimal, Decimal]:
    """(included units, overage minor units per unit) from a usage line's rates: the free range's
    size and the price of the first paid range. guess: one free and one paid range, as an included
    allowance with overage is set up; further paid ranges are ignored by this reading and named by
    the gate (the contract waits)."""
    scale = Decimal(10) ** exponent(currency)
    included = Decimal(0)
    overage: Decimal | None = None
    for rate in rates:
        price = Decimal(str(value(rate, fields.price) or 0))
        lower = Decimal(str(value(rate, fields.lower_bound) or 0))
        upper = value(rate, fields.upper_bound)
        if price == 0 and upper is not None and overage is None:
            included = max(included, Decimal(str(upper)) - max(lower, Decimal(1)))
        elif overage is None:
            overage = price * scale
    return included, (overage if overage is not None else Decimal(0)).normalize()


def to_line(
    row: dict[str, Any], fields: CrmFields, contract_currency: str, rates: list[dict[str, Any]]
) -> ContractLine:
    """One CPQ subscription record (one segment) as a canonical contract line."""
    sub = fields.subscription
    currency = str(value(row, sub.currency) or contract_currency).upper()
    charge = CHARGE_TYPES.get(str(value(row, sub.charge_type) or "Recurring"), ChargeType.recurring)
    start = _date(value(row, sub.segment_start_date)) or _date(value(row, sub.start_date))
    end = _date(value(row, sub.segment_end_date)) or _date(value(row, sub.end_date))
    terminated = _date(value(row, sub.terminated_date))
    if terminated is not None and (end is None or terminated < end):
        end = terminated  # a cancelled line ends where CPQ terminated it
    quantity_raw = value(row, sub.segment_quantity)
    if quantity_raw is None:
        quantity_raw = value(row, sub.quantity)
    quantity = round(Decimal(str(quantity_raw or 0)))
    price = to_minor(value(row, sub.net_price) or 0, currency)
    months = months_between(start, end) if start and end else None
    segment_price: int | None = None
    unit = price
    if sub.price_basis == "segment" and charge is ChargeType.recurring:
        segment_price = price
        unit = price // months if months else price  # the gate checks unit * months == segment_price
    index = value(row, sub.segment_index)
    included, overage = (None, None)
    if charge is ChargeType.usage:
        included, overage = _usage_terms(rates, fields.rates, currency)
    return ContractLine(
        id=str(row["Id"]),
        product_code=value(row, sub.product_code),
        product_name=value(row, sub.product_name),
        quantity=int(quantity),
        unit_amount=0 if charge is ChargeType.usage else unit,
        amount=0 if charge is ChargeType.usage else unit * int(quantity),
        charge_type=charge,
        start_date=start,
        end_date=end,
        segment_index=int(index) if index is not None else None,
        segment_label=value(row, sub.segment_label),
        segment_key=value(row, sub.segment_key),
        currency=currency,
        segment_unit_amount=segment_price,
        segment_months=months,
        included_quantity=included,
        overage_unit_amount=overage,
    )
