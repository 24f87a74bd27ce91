"""Sandbox settings read from ``NETSUITE_SANDBOX_*`` environment variables.

The defaults are demo credentials (they say so in their value) so the sandbox starts with no setup;
the revbridge adapter must be configured with the same four TBA values to authenticate.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NetSuiteSandboxSettings(BaseSettings):
    """Account id, TBA and OAuth 2.0 M2M credentials, and the account concurrency limit."""

    model_config = SettingsConfigDict(env_prefix="NETSUITE_SANDBOX_", extra="ignore")

    account: str = "1234567_SB1"
    consumer_key: str = "revbridge-demo-consumer-key"
    consumer_secret: SecretStr = SecretStr("revbridge-demo-consumer-secret")
    token_id: str = "revbridge-demo-token-id"
    token_secret: SecretStr = SecretStr("revbridge-demo-token-secret")
    concurrency: int = Field(default=15, ge=1)
    timestamp_window_seconds: int = 300
    # OAuth 2.0 client credentials (M2M): the integration's client id, the certificate id sent as
    # the JWT ``kid``, and the certificate's public key (PEM text or a path to a PEM file).
    m2m_client_id: str | None = None
    m2m_certificate_id: str | None = None
    m2m_public_key: str | None = None
