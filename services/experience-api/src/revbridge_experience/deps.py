"""FastAPI dependencies as ``Annotated`` aliases: what the routers receive, wired in the lifespan."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Query, Request
from revbridge_contracts.problems import InvalidParam

from revbridge_experience.fx import FxRates
from revbridge_experience.process_client import IDENTITY_HEADERS, InvalidRequest, ProcessApi
from revbridge_experience.readmodel.queries import ReadModel

PERIOD = r"^\d{4}(-(0[1-9]|1[0-2]))?$"
ENTITY = r"^[A-Za-z0-9_-]{1,32}$"
CURRENCY = r"^[A-Z]{3}$"


async def _process_api(request: Request) -> ProcessApi:
    return request.app.state.process_api


async def _read_model(request: Request) -> ReadModel:
    return request.app.state.read_model


async def _fx(request: Request) -> FxRates:
    return request.app.state.fx


async def _actor(request: Request) -> dict[str, str]:
    """The gateway's identity headers of this call, to pass on with an action on an exception."""
    return {name: value for name in IDENTITY_HEADERS if (value := request.headers.get(name))}


def invalid(name: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"{name}: {reason}", invalid_params=[InvalidParam(name=name, reason=reason)])


async def closed_query(request: Request) -> None:
    """Refuse query parameters the operation does not declare (``?perod=`` must not mean 'all')."""
    route = request.scope.get("route")
    declared = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", [])}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise invalid(f"query.{unknown[0]}", "unknown parameter")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Process = Annotated[ProcessApi, Depends(_process_api)]
Model = Annotated[ReadModel, Depends(_read_model)]
Fx = Annotated[FxRates, Depends(_fx)]
Actor = Annotated[dict[str, str], Depends(_actor)]
PeriodQ = Annotated[str | None, Query(pattern=PERIOD, description="YYYY-MM, or YYYY for a whole year")]
EntityQ = Annotated[str | None, Query(pattern=ENTITY, description="legal entity code, e.g. US or GB")]
CurrencyQ = Annotated[str | None, Query(pattern=CURRENCY, description="ISO 4217 code")]
