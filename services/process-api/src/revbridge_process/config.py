"""Loads and validates ``config/mappings.yaml``, ``exceptions.yaml``, ``retry-policies.yaml`` and
``flows.yaml`` at start-up.

A wrong mapping would bill or post the wrong thing, so an invalid file stops start-up with a
message naming the file, the entry and the problem, instead of failing later on one contract.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from revbridge_contracts.models import Currency
from revbridge_contracts.process import ErrorClass

from revbridge_process.retry import RetryPolicy

MAPPINGS_FILE = "mappings.yaml"
EXCEPTIONS_FILE = "exceptions.yaml"
RETRIES_FILE = "retry-policies.yaml"
FLOWS_FILE = "flows.yaml"
Step = Literal[
    "onboarding",
    "crm_writeback",
    "invoice_posting",
    "invoice_dunning",
    "invoice_voiding",
    "credit_posting",
    "refund_posting",
    "dispute_posting",
]
"""Flow steps a retry policy can name: the worker's flows, plus onboarding's CRM write-back."""
RETRYABLE = frozenset({ErrorClass.upstream_unavailable, ErrorClass.rate_limited, ErrorClass.conflict})
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class ConfigError(ValueError):
    """Configuration that must not be run with; the message names file, entry and problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductMapping(_Strict):
    name: str | None = None
    billing_price_ref: str = Field(min_length=1, description="Stripe price lookup_key")
    billing_price_refs: dict[Currency, str] = Field(
        default_factory=dict, description="lookup_key per currency, where it differs from billing_price_ref"
    )
    erp_item_id: str = Field(min_length=1, description="NetSuite item internal id")

    def price_ref(self, currency: str) -> str:
        """The Stripe price that bills this product in ``currency``."""
        return self.billing_price_refs.get(currency, self.billing_price_ref)


class MeterMapping(_Strict):
    """A usage product: the CRM product code of a usage line -> its Stripe Billing Meter and NetSuite item.

    ``billing_price_ref`` names the list metered price on the meter (per currency where it differs);
    a contract's own included quantity and overage rate become a graduated price derived from it
    (same product, same meter), so usage bills at the contract's terms.
    """

    name: str | None = None
    event_name: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$", description="Stripe meter event_name"
    )
    billing_price_ref: str = Field(min_length=1, description="Stripe lookup_key of the list metered price")
    billing_price_refs: dict[Currency, str] = Field(default_factory=dict)
    erp_item_id: str = Field(min_length=1, description="NetSuite item internal id of the overage line")

    def price_ref(self, currency: str) -> str:
        return self.billing_price_refs.get(currency, self.billing_price_ref)


class LegalEntity(_Strict):
    name: str = Field(min_length=1)
    subsidiary_id: str = Field(min_length=1)
    currency: Currency
    billing_account: str = Field(min_length=1, pattern=r"^[a-z0-9_-]+$")


class TaxRule(_Strict):
    """How one billing country is taxed: the ERP tax code, and whether a tax id is required."""

    tax_code: str = Field(min_length=1, max_length=60)
    tax_id_required: bool = Field(
        default=False, description="B2B VAT countries: a tax id (or an exemption) must be on the account"
    )


class TaxMappings(_Strict):
    countries: dict[CountryCode, TaxRule] = Field(default_factory=dict)
    exempt_tax_code: str | None = Field(
        default=None, min_length=1, max_length=60, description="for accounts marked tax exempt"
    )


class Ledger(_Strict):
    """GL accounts (NetSuite internal ids) the revenue journal entries move amounts between."""

    deferred_revenue_account: str = Field(default="3", min_length=1)
    revenue_account: str = Field(default="4", min_length=1)


class Mappings(_Strict):
    products: dict[str, ProductMapping] = Field(min_length=1)
    meters: dict[str, MeterMapping] = Field(
        default_factory=dict, description="usage products by CRM product code"
    )
    tax: TaxMappings = Field(default_factory=TaxMappings)
    ledger: Ledger = Field(default_factory=Ledger)
    legal_entities: dict[CountryCode, LegalEntity] = Field(min_length=1)

    def erp_item_of(self, product_code: str | None) -> str | None:
        """The NetSuite item a billed line of ``product_code`` posts to (a product or a usage product)."""
        mapping = self.products.get(product_code or "") or self.meters.get(product_code or "")
        return mapping.erp_item_id if mapping is not None else None

    def meter_by_event(self, event_name: str) -> tuple[str, MeterMapping] | None:
        """The usage product (code, mapping) whose meter is ``event_name``; None when none is."""
        for code, meter in self.meters.items():
            if meter.event_name == event_name:
                return code, meter
        return None

    def billing_accounts(self) -> list[str]:
        return sorted({entity.billing_account for entity in self.legal_entities.values()})

    def entity_of_account(self, billing_account: str) -> tuple[str, LegalEntity] | None:
        """The legal entity (code, entity) a billing account bills; None for an unknown account."""
        for code, entity in self.legal_entities.items():
            if entity.billing_account == billing_account:
                return code, entity
        return None


class DunningPolicy(_Strict):
    exception_after_attempts: int = Field(
        default=3, ge=1, le=100, description="failed attempts on one invoice that page its owner"
    )


class RevenuePolicy(_Strict):
    recognize_on_posting: bool = Field(
        default=True, description="post the periods already due when an invoice is posted"
    )


class AmendmentPolicy(_Strict):
    proration_behavior: Literal["create_prorations", "none", "always_invoice"] = "create_prorations"


class UsagePolicy(_Strict):
    late: Literal["bill_next_period", "exception"] = Field(
        default="bill_next_period",
        description="usage for a period already invoiced: bill it in the current period, or raise an "
        "exception (class usage_late) for revops and send nothing",
    )


class FlowPolicies(_Strict):
    """``config/flows.yaml``: business thresholds and choices of the flows (all optional)."""

    dunning: DunningPolicy = Field(default_factory=DunningPolicy)
    revenue: RevenuePolicy = Field(default_factory=RevenuePolicy)
    amendments: AmendmentPolicy = Field(default_factory=AmendmentPolicy)
    usage: UsagePolicy = Field(default_factory=UsagePolicy)


class ExceptionPolicy(_Strict):
    owner: str = Field(min_length=1)
    sla_hours: float = Field(gt=0)

    def due(self, first_seen: dt.datetime) -> dt.datetime:
        return first_seen + dt.timedelta(hours=self.sla_hours)


class ExceptionPolicies(_Strict):
    classes: dict[ErrorClass, ExceptionPolicy]

    def for_class(self, error_class: ErrorClass) -> ExceptionPolicy:
        """The class's owner and SLA; ``unknown``'s for a class the file does not list."""
        return self.classes.get(error_class) or self.classes[ErrorClass.unknown]


class Jitter(StrEnum):
    full = "full"
    equal = "equal"
    none = "none"


class Redelivery(_Strict):
    """Gaps between redeliveries of a pending entry: ``base * 2**(n-1)`` capped at ``max``, jittered."""

    base_seconds: float = Field(ge=0, le=86_400)
    max_seconds: float = Field(ge=0, le=86_400)
    jitter: Jitter = Jitter.equal

    @model_validator(mode="after")
    def _bounds(self) -> Redelivery:
        if self.max_seconds < self.base_seconds:
            raise ValueError("max_seconds is below base_seconds")
        return self


class StepRetry(_Strict):
    """How hard one flow step tries before the failure waits for a person."""

    max_attempts: int = Field(ge=1, le=20, description="in-process attempts per delivery")
    base_seconds: float = Field(ge=0, le=3600)
    max_seconds: float = Field(ge=0, le=3600)
    jitter: Jitter = Jitter.full
    retryable: frozenset[ErrorClass] = Field(description="classes worth another attempt")
    on_exhausted: Literal["redeliver", "give_up"] = "redeliver"
    max_deliveries: int | None = Field(default=None, ge=1, le=1000)
    sla_hours: float | None = Field(default=None, gt=0, description="a shorter SLA pages the owner early")
    redelivery: Redelivery | None = Field(default=None, description="gaps between redeliveries")
    concurrency: int | None = Field(default=None, ge=1, le=256, description="entries in hand per worker")

    @field_validator("retryable")
    @classmethod
    def _only_transient(cls, value: frozenset[ErrorClass]) -> frozenset[ErrorClass]:
        wrong = sorted(c.value for c in value - RETRYABLE)
        if wrong:
            raise ValueError(f"{', '.join(wrong)} cannot succeed on retry; only {sorted(RETRYABLE)} can")
        return value

    @model_validator(mode="after")
    def _backoff_bounds(self) -> StepRetry:
        if self.max_seconds < self.base_seconds:
            raise ValueError("max_seconds is below base_seconds")
        return self

    def policy(self, default: RetryPolicy) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.max_attempts,
            base_seconds=self.base_seconds,
            max_seconds=self.max_seconds,
            max_retry_after_seconds=default.max_retry_after_seconds,
            jitter=self.jitter.value,
            retryable=self.retryable,
            give_up=self.on_exhausted == "give_up",
            max_deliveries=self.max_deliveries,
            concurrency=self.concurrency,
            **(
                {
                    "redeliver_base_seconds": self.redelivery.base_seconds,
                    "redeliver_max_seconds": self.redelivery.max_seconds,
                    "redeliver_jitter": self.redelivery.jitter.value,
                }
                if self.redelivery
                else {
                    "redeliver_base_seconds": default.redeliver_base_seconds,
                    "redeliver_max_seconds": default.redeliver_max_seconds,
                    "redeliver_jitter": default.redeliver_jitter,
                }
            ),
        )


class RetryPolicies(_Strict):
    steps: dict[Step, StepRetry] = Field(default_factory=dict)

    def policy(self, step: str, default: RetryPolicy) -> RetryPolicy:
        """The step's policy; ``default`` (the ``PROCESS_RETRY_*`` settings) when it has none."""
        entry = self.policies(default).get(step)
        return entry or default

    def policies(self, default: RetryPolicy) -> dict[str, RetryPolicy]:
        return {step: entry.policy(default) for step, entry in self.steps.items()}

    def sla_hours(self) -> dict[str, float]:
        return {step: e.sla_hours for step, e in self.steps.items() if e.sla_hours is not None}


class Config(_Strict):
    mappings: Mappings
    exceptions: ExceptionPolicies
    retries: RetryPolicies = Field(default_factory=RetryPolicies)
    flows: FlowPolicies = Field(default_factory=FlowPolicies)

    def owners(self) -> set[str]:
        """The owner teams an exception can be assigned to."""
        return {policy.owner for policy in self.exceptions.classes.values()}


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def _validate(model: type[BaseModel], path: Path, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def _check_mappings(path: Path, mappings: Mappings) -> None:
    """One billing account never spans two subsidiaries (ARCHITECTURE §4)."""
    seen: dict[str, tuple[str, str]] = {}
    for country, entity in mappings.legal_entities.items():
        first = seen.setdefault(entity.billing_account, (country, entity.subsidiary_id))
        if first[1] != entity.subsidiary_id:
            raise ConfigError(
                f"{path}: legal_entities.{country}.billing_account: "
                f"billing account {entity.billing_account!r} already bills subsidiary {first[1]} "
                f"(legal_entities.{first[0]}); one billing account never spans two subsidiaries"
            )
    _check_currencies(path, mappings)


def _check_currencies(path: Path, mappings: Mappings) -> None:
    """A billing account bills one currency; a per-currency price names a currency some entity bills;
    a tax rule names a country some entity bills (a typo there would silently never apply)."""
    currencies: dict[str, tuple[str, str]] = {}
    for country, entity in mappings.legal_entities.items():
        first = currencies.setdefault(entity.billing_account, (country, entity.currency))
        if first[1] != entity.currency:
            raise ConfigError(
                f"{path}: legal_entities.{country}.currency: billing account {entity.billing_account!r} "
                f"already bills {first[1]} (legal_entities.{first[0]}); one Stripe account bills one currency"
            )
    billed = {entity.currency for entity in mappings.legal_entities.values()}
    for code, product in mappings.products.items():
        for currency in product.billing_price_refs:
            if currency not in billed:
                raise ConfigError(
                    f"{path}: products.{code}.billing_price_refs.{currency}: no legal entity bills {currency}"
                )
    for code, meter in mappings.meters.items():
        if code in mappings.products:
            raise ConfigError(
                f"{path}: meters.{code}: {code} is also under products; a line is one or the other"
            )
        for currency in meter.billing_price_refs:
            if currency not in billed:
                raise ConfigError(
                    f"{path}: meters.{code}.billing_price_refs.{currency}: no legal entity bills {currency}"
                )
    events = [meter.event_name for meter in mappings.meters.values()]
    if len(events) != len(set(events)):
        raise ConfigError(f"{path}: meters: two usage products share one event_name")
    for country in mappings.tax.countries:
        if country not in mappings.legal_entities:
            raise ConfigError(f"{path}: tax.countries.{country}: no legal entity bills {country}")


def _check_exceptions(path: Path, policies: ExceptionPolicies) -> None:
    if ErrorClass.unknown not in policies.classes:
        raise ConfigError(f"{path}: classes.unknown: missing; it is the fallback owner for unlisted classes")


def load_config(config_dir: Path) -> Config:
    """Read and validate the files; raise ``ConfigError`` on the first problem found.

    ``flows.yaml`` is optional (its defaults apply when it is absent); the others are required.
    """
    mappings_path, exceptions_path = config_dir / MAPPINGS_FILE, config_dir / EXCEPTIONS_FILE
    retries_path = config_dir / RETRIES_FILE
    mappings = _validate(Mappings, mappings_path, _read(mappings_path))
    _check_mappings(mappings_path, mappings)
    policies = _validate(ExceptionPolicies, exceptions_path, _read(exceptions_path))
    _check_exceptions(exceptions_path, policies)
    retries = _validate(RetryPolicies, retries_path, _read(retries_path))
    flows_path = config_dir / FLOWS_FILE
    flows = _validate(FlowPolicies, flows_path, _read(flows_path) or {}) if flows_path.exists() else None
    return Config(mappings=mappings, exceptions=policies, retries=retries, flows=flows or FlowPolicies())
