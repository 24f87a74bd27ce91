"""Models of the experience API: what finance, revops and executives read."""

from __future__ import annotations

import datetime as dt

from revbridge_contracts.models import Canonical, Currency, MinorUnits
from revbridge_contracts.process import SystemRecord


class Variance(Canonical):
    name: str
    left: MinorUnits
    right: MinorUnits
    difference: MinorUnits
    reconciled: bool


class CurrencySummary(Canonical):
    currency: Currency
    bookings: MinorUnits
    billings: MinorUnits
    collections: MinorUnits
    posted_invoices: MinorUnits
    posted_payments: MinorUnits
    variances: list[Variance]


class RevenueSummary(Canonical):
    as_of: dt.datetime
    currencies: list[CurrencySummary]


class LineageView(Canonical):
    contract_id: str
    crm: list[SystemRecord]
    billing: list[SystemRecord]
    erp: list[SystemRecord]


# --- v2 (additive; v1 shapes above are unchanged) ----------------------------------------


class CurrencyAmounts(Canonical):
    """One currency's totals in the v2 summary, keyed by its ISO code in ``amounts``."""

    bookings: MinorUnits
    billings: MinorUnits
    collections: MinorUnits
    posted_invoices: MinorUnits
    posted_payments: MinorUnits
    variances: list[Variance]
    reconciled: bool


class Reporting(Canonical):
    """What the figures are: when they were read and which currencies they cover."""

    as_of: dt.datetime
    currencies: list[Currency]
    reconciled: bool
    source: str = "process-api"


class RevenueSummaryV2(Canonical):
    reporting: Reporting
    amounts: dict[str, CurrencyAmounts]


class DeprecatedOperation(Canonical):
    operation_id: str
    path: str
    sunset: dt.date | None = None
    successor: str | None = None


class ApiVersion(Canonical):
    major: int
    deprecated_operations: list[DeprecatedOperation]


class ApiVersions(Canonical):
    """The majors this API serves and what in each is deprecated: how a client plans its move."""

    versions: list[ApiVersion]
