"""Local Ontraport REST API v1 emulator backed by SQLite (demos, end-to-end tests, fuzzing)."""

from .app import create_app
from .config import FaultSettings, SandboxConfig

__all__ = ["FaultSettings", "SandboxConfig", "create_app"]
