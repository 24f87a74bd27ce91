"""FastAPI dependencies as ``Annotated`` aliases: what the routers receive, wired in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from revbridge_process.bus import EventBus
from revbridge_process.config import Config
from revbridge_process.ports import SystemPort
from revbridge_process.store import RedisStore


def _system(request: Request) -> SystemPort:
    return request.app.state.system


def _store(request: Request) -> RedisStore:
    return request.app.state.store


def _bus(request: Request) -> EventBus:
    return request.app.state.bus


def _config(request: Request) -> Config:
    return request.app.state.config


System = Annotated[SystemPort, Depends(_system)]
Store = Annotated[RedisStore, Depends(_store)]
Bus = Annotated[EventBus, Depends(_bus)]
AppConfig = Annotated[Config, Depends(_config)]
