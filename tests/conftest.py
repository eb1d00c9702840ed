"""Fixtures shared by the end-to-end tests: a real sandbox and a real MCP server on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.settings import Settings
from tests.server_thread import ServerThread

pytest_plugins = ["tests.sandbox_plugin"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _data_dir() -> Iterator[str]:
    """Every server of the run (and every subprocess) keeps its state under a temporary folder,
    never in $HOME; removed at the end.  The per-account request budget (180 a minute by
    default, shared by the whole run's servers since they serve one sandbox account) is lifted:
    the tests of the governor set their own."""
    folder = tempfile.mkdtemp(prefix="ontraport-mcp-tests-")
    values = {"ONTRAPORT_DATA_DIR": folder, "ONTRAPORT_RATE_LIMIT_PER_MINUTE": TEST_RATE_BUDGET}
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield folder
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(folder, ignore_errors=True)


TEST_RATE_BUDGET = "1000000"


def server_settings(upstream: str, **overrides: object) -> Settings:
    """Settings of a test server (``ServerThread`` gives each server a data directory of its
    own unless ``data_dir`` or ``store`` is passed to share one)."""
    settings = Settings(base_url=upstream, audit_log="off", **overrides)  # type: ignore[arg-type]
    return settings


@pytest.fixture(scope="session")
def mcp_server(sandbox: SandboxServer) -> Iterator[ServerThread]:
    """One server for the session, upstream = the session sandbox."""
    with ServerThread(server_settings(sandbox.base_url)) as server:
        yield server


@pytest.fixture
def creds(sandbox: SandboxServer) -> dict[str, str]:
    return {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}


# --- a whole run must leave no credential in any log output ------------------------------------

WATCHED_SECRETS = ("sandbox-key", "2_AppID_SANDBOX", "wrong-secret-key", "not-the-key")


class _LeakWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not our concern here
            return
        if record.exc_text:
            text += record.exc_text
        for secret in WATCHED_SECRETS:
            if secret in text and len(self.leaks) < 20:
                self.leaks.append(f"{record.name}: {text[:200]}")


_WATCH = _LeakWatch()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(_WATCH)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _WATCH.leaks:
        print("\nCREDENTIAL LEAK in log output:\n" + "\n".join(_WATCH.leaks))
        session.exitstatus = 1


def missing_binary(message: str, *, module_level: bool = False) -> None:
    """Skip a test that needs a program this machine lacks, with a message saying how to get
    it; under CI (``ONTRAPORT_REQUIRE_BINARIES=1``, set by ``.ci/run`` after installing them)
    fail instead, so that CI never passes by skipping."""
    if os.environ.get("ONTRAPORT_REQUIRE_BINARIES") == "1":
        pytest.fail(f"required in CI: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=module_level)
