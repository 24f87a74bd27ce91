"""FX rates from ``config/fx-rates.yaml``: converts the summary's figures to a reporting currency.

Rates are decimals (strings in the file), amounts stay integers in minor units; a conversion goes
through the base currency and rounds half-even once, at the end. A month may carry its own rates
(``periods``). The file is validated at start-up; a bad entry names file, entry and problem.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FX_FILE = "fx-rates.yaml"
Code = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class FxConfigError(ValueError):
    """The FX file can't be used; the message names file, entry and problem."""


def _rate(value: object) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a decimal number") from exc
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"{value!r} must be a positive number")
    return rate


class FxRates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Code
    as_of: dt.date | None = None
    default_reporting_currency: Code | None = None
    rates: dict[Code, Decimal] = Field(min_length=1)
    periods: dict[Period, dict[Code, Decimal]] = Field(default_factory=dict)
    minor_units: dict[Code, int] = Field(default_factory=dict)

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: _rate(v) for k, v in value.items()}
        return value

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, value: object) -> object:
        if isinstance(value, dict):
            return {p: {k: _rate(v) for k, v in (r or {}).items()} for p, r in value.items()}
        return value

    @field_validator("minor_units")
    @classmethod
    def _digits(cls, value: dict[str, int]) -> dict[str, int]:
        wrong = sorted(k for k, v in value.items() if not 0 <= v <= 4)
        if wrong:
            raise ValueError(f"minor units of {', '.join(wrong)} must be 0 to 4")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FxRates:
        if self.rates.get(self.base) != Decimal(1):
            raise ValueError(f"rates.{self.base}: the base currency's rate must be 1")
        if self.default_reporting_currency and self.default_reporting_currency not in self.rates:
            raise ValueError(f"default_reporting_currency {self.default_reporting_currency} has no rate")
        return self

    def digits(self, currency: str) -> int:
        return self.minor_units.get(currency, 2)

    def rate(self, currency: str, period: str | None = None) -> Decimal | None:
        """Value of one unit of ``currency`` in the base (the month's own rate when it has one)."""
        monthly = self.periods.get(period or "", {})
        return monthly.get(currency) or self.rates.get(currency)

    def convert(self, amount: int, currency: str, to: str, period: str | None = None) -> int | None:
        """``amount`` minor units of ``currency`` in minor units of ``to``; None without a rate."""
        src, dst = self.rate(currency, period), self.rate(to, period)
        if src is None or dst is None:
            return None
        major = Decimal(amount).scaleb(-self.digits(currency)) * src / dst
        return int(major.scaleb(self.digits(to)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def load_fx(config_dir: Path) -> FxRates:
    path = config_dir / FX_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise FxConfigError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise FxConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return FxRates.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        entry = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise FxConfigError(f"{path}: {entry}: {first['msg']}") from exc
