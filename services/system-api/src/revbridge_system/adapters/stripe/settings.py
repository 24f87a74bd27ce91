"""Stripe settings: the API base and the configured accounts (one per legal entity).

``STRIPE_ACCOUNTS`` is a JSON map ``{"<account>": {"secret_key": ..., "webhook_secret": ...}}``;
the account name is what appears in the system API's paths. The defaults are demo values that
only the local sandbox accepts.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "sk_test_revbridge_demo"  # demo placeholder, valid only against the sandbox
DEMO_WEBHOOK_SECRET = "whsec_revbridge_demo"  # demo placeholder, valid only against the sandbox


class StripeAccount(BaseModel):
    secret_key: SecretStr
    webhook_secret: SecretStr


def _demo_accounts() -> dict[str, StripeAccount]:
    return {
        "default": StripeAccount(
            secret_key=SecretStr(DEMO_SECRET_KEY), webhook_secret=SecretStr(DEMO_WEBHOOK_SECRET)
        )
    }


class StripeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRIPE_", extra="ignore")

    api_base: str = "http://127.0.0.1:12111"
    accounts: dict[str, StripeAccount] = Field(default_factory=_demo_accounts)
    timeout_seconds: float = 20.0

    def secrets(self) -> dict[str, SecretStr]:
        """Every secret by its setting name, for the start-up check outside sandbox mode."""
        out: dict[str, SecretStr] = {}
        for name, account in self.accounts.items():
            out[f"STRIPE_ACCOUNTS.{name}.secret_key"] = account.secret_key
            out[f"STRIPE_ACCOUNTS.{name}.webhook_secret"] = account.webhook_secret
        return out
