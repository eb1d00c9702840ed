"""Settings of one sandbox instance (credentials, seed, limits, faults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_APP_ID = "2_AppID_SANDBOX"
DEFAULT_ACCOUNT_ID = 204817


@dataclass
class FaultSettings:
    """Injected misbehaviour of the /1 API; drawn from a RNG seeded with ``seed``."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503])
    hang_rate: float = 0.0
    hang_s: float = 30.0
    malformed_rate: float = 0.0
    force_429: bool = False
    seed: int = 1
    paths: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SandboxConfig:
    """Everything a sandbox needs to start. ``db`` is ``:memory:`` or a file path."""

    db: str = ":memory:"
    seed: int = 1
    contacts: int = 200
    api_key: str = DEFAULT_API_KEY
    app_id: str = DEFAULT_APP_ID
    account_id: int = DEFAULT_ACCOUNT_ID
    rate_limit: int = 180
    rate_window_s: float = 60.0
    custom_objects: int = 0
    faults: FaultSettings = field(default_factory=FaultSettings)
    request_log_size: int = 5000
    hosted_domain: str = "sandbox.ontraport.com"
