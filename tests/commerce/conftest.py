"""Fixtures of the commerce tests (see cm_util)."""

from tests.commerce.cm_util import env

__all__ = ["env"]
