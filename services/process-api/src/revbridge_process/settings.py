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
    max_deliveries: int = Field(default=5, ge=1)
    retry_attempts: int = Field(default=3, ge=1)
    retry_base_seconds: float = Field(default=0.5, ge=0)
    retry_max_seconds: float = Field(default=10.0, ge=0)

    # bounded memory: approximate stream lengths, exception records kept after resolution
    stream_maxlen: int = Field(default=100_000, ge=1000)
    dead_letter_maxlen: int = Field(default=100_000, ge=1000)
    facts_maxlen: int = Field(default=1_000_000, ge=1000)
    resolved_ttl_days: float = Field(default=30, gt=0)
