"""Ramped, phased and usage contracts: their lines' segments become the phases of a subscription schedule.

A contract whose lines carry their own service periods (Salesforce CPQ's segments: year 1, 2 and 3
at different prices; 100 seats from month 1 and 250 from month 4) or usage lines is billed as one
Stripe subscription schedule with one phase per segment boundary of any line. Each phase holds
every recurring segment in force over it at the segment's monthly unit price, and every usage line
in force as a metered price with the contract's included quantity and overage rate.

The gate (``ramp_gate``) checks, before anything is written anywhere: every segment inside the
term and in the entity's currency; each line's segments contiguous (no gap, no overlap); a
segment's price whole in monthly charges; every recurring product mapped to a Stripe price and a
NetSuite item, every usage product to a Stripe meter, its metered price and a NetSuite item.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from itertools import pairwise

from revbridge_contracts.models import ChargeType, Contract, ContractLine, PhaseItem, SubscriptionPhase
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import LegalEntity, Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.flows.amendments import term_end


def is_phased(contract: Contract) -> bool:
    """True when any line has its own service period, or is billed on usage."""
    return any(
        line.start_date is not None
        or line.end_date is not None
        or line.charge_type is not ChargeType.recurring
        for line in contract.lines
    )


def _span(line: ContractLine, contract: Contract) -> tuple[dt.date, dt.date]:
    """The line's first day and the day after its last (exclusive), defaulting to the term's."""
    start = line.start_date or contract.start_date
    end = line.end_date or term_end(contract)
    if start is None or end is None:
        raise FlowFailure(
            ErrorClass.validation,
            f"line {line.id}: no service period (the contract has no start date or term)",
        )
    return start, end + dt.timedelta(days=1)


def _name(line: ContractLine) -> str:
    label = f" ({line.segment_label})" if line.segment_label else ""
    return f"line {line.id} [{line.product_code}{label}]"


def ramp_gate(contract: Contract, mappings: Mappings, entity: LegalEntity) -> None:
    """Raise ``FlowFailure`` naming the first line that cannot be billed as signed."""
    if contract.start_date is None or not contract.term_months:
        raise FlowFailure(
            ErrorClass.validation, f"contract {contract.id} has segments but no start date or term"
        )
    term_start, term_stop = contract.start_date, term_end(contract)
    assert term_stop is not None
    for line in contract.lines:
        if line.currency is not None and line.currency != entity.currency:
            raise FlowFailure(
                ErrorClass.entity_mismatch,
                f"{_name(line)} is in {line.currency}, not {entity.name}'s currency {entity.currency}",
            )
        start, stop = _span(line, contract)
        if start < term_start or stop - dt.timedelta(days=1) > term_stop:
            raise FlowFailure(
                ErrorClass.validation,
                f"{_name(line)} runs {start} to {stop - dt.timedelta(days=1)}, outside the term "
                f"{term_start} to {term_stop}",
            )
        if line.charge_type is ChargeType.one_time:
            raise FlowFailure(
                ErrorClass.validation,
                f"{_name(line)} is a one-time charge; revbridge bills recurring and usage lines",
            )
        if line.charge_type is ChargeType.usage:
            if line.product_code not in mappings.meters:
                raise FlowFailure(
                    ErrorClass.mapping_missing,
                    f"{_name(line)} is usage but {line.product_code} has no meter mapping "
                    "(mappings.yaml meters: Stripe meter, metered price, NetSuite item)",
                )
            continue
        if line.product_code not in mappings.products:
            raise FlowFailure(
                ErrorClass.mapping_missing, f"no product mapping for {line.product_code} ({_name(line)})"
            )
        if line.quantity < 1:
            raise FlowFailure(ErrorClass.validation, f"{_name(line)} has a quantity below 1")
        if line.segment_unit_amount is not None:
            if line.segment_months is None:
                raise FlowFailure(
                    ErrorClass.validation, f"{_name(line)} does not span whole months; it cannot bill monthly"
                )
            if line.unit_amount * line.segment_months != line.segment_unit_amount:
                raise FlowFailure(
                    ErrorClass.validation,
                    f"{_name(line)}: its price {line.segment_unit_amount} over {line.segment_months} months "
                    "is not a whole number of minor units a month",
                )
    _contiguous(contract)


def _contiguous(contract: Contract) -> None:
    """The segments of one line (one CPQ segment key, else one product) follow each other day by day.

    Lines without segment data are left alone: two lines of one product may overlap (an add-on
    amendment's extra seats beside the original line).
    """
    groups: dict[str, list[ContractLine]] = defaultdict(list)
    for line in contract.lines:
        if line.segment_index is not None or line.segment_key is not None:
            groups[line.segment_key or f"{line.charge_type.value}:{line.product_code}"].append(line)
    for key, lines in groups.items():
        spans = sorted(((_span(line, contract), line) for line in lines), key=lambda pair: pair[0])
        for (before, line_a), (after, line_b) in pairwise(spans):
            if after[0] < before[1]:
                raise FlowFailure(ErrorClass.validation, f"{_name(line_b)} overlaps {_name(line_a)} ({key})")
            if after[0] > before[1]:
                raise FlowFailure(
                    ErrorClass.validation,
                    f"a gap between {_name(line_a)} (ends {before[1] - dt.timedelta(days=1)}) and "
                    f"{_name(line_b)} (starts {after[0]}) ({key})",
                )


def months_of(line: ContractLine, contract: Contract) -> int:
    """Whole months the line's segment spans (its CPQ figure, else counted from its dates)."""
    if line.segment_months is not None:
        return line.segment_months
    start, stop = _span(line, contract)
    return max((stop.year - start.year) * 12 + stop.month - start.month, 0)


def contract_value(contract: Contract) -> int:
    """Total value of the recurring segments: each segment's monthly value over its months."""
    return sum(
        line.amount * months_of(line, contract)
        for line in contract.lines
        if line.charge_type is ChargeType.recurring
    )


def phases(contract: Contract, mappings: Mappings, currency: str) -> list[SubscriptionPhase]:
    """One phase per segment boundary of any line, each holding the items in force over it."""
    spans = [(_span(line, contract), line) for line in contract.lines]
    bounds = sorted({d for (start, stop), _ in spans for d in (start, stop)})
    out: list[SubscriptionPhase] = []
    for start, stop in pairwise(bounds):
        live = [line for (a, b), line in spans if a <= start and stop <= b]
        items = _items(live, mappings, currency)
        if items:
            out.append(SubscriptionPhase(start_date=start, end_date=stop, items=items))
    if not out:
        raise FlowFailure(ErrorClass.validation, f"contract {contract.id} has no billable line")
    for before, after in pairwise(out):
        if after.start_date != before.end_date:
            raise FlowFailure(
                ErrorClass.validation,
                f"contract {contract.id} bills nothing from {before.end_date} to {after.start_date}",
            )
    return out


def _items(lines: list[ContractLine], mappings: Mappings, currency: str) -> list[PhaseItem]:
    licensed: dict[tuple[str, int], int] = {}
    metered: list[PhaseItem] = []
    for line in lines:
        code = str(line.product_code)
        if line.charge_type is ChargeType.usage:
            metered.append(
                PhaseItem(
                    billing_price_ref=mappings.meters[code].price_ref(currency),
                    metered=True,
                    included_quantity=line.included_quantity or 0,
                    overage_unit_amount=line.overage_unit_amount,
                )
            )
            continue
        key = (mappings.products[code].price_ref(currency), line.unit_amount)
        licensed[key] = licensed.get(key, 0) + line.quantity  # one item per product and price
    return [
        PhaseItem(billing_price_ref=ref, quantity=quantity, unit_amount=unit)
        for (ref, unit), quantity in licensed.items()
    ] + metered
