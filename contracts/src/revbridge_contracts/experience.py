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
