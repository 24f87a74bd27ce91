"""The system API's one settings object, composed of the three adapters' settings.

``REVBRIDGE_MODE=sandbox`` (the default) runs against the local sandboxes with demo credentials;
any other mode refuses to start while a secret is missing or still a demo placeholder, so a
misconfigured deployment fails at boot rather than on its first call.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from revbridge_system.adapters.netsuite.settings import NetSuiteSettings
from revbridge_system.adapters.salesforce.settings import SalesforceSettings
from revbridge_system.adapters.stripe.settings import StripeSettings

DEMO_MARKERS = ("revbridge_demo", "revbridge-demo")


def _is_placeholder(secret: SecretStr | None) -> bool:
    value = secret.get_secret_value() if secret is not None else ""
    return not value.strip() or any(marker in value for marker in DEMO_MARKERS)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mode: Literal["sandbox", "live"] = Field(
        "sandbox", validation_alias=AliasChoices("REVBRIDGE_MODE", "mode")
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL", "redis_url")
    )
    key_prefix: str = Field("rb:", validation_alias=AliasChoices("REVBRIDGE_KEY_PREFIX", "key_prefix"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("SYSTEM_HOST", "host"))
    port: int = Field(8001, validation_alias=AliasChoices("SYSTEM_PORT", "port"))
    reuse_port: bool = Field(False, validation_alias=AliasChoices("SYSTEM_REUSE_PORT", "reuse_port"))
    """Bind with SO_REUSEPORT so several replicas on one host share the port (the kernel spreads
    connections among them): how the system API scales past one core without a load balancer."""
    stream_maxlen: int = 100_000
    webhook_record_ttl_seconds: int = 7 * 24 * 3600
    stripe: StripeSettings = Field(default_factory=StripeSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)
    netsuite: NetSuiteSettings = Field(default_factory=NetSuiteSettings)

    @model_validator(mode="after")
    def _refuse_placeholders_outside_sandbox(self) -> Settings:
        if self.mode == "sandbox":
            return self
        secrets = {**self.stripe.secrets(), **self.salesforce.secrets(), **self.netsuite.secrets()}
        bad = sorted(name for name, secret in secrets.items() if _is_placeholder(secret))
        if not self.stripe.accounts:
            bad.append("STRIPE_ACCOUNTS")
        if bad:
            raise ValueError(
                f"REVBRIDGE_MODE={self.mode} needs real secrets; missing or demo: {', '.join(bad)}"
            )
        return self
