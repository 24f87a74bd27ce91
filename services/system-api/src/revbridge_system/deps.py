"""FastAPI dependencies as ``Annotated`` aliases; the objects themselves are built in the app lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from revbridge_system.bus import EventBus
from revbridge_system.ports import BillingPort, CrmPort, ErpPort
from revbridge_system.settings import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _bus(request: Request) -> EventBus:
    return request.app.state.bus


def _billing(request: Request) -> BillingPort:
    return request.app.state.billing


def _crm(request: Request) -> CrmPort:
    return request.app.state.crm


def _erp(request: Request) -> ErpPort:
    return request.app.state.erp


AppSettings = Annotated[Settings, Depends(_settings)]
Bus = Annotated[EventBus, Depends(_bus)]
Billing = Annotated[BillingPort, Depends(_billing)]
Crm = Annotated[CrmPort, Depends(_crm)]
Erp = Annotated[ErpPort, Depends(_erp)]
