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

from revbridge_contracts.models import Contract


def contract_revision(contract: Contract) -> str | None:
    """The contract's version: its last modification stamp, to the millisecond."""
    if contract.modified_at is None:
        return None
    return contract.modified_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"


def term_end(contract: Contract) -> dt.date | None:
    """The last day of the contract's term (start + term months - 1 day); None without both."""
    if contract.start_date is None or not contract.term_months:
        return None
    start = contract.start_date
    months = start.month - 1 + contract.term_months
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) - dt.timedelta(days=1)
