"""Server settings: command-line flags override the environment (``ONTRAPORT_*``)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_UPSTREAM = "https://api.ontraport.com/1"
# the toolsets of runtime/toolspec.py TOOLSETS (a test keeps the two equal; settings imports
# nothing of the runtime)
TOOLSET_NAMES = ("crud", "query", "manage", "commerce", "custom")


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
    # the SDK's per-request pipeline (see fastpath.py); our spans and metrics cover both paths
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

    # access, in every mode: an operator's narrowing of what any caller (or OAuth grant) may use
    read_only: bool = False  # only tools of class R are listed and callable
    # toolsets served (runtime/toolspec.py TOOLSETS): crud, query, manage, commerce, custom;
    # the variable takes a comma-separated list (or a JSON list)
    toolsets: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(TOOLSET_NAMES))

    # state that outlives a request (state/): SQLite under data_dir unless `store` names Redis
    data_dir: str = "~/.local/share/ontraport-mcp"
    store: str | None = None  # sqlite:///path/file.sqlite3 or redis://host:port/db

    # OAuth 2.1 (oauth/): on by default over HTTP, alongside header credentials
    oauth: bool = True
    public_url: str | None = None  # the public base URL behind a proxy: issuer and resource
    oauth_code_ttl_s: float = 60.0
    oauth_access_token_ttl_s: float = 3600.0
    oauth_refresh_token_ttl_s: float = 30 * 86_400.0

    # the per-account request budget toward Ontraport, shared by every replica (state/)
    rate_limit_per_minute: int = 180
    rate_wait_max_s: float = (
        2.0  # a request beyond the budget waits at most this, then rate_limited
    )

    # --- request-state keys (issue #17, replicas; block added by the safety-state work) --------
    # secrets (at least 32 bytes each) that seal the request state of 2026-07-28 multi-round-trip
    # confirmations; every replica shares them, so a retry answered by another replica verifies.
    # The first seals, all unseal (rotation: [old,new] → [new,old] → [new]).  The variable
    # ONTRAPORT_REQUEST_STATE_KEYS takes a comma-separated list.  Empty: a key per process.
    request_state_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # --- end of the request-state block ---------------------------------------------------------

    # observability (telemetry/)
    metrics: bool = True  # GET /metrics (Prometheus)
    metrics_token: SecretStr | None = None  # the bearer token /metrics requires, when set
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with request ids

    # audit
    audit_log: str = "stderr"  # "stderr", "off", or a file path
    audit_args: Literal["safe", "full"] = "safe"  # full: argument values too (see audit.py)

    model_config = SettingsConfigDict(
        env_prefix="ONTRAPORT_", extra="ignore", populate_by_name=True
    )

    @field_validator("toolsets", mode="before")
    @classmethod
    def _known_toolsets(cls, value: Any) -> list[str]:
        return toolset_names(value)

    @field_validator("request_state_keys", mode="before")
    @classmethod
    def _request_state_keys(cls, value: Any) -> list[Any]:
        """Comma-separated from the environment (lengths are checked where the keys are used,
        so no error here ever echoes a secret)."""
        if isinstance(value, str):
            value = value.split(",")
        return [
            k.strip() if isinstance(k, str) else k
            for k in value
            if not isinstance(k, str) or k.strip()
        ]

    def single_account(self) -> tuple[str, str] | None:
        if self.api_key and self.app_id:
            return self.app_id.get_secret_value(), self.api_key.get_secret_value()
        return None


def toolset_names(value: Any) -> list[str]:
    """Toolsets from a comma-separated text, a JSON list text or a list: known names only
    (``ValueError`` naming the unknown ones and the known ones).  The one reading of the
    setting, for the variable and for ``--toolsets``."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split(",")
    names = [str(name).strip() for name in value if str(name).strip()]
    unknown = [name for name in names if name not in TOOLSET_NAMES]
    if unknown or not names:
        raise ValueError(
            f"unknown toolset {', '.join(unknown) or '(none)'}; known: {', '.join(TOOLSET_NAMES)}"
        )
    return names
