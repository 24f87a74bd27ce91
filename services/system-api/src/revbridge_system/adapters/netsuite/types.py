"""Private NetSuite SuiteTalk REST shapes; never leave the adapter.

References render as ``{"id": "1", "refName": "...", "links": [...]}`` on output and are sent as
``{"id": "1"}``; sublists are sent as ``{"items": [...]}``. Amounts are decimals in major units.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

RecordType = Literal["customer", "invoice", "customerpayment", "creditMemo", "customerRefund", "journalEntry"]


class NsRef(TypedDict, total=False):
    id: str
    refName: str


class NsRecord(TypedDict, total=False):
    id: str
    externalId: str | None
    tranId: str | None
    entity: NsRef
    customer: NsRef
    currency: NsRef
    status: str | dict[str, Any] | None
    total: float
    amountPaid: float
    applied: float
    payment: float
    tranDate: str | None
    companyName: str


class NsLine(TypedDict, total=False):
    item: NsRef
    quantity: int
    rate: float
    amount: float
    description: str
    custcol_service_start: str
    custcol_service_end: str


class NsSuiteQlRow(TypedDict, total=False):
    id: str | int
    tranid: str | None
    externalid: str | None
    entity: str | int | None
    status: str | None
    foreigntotal: str | float | None
    foreignamountpaid: str | float | None
    currency: str | int | None
    trandate: str | None
    memo: str | None


class NsCollection(TypedDict, total=False):
    count: int
    hasMore: bool
    offset: int
    totalResults: int
    items: list[dict[str, Any]]
