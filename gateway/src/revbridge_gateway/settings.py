"""Settings of the gateway: its upstreams, its issuer identity, where clients and keys live, Redis.

The gateway holds URLs for the two layers it fronts (experience and process API); it never calls
the system API. ``REDIS_URL``, ``DATABASE_URL``, ``REVBRIDGE_KEY_PREFIX`` and ``REVBRIDGE_MODE`` are
shared by every revbridge process, so they are read without the ``GATEWAY_`` prefix. PostgreSQL holds
only the audit trail the gateway writes (see ``trail``); the gateway serves while it is away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, AnyHttpUrl, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from revbridge_gateway.external import ExternalIssuerConfig

JWKS_MAX_AGE_SECONDS = 300  # Cache-Control of /.well-known/jwks.json (oauth.py)
MIN_ROTATION_SECONDS = 2 * JWKS_MAX_AGE_SECONDS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    experience_api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8003")
    process_api_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8002")
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "revbridge"
    clients_file: Path = Path("config/gateway-clients.yaml")
    users_file: Path = Path("config/gateway-users.yaml")  # browser sign-in, sandbox mode only
    authorization_code_ttl_seconds: int = Field(default=60, gt=0, le=600)
    keys_dir: Path = Path(".tmp/gateway-keys")
    token_ttl_seconds: int = Field(default=300, gt=0, le=3600)
    # 0: one static key (signing-key.pem); else a new key every period, see keys.py. At least twice
    # the JWKS max-age, so a cached JWKS always holds the next key before it signs.
    key_rotation_seconds: int = Field(default=86_400, ge=0)
    leeway_seconds: int = Field(default=30, ge=0, le=60)
    upstream_timeout_seconds: float = 10.0
    experience_timeout_seconds: float | None = None  # per upstream; None: upstream_timeout_seconds
    process_timeout_seconds: float | None = None
    breaker_failures: int = Field(default=5, gt=0)
    breaker_cooldown_seconds: float = Field(default=5.0, gt=0)
    idempotency_running_ttl_seconds: int = Field(default=60, gt=0)
    external_issuers: list[ExternalIssuerConfig] = Field(default_factory=list)
    external_jwks_cooldown_seconds: float = Field(default=30.0, ge=0)
    max_body_bytes: int = 1024 * 1024
    redis_timeout_seconds: float = 0.5
    audit_backlog: int = Field(default=10_000, ge=1, description="audit rows kept while PostgreSQL is away")
    audit_flush_seconds: float = Field(default=5.0, ge=0, description="at shutdown, to write the backlog")

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL"))
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "REVBRIDGE_DB_URL")
    )  # None: revbridge_db's default
    key_prefix: str = Field(default="rb:", validation_alias=AliasChoices("REVBRIDGE_KEY_PREFIX"))
    mode: Literal["sandbox", "live"] = Field(
        default="sandbox", validation_alias=AliasChoices("REVBRIDGE_MODE")
    )

    @field_validator("key_rotation_seconds")
    @classmethod
    def _rotation_outlives_cached_jwks(cls, value: int) -> int:
        if 0 < value < MIN_ROTATION_SECONDS:
            raise ValueError(f"must be 0 (no rotation) or at least {MIN_ROTATION_SECONDS} s")
        return value

    def timeouts(self) -> dict[str, float]:
        """Total time allowed for one upstream call, per API."""
        return {
            "experience": self.experience_timeout_seconds or self.upstream_timeout_seconds,
            "process": self.process_timeout_seconds or self.upstream_timeout_seconds,
        }

    def upstreams(self) -> dict[str, str]:
        """Base URL of each API the gateway routes to, by the first path segment it answers on."""
        return {
            "experience": str(self.experience_api_url).rstrip("/"),
            "process": str(self.process_api_url).rstrip("/"),
        }
