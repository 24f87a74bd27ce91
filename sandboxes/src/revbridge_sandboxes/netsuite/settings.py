"""Sandbox settings read from ``NETSUITE_SANDBOX_*`` environment variables.

The defaults are demo credentials (they say so in their value) so the sandbox starts with no setup;
the revbridge adapter must be configured with the same four TBA values to authenticate.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NetSuiteSandboxSettings(BaseSettings):
    """Account id, Token-Based Auth credentials and the account concurrency limit."""

    model_config = SettingsConfigDict(env_prefix="NETSUITE_SANDBOX_", extra="ignore")

    account: str = "1234567_SB1"
    consumer_key: str = "revbridge-demo-consumer-key"
    consumer_secret: SecretStr = SecretStr("revbridge-demo-consumer-secret")
    token_id: str = "revbridge-demo-token-id"
    token_secret: SecretStr = SecretStr("revbridge-demo-token-secret")
    concurrency: int = Field(default=15, ge=1)
    timestamp_window_seconds: int = 300
