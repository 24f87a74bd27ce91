"""Settings of the experience API: only the URL of the layer below (the process API)."""

from __future__ import annotations

from pydantic import AnyHttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXPERIENCE_", extra="ignore")

    process_api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    timeout_seconds: float = 10.0
