"""The one error type of the OAuth endpoints: an RFC 6749 §5.2 / RFC 7591 §3.2.2 error code,
a description a person can act on, and the HTTP status it is answered with.

    OAuthError        code, description, status (400 unless said otherwise)
    ├── ClientError   the client or its metadata is not acceptable (clients.py)
    ├── GrantError    a code or refresh token cannot be exchanged (grants.py)
    └── BadRequest    the HTTP request itself is malformed (routes.py)
"""

from __future__ import annotations


class OAuthError(Exception):
    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


class ClientError(OAuthError):
    """A client or its metadata is not acceptable."""


class GrantError(OAuthError):
    """A token request refused."""


class BadRequest(OAuthError):
    """A request refused before any state changed."""
