"""Discovery: the versions list, the global sObject list, per-object ``describe`` and ``limits``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import Session
from ..schema import ObjectDef
from ..state import API_DAILY_LIMIT
from ..store import Store

router = APIRouter()

_RELEASES = {55: "Summer '22", 56: "Winter '23", 57: "Spring '23", 58: "Summer '23", 59: "Winter '24",
             60: "Spring '24", 61: "Summer '24", 62: "Winter '25"}  # fmt: skip


@router.get("/services/data")
@router.get("/services/data/")
async def versions() -> list[dict[str, str]]:
    return [
        {"label": label, "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
        for n, label in _RELEASES.items()
    ]


def _urls(version: str, obj: ObjectDef) -> dict[str, str]:
    base = f"/services/data/{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _summary(version: str, obj: ObjectDef) -> dict[str, Any]:
    return {
        "name": obj.name,
        "label": obj.name,
        "keyPrefix": obj.key_prefix,
        "custom": False,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "urls": _urls(version, obj),
    }


def describe_object(store: Store, version: str, obj: ObjectDef) -> dict[str, Any]:
    return _summary(version, obj) | {"fields": [f.describe() for f in store.all_fields(obj)]}


@router.get("/services/data/{version}/sobjects")
@router.get("/services/data/{version}/sobjects/")
async def describe_global(version: str, state: Session) -> dict[str, Any]:
    objects = state.store.objects.values()
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [_summary(version, o) for o in objects]}


@router.get("/services/data/{version}/sobjects/{sobject}")
@router.get("/services/data/{version}/sobjects/{sobject}/")
async def object_info(version: str, sobject: str, state: Session) -> dict[str, Any]:
    obj = state.store.object_at_url(sobject)
    return {"objectDescribe": _summary(version, obj), "recentItems": []}


@router.get("/services/data/{version}/sobjects/{sobject}/describe")
@router.get("/services/data/{version}/sobjects/{sobject}/describe/")
async def describe(version: str, sobject: str, state: Session) -> dict[str, Any]:
    return describe_object(state.store, version, state.store.object_at_url(sobject))


@router.get("/services/data/{version}/limits")
@router.get("/services/data/{version}/limits/")
async def limits(state: Session) -> dict[str, Any]:
    """The org's limits (REST "Limits"). Only the daily API budget is kept by the sandbox (the same
    count ``Sforce-Limit-Info`` reports); the other limits Salesforce lists are left out rather
    than invented."""
    return {
        "DailyApiRequests": {"Max": API_DAILY_LIMIT, "Remaining": max(0, API_DAILY_LIMIT - state.api_usage)}
    }
