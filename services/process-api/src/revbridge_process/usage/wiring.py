"""Builds the usage intake from the service's settings and configuration (the API's lifespan calls it)."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process.config import Config
from revbridge_process.ports import ExceptionSink, MeterPort
from revbridge_process.settings import Settings
from revbridge_process.usage.clocks import Clocks
from revbridge_process.usage.directory import UsageDirectory
from revbridge_process.usage.intake import UsageIntake
from revbridge_process.usage.records import PgAcceptances
from revbridge_process.usage.service import UsageService


def usage_service(
    redis: Redis,
    engine: AsyncEngine,
    settings: Settings,
    config: Config,
    system: MeterPort,
    exceptions: ExceptionSink,
) -> UsageService:
    return UsageService(
        config,
        UsageDirectory(engine),
        UsageIntake(redis, settings.key_prefix, int(settings.usage_dedup_days * 86_400)),
        Clocks(system, settings.usage_clock_cache_seconds),
        exceptions,
        PgAcceptances(engine, settings.ledger_wait_seconds),
    )
