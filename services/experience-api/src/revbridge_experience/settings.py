"""Settings of the experience API and its projector: the URL of the layer below (the process API),
PostgreSQL (``DATABASE_URL``: the ledger and the read model) and the configuration directory (FX
rates)."""

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

    config_dir: Path = Field(default=Path("config"), validation_alias=AliasChoices("REVBRIDGE_CONFIG_DIR"))

    # projector: folds the ledger (PostgreSQL) into the read model
    batch_size: int = Field(default=2000, ge=1, le=50_000)
    idle_poll_ms: int = Field(
        default=100, ge=10, le=5000, description="how often an idle projector looks for new ledger rows"
    )
