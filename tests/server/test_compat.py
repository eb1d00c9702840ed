"""The SDK's private names the server relies on (``transport/compat.py``) are where they were:
an SDK upgrade that moves them fails here, by name, instead of somewhere at run time."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from ontraport_mcp.transport import compat


def test_the_installed_sdk_is_the_one_the_private_names_were_checked_against():
    installed = ".".join(version("mcp").split(".")[:2])
    assert installed == compat.CHECKED_AGAINST, (
        f"mcp {version('mcp')} is installed; transport/compat.py was checked against "
        f"{compat.CHECKED_AGAINST}: re-read its private names, then move CHECKED_AGAINST"
    )


def test_every_private_name_exists_with_the_shape_used():
    manager = StreamableHTTPSessionManager(app=Server("compat-check"))
    assert isinstance(compat.live_sessions(manager), dict)
    for name in compat.PRIVATE_NAMES:
        assert hasattr(manager, name), name
    discard = manager._discard_session
    assert inspect.iscoroutinefunction(discard)
    assert list(inspect.signature(discard).parameters)[:2] == ["session_id", "transport"]


def test_no_other_module_reaches_a_private_sdk_name():
    """Private SDK names appear only in compat.py (``manager._x``, ``mcp._x`` …)."""
    import re
    from pathlib import Path

    root = Path(compat.__file__).resolve().parents[1]
    pattern = re.compile(r"\b(manager|session_manager|mcp)\._[a-z]\w*")
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "compat.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
