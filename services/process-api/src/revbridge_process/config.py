"""Loads and validates ``config/mappings.yaml``, ``exceptions.yaml`` and ``retry-policies.yaml`` at start-up.

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
Step = Literal["onboarding", "crm_writeback", "invoice_posting", "invoice_dunning", "invoice_voiding"]
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
    erp_item_id: str = Field(min_length=1, description="NetSuite item internal id")


class LegalEntity(_Strict):
    name: str = Field(min_length=1)
    subsidiary_id: str = Field(min_length=1)
    currency: Currency
    billing_account: str = Field(min_length=1, pattern=r"^[a-z0-9_-]+$")


class Mappings(_Strict):
    products: dict[str, ProductMapping] = Field(min_length=1)
    legal_entities: dict[CountryCode, LegalEntity] = Field(min_length=1)

    def billing_accounts(self) -> list[str]:
        return sorted({entity.billing_account for entity in self.legal_entities.values()})


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


def _check_exceptions(path: Path, policies: ExceptionPolicies) -> None:
    if ErrorClass.unknown not in policies.classes:
        raise ConfigError(f"{path}: classes.unknown: missing; it is the fallback owner for unlisted classes")


def load_config(config_dir: Path) -> Config:
    """Read and validate the three files; raise ``ConfigError`` on the first problem found."""
    mappings_path, exceptions_path = config_dir / MAPPINGS_FILE, config_dir / EXCEPTIONS_FILE
    retries_path = config_dir / RETRIES_FILE
    mappings = _validate(Mappings, mappings_path, _read(mappings_path))
    _check_mappings(mappings_path, mappings)
    policies = _validate(ExceptionPolicies, exceptions_path, _read(exceptions_path))
    _check_exceptions(exceptions_path, policies)
    retries = _validate(RetryPolicies, retries_path, _read(retries_path))
    return Config(mappings=mappings, exceptions=policies, retries=retries)
