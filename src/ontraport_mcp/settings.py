"""Server settings: command-line flags override the environment (``ONTRAPORT_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_UPSTREAM = "https://api.ontraport.com/1"


class Settings(BaseSettings):
    # upstream
    base_url: str = DEFAULT_UPSTREAM
    api_key: SecretStr | None = None  # single-account mode (stdio, or HTTP with mcp_token)
    app_id: SecretStr | None = None
    mcp_token: SecretStr | None = None  # bearer token clients must send in single-account HTTP mode
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    read_retries: int = 3  # attempts, idempotent reads only
    max_connections: int = 64  # open to the API at once, all accounts together
    retry_deadline_s: float = 20.0

    # transport
    host: str = "127.0.0.1"
    port: int = 8000
    transport: Literal["http", "stdio"] = "http"
    stateless: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    session_idle_timeout_s: float = 1800.0
    max_sessions: int = 10_000
    # sessions one credential may hold at once (light and full together), so no caller can fill
    # max_sessions for everyone else; single-account mode (one credential) is held to max_sessions
    max_sessions_per_credential: int = 100
    # request headers larger than this answer 431 (an Mcp-Session-Id is never longer than 128)
    max_header_bytes: int = 16_384
    # how long a credential Ontraport refused answers 401 without asking Ontraport again
    credential_refused_ttl_s: float = 30.0
    # distinct credentials being checked against Ontraport at once; beyond, 503 + Retry-After
    max_credential_checks: int = 8
    # sessions of clients that cannot be asked to confirm by elicitation are kept by this server
    # in a few hundred bytes, served by the SDK's stateless path (see sessions.py); false gives
    # every handshake-era client a full SDK session (~37 KiB while idle)
    light_sessions: bool = True
    # tools/call of tools that never confirm, 2026-07-28 or over a light session, answered without
    # the SDK's per-request pipeline (see fastpath.py); false keeps the SDK's OpenTelemetry span
    fast_tool_calls: bool = True

    # manifest
    manifest_cap: int = 100
    meta_ttl_s: float = 300.0

    # safety
    confirm: Literal["always", "money-only", "never"] = "always"
    confirmation_ttl_s: float = 300.0
    duplicate_window_s: float = 600.0
    bulk_delete_limit: int = 100
    result_token_budget: int = 25_000

    # audit
    audit_log: str = "stderr"  # "stderr", "off", or a file path
    audit_args: Literal["safe", "full"] = "safe"  # full: argument values too (see audit.py)

    model_config = SettingsConfigDict(
        env_prefix="ONTRAPORT_", extra="ignore", populate_by_name=True
    )

    def single_account(self) -> tuple[str, str] | None:
        if self.api_key and self.app_id:
            return self.app_id.get_secret_value(), self.api_key.get_secret_value()
        return None
