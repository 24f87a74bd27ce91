"""Settings of the process API and its workers: the system API's URL (the only layer below), Redis
and the configuration directory. Worker tuning lives here too so an operator can change it per
deployment without touching code."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, AnyHttpUrl, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCESS_", extra="ignore", populate_by_name=True)

    system_api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8001")
    timeout_seconds: float = 10.0
    host: str = "127.0.0.1"
    port: int = 8002

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL"))
    key_prefix: str = Field(default="rb:", validation_alias=AliasChoices("REVBRIDGE_KEY_PREFIX"))
    config_dir: Path = Field(default=Path("config"), validation_alias=AliasChoices("REVBRIDGE_CONFIG_DIR"))

    # worker: consumer group, blocking read, reclaim and dead-letter thresholds, in-process retries
    consumer_group: str = "process"
    block_ms: int = Field(default=2000, ge=1, le=2000)
    batch_size: int = Field(default=16, ge=1)
    reclaim_idle_ms: int = Field(default=30_000, ge=0)
    """An entry pending this long with no redelivery scheduled belongs to a dead consumer: reclaimed."""
    reclaim_every_seconds: float = Field(default=1.0, gt=0, le=60)
    max_deliveries: int = Field(default=5, ge=1)
    retry_attempts: int = Field(default=3, ge=1)
    retry_base_seconds: float = Field(default=0.5, ge=0)
    retry_max_seconds: float = Field(default=10.0, ge=0)
    redelivery_base_seconds: float = Field(default=5.0, ge=0)
    redelivery_max_seconds: float = Field(default=900.0, ge=0)
    flow_concurrency: int = Field(default=8, ge=1, le=256)
    max_in_flight: int = Field(default=32, ge=1, le=1024)
    consumer_reap_idle_ms: int = Field(default=3_600_000, ge=60_000)
    """Group members idle this long with nothing pending (workers restarted under a new name) are removed."""

    # reconciliation: scheduled in the workers (one at a time, under a Redis lock) and on demand
    reconcile_interval_seconds: float = Field(default=3600.0, ge=0, description="0 turns the schedule off")
    reconcile_grace_seconds: float = Field(default=300.0, ge=0)
    reconcile_max_differences: int = Field(default=5000, ge=1)

    # usage ingestion (revbridge_process.usage): the intake's stream and the sender worker
    usage_group: str = "usage-sender"
    usage_batch_size: int = Field(default=500, ge=1, le=1000)
    usage_block_ms: int = Field(default=1000, ge=1, le=2000)
    usage_batches_in_flight: int = Field(default=2, ge=1, le=16)
    usage_reclaim_idle_ms: int = Field(default=30_000, ge=1000)
    """A usage entry pending this long belongs to a dead (or stuck) sender: reclaimed and sent again."""
    usage_clock_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    usage_dedup_days: float = Field(default=36.0, ge=1)
    """How long a (sender, event id) is remembered: longer than Stripe's 35-day window, so any replay
    that could still be billed is answered ``duplicate``."""

    # bounded memory: approximate stream lengths (exceptions, statuses and reconciliation reports are
    # in PostgreSQL, kept for DbSettings.retention_years)
    stream_maxlen: int = Field(default=100_000, ge=1000)
    dead_letter_maxlen: int = Field(default=100_000, ge=1000)
    ledger_wait_seconds: float = Field(default=10.0, ge=0, le=300)
    """How long a write to PostgreSQL waits for it before giving up: a fact (``facts.PgFacts``), an
    exception, a status, a reconciliation report, a usage acceptance record. A worker's flow is
    then deferred (redelivered later); the API answers 503."""
