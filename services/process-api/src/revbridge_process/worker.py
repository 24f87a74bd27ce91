"""The process worker: a consumer-group member on the CRM and billing streams.

``python -m revbridge_process.worker``. Tracing is set up before any httpx client exists, so
calls to the system API carry the trace continued from each message. SIGTERM/SIGINT stop the
loop after the entry in hand; unacknowledged entries are reclaimed by the group (XAUTOCLAIM).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError
from revbridge_contracts.telemetry import setup_tracing, traced

from revbridge_process.config import Config, ConfigError, load_config
from revbridge_process.consumer import Consumer
from revbridge_process.dispatch import FlowDeps
from revbridge_process.facts import RedisFacts
from revbridge_process.logs import configure_logging
from revbridge_process.retry import RetryPolicy, step_runner
from revbridge_process.settings import Settings
from revbridge_process.store import build_store
from revbridge_process.system_client import SystemApi

RECLAIM_EVERY_SECONDS = 5.0
log = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@contextlib.asynccontextmanager
async def bootstrap(settings: Settings, config: Config) -> AsyncIterator[Consumer]:
    """The worker's composition root: Redis, the system API client, the store and the consumer."""
    tracer = setup_tracing("process-worker")
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        async with traced(
            httpx.AsyncClient(base_url=str(settings.system_api_url), timeout=settings.timeout_seconds)
        ) as http:
            store = build_store(redis, settings, config)
            policy = RetryPolicy(
                attempts=settings.retry_attempts,
                base_seconds=settings.retry_base_seconds,
                max_seconds=settings.retry_max_seconds,
            )
            policies = config.retries.policies(policy)
            writeback = step_runner("crm_writeback", config.retries.policy("crm_writeback", policy))
            yield Consumer(
                redis,
                settings.key_prefix,
                FlowDeps(
                    SystemApi(http),
                    config,
                    store,
                    crm_writeback=writeback,
                    facts=RedisFacts(redis, settings.key_prefix, settings.facts_maxlen),
                ),
                store,
                group=settings.consumer_group,
                name=consumer_name(),
                policy=policy,
                policies=policies,
                max_deliveries=settings.max_deliveries,
                tracer=tracer,
                dead_letter_maxlen=settings.dead_letter_maxlen,
            )
    finally:
        await redis.aclose()


async def run(settings: Settings, config: Config, stop: asyncio.Event) -> None:
    async with bootstrap(settings, config) as consumer:
        await consumer.ensure_groups()
        log.info("worker.started", extra={"consumer": consumer.name, "streams": consumer.streams})
        next_reclaim = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_reclaim:
                    await consumer.reclaim(settings.reclaim_idle_ms, settings.batch_size)
                    next_reclaim = time.monotonic() + RECLAIM_EVERY_SECONDS
                await consumer.read_new(settings.block_ms, settings.batch_size)
            except (RedisError, OSError) as exc:
                log.warning("worker.redis_unavailable", extra={"error": str(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            except Exception:  # a bug must not kill the group member; the entry stays pending
                log.exception("worker.error")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
        log.info("worker.stopped", extra={"consumer": consumer.name})


async def _main(settings: Settings, config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, config, stop)


def main() -> None:
    configure_logging()
    settings = Settings()
    try:
        config = load_config(settings.config_dir)
    except ConfigError as exc:
        raise SystemExit(f"process worker: invalid configuration: {exc}") from exc
    asyncio.run(_main(settings, config))


if __name__ == "__main__":
    main()
