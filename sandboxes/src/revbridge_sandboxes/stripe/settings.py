"""Settings of the Stripe sandbox, read from ``STRIPE_SANDBOX_*`` environment variables.

One secret key is one emulated account; the webhook URL (optional) gets an endpoint in every account,
unless ``STRIPE_SANDBOX_WEBHOOK_URLS`` (a JSON map secret key -> URL) names one for that account, as a
real deployment registers one endpoint per Stripe account.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "sk_test_revbridge_demo"  # demo value, only ever valid against this sandbox
DEMO_UK_SECRET_KEY = "sk_test_revbridge_demo_uk"  # demo value: a second account (a second legal entity)
DEMO_WEBHOOK_SECRET = "whsec_revbridge_demo"  # demo value, only ever valid against this sandbox
PINNED_API_VERSION = "2026-10-28.endive"


class StripeSandboxSettings(BaseSettings):
    """Accounts, the configured webhook endpoint and the delivery retry policy."""

    model_config = SettingsConfigDict(env_prefix="STRIPE_SANDBOX_", extra="ignore")

    secret_keys: str = f"{DEMO_SECRET_KEY},{DEMO_UK_SECRET_KEY}"
    webhook_url: str | None = None
    webhook_urls: dict[str, str] = {}
    """Per secret key, the endpoint its account's events go to (JSON); ``webhook_url`` for the rest."""
    webhook_secret: SecretStr = SecretStr(DEMO_WEBHOOK_SECRET)
    webhook_max_attempts: int = 5
    webhook_retry_base_seconds: float = 0.5
    webhook_retry_max_seconds: float = 3600.0
    """The longest wait between two attempts (the backoff doubles up to it)."""
    webhook_timeout_seconds: float = 5.0
    webhook_concurrency: int = 8
    """Deliveries in flight at once per endpoint; the rest wait in the endpoint's queue."""
    webhook_delivery_log_size: int = 1000
    """Delivered deliveries the admin API still lists (undelivered ones are always listed)."""
    api_version: str = PINNED_API_VERSION
    request_log_size: int = 1000
    hot_objects_per_kind: int = 1000
    """Invoices, payment intents and charges kept as live objects per account; older ones are kept
    compressed (inflated again when fetched). Nothing is dropped."""
    event_retention_seconds: float = 30 * 86400
    """Stripe keeps events 30 days (wall clock, whatever the test clocks say)."""
    event_retention_count: int = 20_000
    """Events kept per account at most, the oldest dropped first: test clocks make months of events
    in minutes; this keeps a 20,000-invoice run within the sandbox's memory budget."""
    idempotency_retention_seconds: float = 24 * 3600
    idempotency_retention_count: int = 20_000
    """Idempotency keys kept per account at most (Stripe: 24 hours), the oldest dropped first."""

    def webhook_url_for(self, secret_key: str) -> str | None:
        return self.webhook_urls.get(secret_key, self.webhook_url)

    def secret_key_list(self) -> list[str]:
        """The configured secret keys, in order, without blanks or duplicates."""
        return list(dict.fromkeys(k.strip() for k in self.secret_keys.split(",") if k.strip()))
