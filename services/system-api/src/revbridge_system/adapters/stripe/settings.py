"""Stripe settings: the API base and the configured accounts (one per legal entity).

``STRIPE_ACCOUNTS`` is a JSON map ``{"<account>": {"secret_key": ..., "webhook_secret": ...}}``;
the account name is what appears in the system API's paths (``/v1/billing/<account>/...``) and in
the webhook endpoint (``/v1/webhooks/stripe/<account>``). The defaults are demo values that only
the local sandbox accepts: ``default`` and ``uk``, two secret keys of the same sandbox.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "sk_test_revbridge_demo"  # demo placeholder, valid only against the sandbox
DEMO_UK_SECRET_KEY = "sk_test_revbridge_demo_uk"  # demo placeholder: the sandbox's second account
DEMO_WEBHOOK_SECRET = "whsec_revbridge_demo"  # demo placeholder, valid only against the sandbox


class StripeAccount(BaseModel):
    secret_key: SecretStr
    webhook_secret: SecretStr


def _demo_accounts() -> dict[str, StripeAccount]:
    """The sandbox's two demo accounts: ``default`` bills Revbridge Inc. (USD), ``uk`` Revbridge Ltd (GBP)."""
    return {
        name: StripeAccount(secret_key=SecretStr(key), webhook_secret=SecretStr(DEMO_WEBHOOK_SECRET))
        for name, key in (("default", DEMO_SECRET_KEY), ("uk", DEMO_UK_SECRET_KEY))
    }


class StripeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRIPE_", extra="ignore")

    api_base: str = "http://127.0.0.1:12111"
    accounts: dict[str, StripeAccount] = Field(default_factory=_demo_accounts)
    timeout_seconds: float = 20.0
    meter_events_per_second: float = Field(
        default=1000.0, gt=0, description="meter events/s per account and process (Stripe live: 1,000/s)"
    )
    meter_events_concurrency: int = Field(default=64, ge=1, le=1024)

    def secrets(self) -> dict[str, SecretStr]:
        """Every secret by its setting name, for the start-up check outside sandbox mode."""
        out: dict[str, SecretStr] = {}
        for name, account in self.accounts.items():
            out[f"STRIPE_ACCOUNTS.{name}.secret_key"] = account.secret_key
            out[f"STRIPE_ACCOUNTS.{name}.webhook_secret"] = account.webhook_secret
        return out
