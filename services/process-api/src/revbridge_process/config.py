"""Loads and validates ``config/mappings.yaml`` and ``config/exceptions.yaml`` at start-up.

A wrong mapping would bill or post the wrong thing, so an invalid file stops start-up with a
message naming the file, the entry and the problem, instead of failing later on one contract.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from revbridge_contracts.models import Currency
from revbridge_contracts.process import ErrorClass

MAPPINGS_FILE = "mappings.yaml"
EXCEPTIONS_FILE = "exceptions.yaml"
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


class Config(_Strict):
    mappings: Mappings
    exceptions: ExceptionPolicies


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
    """Read and validate both files; raise ``ConfigError`` on the first problem found."""
    mappings_path, exceptions_path = config_dir / MAPPINGS_FILE, config_dir / EXCEPTIONS_FILE
    mappings = _validate(Mappings, mappings_path, _read(mappings_path))
    _check_mappings(mappings_path, mappings)
    policies = _validate(ExceptionPolicies, exceptions_path, _read(exceptions_path))
    _check_exceptions(exceptions_path, policies)
    return Config(mappings=mappings, exceptions=policies)
