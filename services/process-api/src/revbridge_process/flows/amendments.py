"""Amendments and renewals: an activated contract that changes re-runs onboarding, which converges.

There is no separate amendment flow: a change to an activated contract (sales amends its lines,
or renews it with a new term) reaches revbridge like its activation did (the poller sees its
SystemModstamp move; a push or ``POST /v1/onboardings`` re-drives it), and onboarding converges
every target to it: the subscription's items (with ``flows.yaml`` ``amendments.proration_behavior``),
its term end, the ERP customer (upserted by external id) and the write-back. The subscription
update carries the contract version (``contract_revision``), which the system API derives its
Stripe idempotency key from, so a retry after a lost answer applies an amendment once; a new
version stamp alone (our own write-back moves it) changes nothing billed.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import TypeVar

from revbridge_contracts.models import Contract


def contract_revision(contract: Contract) -> str | None:
    """The contract's version: its last modification stamp, to the millisecond."""
    if contract.modified_at is None:
        return None
    return contract.modified_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"


Day = TypeVar("Day", bound=dt.date)


def add_months(day: Day, months: int) -> Day:
    """``day`` (a date or datetime) plus whole months, the day clamped to the month's end (Jan 31 + 1
    = Feb 28/29), always counted from ``day`` so a monthly period never drifts (Mar 31 after Feb 28):
    Stripe's monthly billing anchor."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def term_end(contract: Contract) -> dt.date | None:
    """The last day of the contract's term (start + term months - 1 day); None without both."""
    if contract.start_date is None or not contract.term_months:
        return None
    return add_months(contract.start_date, contract.term_months) - dt.timedelta(days=1)
