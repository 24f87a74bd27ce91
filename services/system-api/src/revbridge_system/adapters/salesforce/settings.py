"""Salesforce settings: instance, connected-app credentials, callout secret and polling interval.

Defaults point at the local sandbox with demo credentials that protect nothing.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SalesforceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALESFORCE_", extra="ignore")

    instance_url: str = "http://127.0.0.1:12112"
    client_id: str = "revbridge-demo-client"
    client_secret: SecretStr = SecretStr("revbridge-demo-secret")  # demo placeholder
    api_version: str = "59.0"
    callout_secret: SecretStr = SecretStr("revbridge-demo-callout-secret")  # demo placeholder
    callout_tolerance_seconds: int = 300
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    timeout_seconds: float = 20.0
    config_dir: Path = Field(
        default=Path("config"), validation_alias=AliasChoices("REVBRIDGE_CONFIG_DIR", "SALESFORCE_CONFIG_DIR")
    )
    """Where ``salesforce-fields.yaml`` (which fields carry a contract's lines) is read from."""

    def secrets(self) -> dict[str, SecretStr]:
        return {
            "SALESFORCE_CLIENT_SECRET": self.client_secret,
            "SALESFORCE_CALLOUT_SECRET": self.callout_secret,
        }
