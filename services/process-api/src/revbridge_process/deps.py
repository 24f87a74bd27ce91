"""FastAPI dependencies as ``Annotated`` aliases: what the routers receive, wired in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from revbridge_process.bus import EventBus
from revbridge_process.config import Config
from revbridge_process.errors import InvalidField
from revbridge_process.ports import FactSink, SystemPort
from revbridge_process.replay import Replayer
from revbridge_process.store import PgStore
from revbridge_process.usage.service import UsageService

CLIENT_ID_HEADER = "X-Revbridge-Client-Id"
"""Set by the gateway to the calling client; recorded in the exception history as who acted when
no user is named."""
USER_HEADER = "X-Revbridge-User"
"""Set by the gateway to the token's subject (the signed-in user of the dashboard); a caller's own
header of that name never crosses the gateway. Recorded in the exception history as who acted."""


async def _system(request: Request) -> SystemPort:
    return request.app.state.system


async def _store(request: Request) -> PgStore:
    return request.app.state.store


async def _bus(request: Request) -> EventBus:
    return request.app.state.bus


async def _config(request: Request) -> Config:
    return request.app.state.config


async def _facts(request: Request) -> FactSink:
    return request.app.state.facts


async def _replayer(request: Request) -> Replayer:
    return request.app.state.replayer


async def _usage(request: Request) -> UsageService:
    return request.app.state.usage


async def closed_query(request: Request) -> None:
    """Refuse query parameters the operation does not declare (a typo such as ``?ownr=`` would
    otherwise list everything): 422 naming each one, as for any invalid field."""
    route = request.scope.get("route")
    declared = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", [])}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise InvalidField(f"query.{unknown[0]}", "unknown parameter")


async def _actor(request: Request) -> str:
    headers = request.headers
    return headers.get(USER_HEADER) or headers.get(CLIENT_ID_HEADER) or "operator"


@dataclass(frozen=True)
class Caller:
    """Who the gateway says is calling, for the audit trail: the token's subject, and the client."""

    user: str | None
    client: str | None


async def _caller(request: Request) -> Caller:
    return Caller(request.headers.get(USER_HEADER), request.headers.get(CLIENT_ID_HEADER))


System = Annotated[SystemPort, Depends(_system)]
Store = Annotated[PgStore, Depends(_store)]
Bus = Annotated[EventBus, Depends(_bus)]
AppConfig = Annotated[Config, Depends(_config)]
ReplayService = Annotated[Replayer, Depends(_replayer)]
Facts = Annotated[FactSink, Depends(_facts)]
Actor = Annotated[str, Depends(_actor)]
CallerIdentity = Annotated[Caller, Depends(_caller)]
Usage = Annotated[UsageService, Depends(_usage)]
