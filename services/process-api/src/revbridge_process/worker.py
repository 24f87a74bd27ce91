"""The process worker: a consumer-group member on the CRM and billing streams.

``python -m revbridge_process.worker``. Calls to the system API carry the trace continued from
each message (``system_client.HttpTransport`` injects it). Up to ``PROCESS_MAX_IN_FLIGHT``
entries are in hand at once (each flow within its own concurrency, see ``consumer``); the loop keeps
reading while they run. Every ``PROCESS_RECLAIM_EVERY_SECONDS`` it claims the entries whose
redelivery is due and the orphans of dead consumers (``redelivery``). SIGTERM/SIGINT stop reading
and let the entries in hand finish; whatever stays unacknowledged is redelivered by the group.
The scheduled reconciliation runs beside the loop (``scheduling``).
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
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from revbridge_contracts.telemetry import setup_tracing
from revbridge_db.engine import open_database
from revbridge_db.settings import DbSettings

from revbridge_process.config import Config, ConfigError, load_config
from revbridge_process.consumer import Consumer, Outcome
from revbridge_process.dispatch import FlowDeps
from revbridge_process.facts import PgFacts
from revbridge_process.logs import configure_logging
from revbridge_process.redelivery import Delivery
from revbridge_process.retry import RetryPolicy, step_runner
from revbridge_process.scheduling import Reconciliations, scheduled_reconciliation
from revbridge_process.settings import Settings
from revbridge_process.store import build_store
from revbridge_process.system_client import SystemApi, http_transport
from revbridge_process.usage.directory import UsageDirectory

REAP_EVERY_SECONDS = 60.0
log = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Worker:
    consumer: Consumer
    reconciliations: Reconciliations


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings, config: Config, database: DbSettings | None = None
) -> AsyncIterator[Worker]:
    """The worker's composition root: Redis, PostgreSQL, the system API client, the store, the
    consumer and the scheduled reconciliation."""
    tracer = setup_tracing("process-worker")
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        async with (
            open_database(database) as engine,
            http_transport(str(settings.system_api_url), settings.timeout_seconds) as http,
        ):
            store = build_store(redis, engine, settings, config)
            policy = default_policy(settings)
            policies = config.retries.policies(policy)
            writeback = step_runner("crm_writeback", config.retries.policy("crm_writeback", policy))
            system = SystemApi(http)
            consumer = Consumer(
                redis,
                settings.key_prefix,
                FlowDeps(
                    system,
                    config,
                    store,
                    crm_writeback=writeback,
                    facts=PgFacts(engine, settings.ledger_wait_seconds),
                    usage=UsageDirectory(engine),
                ),
                store,
                group=settings.consumer_group,
                name=consumer_name(),
                policy=policy,
                policies=policies,
                max_deliveries=settings.max_deliveries,
                tracer=tracer,
                dead_letter_maxlen=settings.dead_letter_maxlen,
                flow_concurrency=settings.flow_concurrency,
            )
            yield Worker(consumer, Reconciliations(redis, settings, config, system, store))
    finally:
        await redis.aclose()


def default_policy(settings: Settings) -> RetryPolicy:
    """The policy of a flow step ``config/retry-policies.yaml`` does not list."""
    return RetryPolicy(
        attempts=settings.retry_attempts,
        base_seconds=settings.retry_base_seconds,
        max_seconds=settings.retry_max_seconds,
        redeliver_base_seconds=settings.redelivery_base_seconds,
        redeliver_max_seconds=settings.redelivery_max_seconds,
    )


class Pump:
    """The entries in hand: each runs as its own task, at most ``limit`` at once."""

    def __init__(self, consumer: Consumer, limit: int) -> None:
        self._consumer, self._limit = consumer, limit
        self.tasks: set[asyncio.Task[Outcome]] = set()

    def room(self) -> int:
        return self._limit - len(self.tasks)

    def spawn(self, batch: list[Delivery]) -> None:
        for delivery in batch:
            task = asyncio.create_task(self._consumer.handle_delivery(delivery))
            self.tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Outcome]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # a bug: the entry stays pending
            log.error("worker.entry_failed", exc_info=task.exception())

    async def wait_one(self, timeout: float) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    async def drain(self, timeout: float = 60.0) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout)


async def run(
    settings: Settings, config: Config, stop: asyncio.Event, database: DbSettings | None = None
) -> None:
    async with bootstrap(settings, config, database) as worker:
        consumer = worker.consumer
        await consumer.ensure_groups()
        log.info("worker.started", extra={"consumer": consumer.name, "streams": consumer.streams})
        pump = Pump(consumer, settings.max_in_flight)
        scheduler = asyncio.create_task(scheduled_reconciliation(settings, worker.reconciliations, stop))
        next_reclaim = next_reap = 0.0
        try:
            while not stop.is_set():
                try:
                    now = time.monotonic()
                    if now >= next_reclaim:
                        await consumer.touch_in_flight()
                        if pump.room() > 0:
                            pump.spawn(await consumer.fetch_due(settings.reclaim_idle_ms, pump.room()))
                        next_reclaim = now + settings.reclaim_every_seconds
                    if now >= next_reap:
                        await consumer.reap_consumers(settings.consumer_reap_idle_ms)
                        next_reap = now + REAP_EVERY_SECONDS
                    wait = max(0.0, next_reclaim - time.monotonic())
                    if pump.room() <= 0:
                        await pump.wait_one(timeout=wait)
                        continue
                    block = max(1, min(settings.block_ms, int(wait * 1000)))
                    pump.spawn(await consumer.fetch_new(block, min(settings.batch_size, pump.room())))
                except (RedisError, OSError) as exc:
                    log.warning("worker.redis_unavailable", extra={"error": str(exc)})
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)
                except Exception:  # a bug must not kill the group member; the entry stays pending
                    log.exception("worker.error")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)
            await pump.drain()
        finally:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
            await worker.reconciliations.aclose()
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
