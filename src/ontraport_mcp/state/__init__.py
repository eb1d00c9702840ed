"""State that must outlive one request, one process or one replica.

One interface (``Store``), two backends:

* ``sqlite`` (the default): a file under the data directory; survives a restart, serves every
  worker process of one host;
* ``redis`` (``--store redis://host:port/db``, Redis 7): shared by replicas on several hosts.

What lives here: confirmation tokens, the money duplicate guard, the ``/objects/meta`` cache
coordination, OAuth clients/codes/grants/tokens, light sessions, the per-account rate budget.
Values are opaque bytes; callers encode them (JSON) and never store a secret in the clear
(tokens as hashes, credentials encrypted; see ``oauth``).

The per-account rate budget (``governor.Governor``) rides on the same backend; import it from
``ontraport_mcp.state.governor`` (it pulls in ``limits`` and ``redis``, which this package's
import does not).
"""

import os

from .store import Store, StoreLapse, StoreUnavailable

__all__ = ["Store", "StoreLapse", "StoreUnavailable", "open_store"]


def open_store(url: str | None, *, data_dir: str) -> Store:
    """The store a ``--store`` setting names: None or ``sqlite:///path`` → SQLite (default file
    ``<data_dir>/state.sqlite3``), ``redis://…`` / ``rediss://…`` → Redis.  (Here, not in
    ``store``, so the backends may import the interface without a circle.)"""
    if url is None or url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        path = url[len("sqlite://") :] if url and url.startswith("sqlite://") else None
        default = os.path.join(os.path.expanduser(data_dir), "state.sqlite3")
        return SQLiteStore(path or default)
    if url.startswith(("redis://", "rediss://")):
        from .redis import RedisStore

        return RedisStore(url)
    raise ValueError("--store takes sqlite:///path/to/file or redis://host:port/db")
