"""FastAPI dependencies as ``Annotated`` aliases; the objects themselves are built in the app lifespan.

``async def`` although they only read ``app.state``: FastAPI runs a plain ``def`` dependency in its
thread pool, a thread hop per dependency per request (a tenth of the system API's CPU under load).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from revbridge_system.bus import EventBus
from revbridge_system.ports import BillingPort, CrmPort, ErpPort
from revbridge_system.settings import Settings


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _bus(request: Request) -> EventBus:
    return request.app.state.bus


async def _billing(request: Request) -> BillingPort:
    return request.app.state.billing


async def _crm(request: Request) -> CrmPort:
    return request.app.state.crm


async def _erp(request: Request) -> ErpPort:
    return request.app.state.erp


AppSettings = Annotated[Settings, Depends(_settings)]
Bus = Annotated[EventBus, Depends(_bus)]
Billing = Annotated[BillingPort, Depends(_billing)]
Crm = Annotated[CrmPort, Depends(_crm)]
Erp = Annotated[ErpPort, Depends(_erp)]
