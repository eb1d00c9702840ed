"""An Ontraport account's credentials, kept out of every log, error and repr.

The server never stores credentials: each request brings them (``Api-Key`` + ``Api-Appid``
headers, or ``Authorization: Bearer <appid>:<key>``), or single-account mode reads them from the
environment.  Sessions, caches and audit lines are keyed by ``account_hash`` — a SHA-256 of the
pair — never by the values themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Credentials:
    app_id: str = field(repr=False)
    api_key: str = field(repr=False)
    digest: str = field(init=False, repr=False, compare=False)
    """SHA-256 of the pair: the identity sessions are bound to (computed once)."""

    def __post_init__(self) -> None:
        value = hashlib.sha256(f"{self.app_id}\x00{self.api_key}".encode()).hexdigest()
        object.__setattr__(self, "digest", value)

    @property
    def account_hash(self) -> str:
        """A short, non-reversible account label for logs and cache keys."""
        return self.digest[:16]

    def headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key, "Api-Appid": self.app_id}

    def redact(self, text: str) -> str:
        """Remove the secret values from a text that might have echoed them."""
        for secret in (self.api_key, self.app_id):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text

    def __repr__(self) -> str:
        return f"Credentials(account={self.account_hash})"


def from_headers(headers: Mapping[str, str]) -> Credentials | None:
    """Credentials from request headers; None when absent or incomplete."""
    key = headers.get("api-key", "").strip()
    app_id = headers.get("api-appid", "").strip()
    if key and app_id:
        return Credentials(app_id=app_id, api_key=key)
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and ":" in token:
        app_id, _, key = token.strip().partition(":")
        if app_id and key:
            return Credentials(app_id=app_id, api_key=key)
    return None
