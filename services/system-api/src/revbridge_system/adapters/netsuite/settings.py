"""NetSuite settings: REST base URL, account (the OAuth realm) and the four TBA credentials.

The real base is ``https://<account>.suitetalk.api.netsuite.com``; the default is the sandbox,
with demo credentials that protect nothing.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NetSuiteSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETSUITE_", extra="ignore")

    base_url: str = "http://127.0.0.1:12113"
    account: str = "1234567_SB1"
    consumer_key: SecretStr = SecretStr("revbridge-demo-consumer-key")  # demo placeholder
    consumer_secret: SecretStr = SecretStr("revbridge-demo-consumer-secret")  # demo placeholder
    token_id: SecretStr = SecretStr("revbridge-demo-token-id")  # demo placeholder
    token_secret: SecretStr = SecretStr("revbridge-demo-token-secret")  # demo placeholder
    timeout_seconds: float = 30.0
    # The account's concurrency limit, shared by every replica in Redis (``budget``); 0 turns it off.
    concurrency_budget: int = Field(default=15, ge=0, le=1000)
    budget_max_wait_seconds: float = Field(default=10.0, ge=0)
    budget_cooldown_default_seconds: float = Field(default=1.0, ge=0)

    def secrets(self) -> dict[str, SecretStr]:
        return {
            "NETSUITE_CONSUMER_KEY": self.consumer_key,
            "NETSUITE_CONSUMER_SECRET": self.consumer_secret,
            "NETSUITE_TOKEN_ID": self.token_id,
            "NETSUITE_TOKEN_SECRET": self.token_secret,
        }
