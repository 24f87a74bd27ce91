"""Settings of the experience API and its projector: the URL of the layer below (the process API),
Redis (the read model and the facts stream), and the configuration directory (FX rates)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, AnyHttpUrl, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPERIENCE_", extra="ignore", populate_by_name=True)

    process_api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    timeout_seconds: float = 10.0
    host: str = "127.0.0.1"
    port: int = 8003

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL"))
    key_prefix: str = Field(default="rb:", validation_alias=AliasChoices("REVBRIDGE_KEY_PREFIX"))
    config_dir: Path = Field(default=Path("config"), validation_alias=AliasChoices("REVBRIDGE_CONFIG_DIR"))

    # projector: its consumer group on <prefix>events:facts
    consumer_group: str = "experience"
    block_ms: int = Field(default=1000, ge=1, le=5000)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    reclaim_idle_ms: int = Field(default=60_000, ge=1000)
    facts_retention_days: float = Field(
        default=7,
        gt=0,
        description="stream entries older than this are trimmed (a rebuild replays what is left)",
    )
