"""Tokens, their hashes, PKCE, and the sealing of Ontraport credentials.

What the store holds, and why a dump of it gives nothing away:

* every token (authorization code, access token, refresh token) is 256 random bits with a
  recognizable prefix (``omcp_ac_``, ``omcp_at_``, ``omcp_rt_``); the store keeps only its
  SHA-256 (a hash of a high-entropy secret cannot be guessed back, so no salt or slow hash);
* the Ontraport credentials travel with each token record, sealed with AES-256-GCM under a key
  derived (HKDF-SHA256) from that token itself.  Without a live token the ciphertext cannot be
  opened, so there is no server key to leak or rotate: a new token re-seals the credentials
  under its own key (the code's at exchange, the refresh token's at rotation);
* the record's store key is the AES-GCM associated data, so a sealed blob moved to another
  record does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..credentials import Credentials

TokenKind = Literal["code", "access", "refresh", "client", "request", "csrf"]

PREFIXES: Final[dict[TokenKind, str]] = {
    "code": "omcp_ac_",
    "access": "omcp_at_",
    "refresh": "omcp_rt_",
    "client": "omcp_client_",
    "request": "omcp_rq_",
    "csrf": "omcp_cs_",
}
"""Each kind of secret has its own prefix: a leaked one is recognizable (secret scanners) and
the gate tells its tokens from the static single-account token by the prefix alone."""

TOKEN_BYTES: Final = 32
_HKDF_INFO: Final = b"ontraport-mcp oauth credentials v1"
_SEAL_VERSION: Final = "v1"


class SealError(Exception):
    """A sealed value does not open under this token (wrong token, tampered or moved blob)."""


def new_token(kind: TokenKind) -> str:
    """A fresh random secret of ``kind``."""
    return PREFIXES[kind] + secrets.token_urlsafe(TOKEN_BYTES)


def is_kind(token: str, kind: TokenKind) -> bool:
    return token.startswith(PREFIXES[kind])


def token_hash(token: str) -> str:
    """The only form in which a token is stored (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected_hash: str) -> bool:
    """Constant-time check of a presented secret against its stored hash."""
    return hmac.compare_digest(token_hash(given), expected_hash)


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


_VERIFIER_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)


def valid_verifier(verifier: str) -> bool:
    """RFC 7636 §4.1: 43 to 128 unreserved characters."""
    return 43 <= len(verifier) <= 128 and set(verifier) <= _VERIFIER_CHARS


def valid_challenge(challenge: str) -> bool:
    """An S256 challenge is the base64url of 32 bytes: 43 characters, no padding."""
    return len(challenge) == 43 and set(challenge) <= _VERIFIER_CHARS


def pkce_matches(verifier: str, challenge: str) -> bool:
    return valid_verifier(verifier) and hmac.compare_digest(pkce_challenge(verifier), challenge)


def _key(token: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(token.encode())


def seal(creds: Credentials, token: str, *, bound_to: str) -> str:
    """The credentials encrypted under ``token``'s key, bound to the record key ``bound_to``."""
    nonce = os.urandom(12)
    plain = json.dumps({"app_id": creds.app_id, "api_key": creds.api_key}).encode()
    sealed = AESGCM(_key(token)).encrypt(nonce, plain, bound_to.encode())
    return f"{_SEAL_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(blob: str, token: str, *, bound_to: str) -> Credentials:
    """The credentials a ``seal`` made; ``SealError`` when they do not open."""
    version, _, data = blob.partition(".")
    if version != _SEAL_VERSION:
        raise SealError("unknown seal version")
    try:
        raw = base64.urlsafe_b64decode(data.encode())
        plain = AESGCM(_key(token)).decrypt(raw[:12], raw[12:], bound_to.encode())
        fields = json.loads(plain)
        return Credentials(app_id=str(fields["app_id"]), api_key=str(fields["api_key"]))
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise SealError("the credentials do not open under this token") from exc


def app_digest(app_id: str) -> str:
    """The account label grants are listed and revoked by: a digest of the app id alone, so an
    operator can revoke every grant of an account knowing only its app id."""
    return hashlib.sha256(f"ontraport-app\x00{app_id.strip()}".encode()).hexdigest()[:16]
