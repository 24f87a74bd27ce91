"""Where revbridge's database is and how long its record is kept."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/revbridge"


class DbSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REVBRIDGE_DB_", extra="ignore", populate_by_name=True)

    url: str = Field(default=DEFAULT_URL, validation_alias=AliasChoices("DATABASE_URL", "REVBRIDGE_DB_URL"))
    retention_years: int = Field(
        default=7, ge=1, le=100, description="the ledger and audit trail are kept this many years"
    )
    pool_size: int = Field(default=5, ge=1, le=100)
    migrate_on_start: bool = Field(
        default=True, description="services upgrade an older schema at start-up (else: refuse)"
    )
