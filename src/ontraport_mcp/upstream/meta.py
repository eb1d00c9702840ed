"""Per-account ``/objects/meta``: fetched once, cached with a TTL, single-flight.

Every ``tools/list`` needs the account's custom objects, and every generic tool resolves type
names and fields; the account's 180-requests-a-minute budget must not pay for that each time.
Concurrent callers on one account share one upstream request; a failure is never cached and
never turned into a partial answer.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..credentials import Credentials
from ..errors import InvalidArguments
from ..generated.api import OntraportApi
from ..state import Store, StoreUnavailable
from .client import Upstream

CUSTOM_OBJECT_MIN_ID = 10_000


@dataclass(frozen=True, slots=True)
class TypeMeta:
    type_id: int
    name: str
    fields: Mapping[str, Mapping[str, Any]]
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @property
    def custom(self) -> bool:
        return self.type_id >= CUSTOM_OBJECT_MIN_ID

    @property
    def recency(self) -> tuple[int, int]:
        """Sort key for "most recently modified first": the type's dlm when meta carries one,
        else its id (Ontraport assigns custom object ids in creation order)."""
        for key in ("dlm", "date_modified", "date"):
            value = self.raw.get(key)
            if value not in (None, ""):
                try:
                    return int(float(str(value))), self.type_id
                except ValueError:
                    continue
        return 0, self.type_id


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Names people use for built-in types whose meta name differs (normalised, singular and plural).
TYPE_ALIASES: dict[str, int] = {
    "automation": 140,
    "automations": 140,
    "campaign": 140,
    "campaigns": 140,
    "campaignbuilder": 140,
    "invoice": 46,
    "invoices": 46,
    "transaction": 46,
    "transactions": 46,
    "sequencesubscriber": 8,
    "sequencesubscribers": 8,
    "tagsubscriber": 138,
    "tagsubscribers": 138,
    "openorder": 44,
    "openorders": 44,
    "card": 45,
    "cards": 45,
    "creditcard": 45,
    "creditcards": 45,
    "shippingtype": 64,
    "shippingtypes": 64,
    "log": 4,
    "logs": 4,
    "logitem": 4,
    "logitems": 4,
}


@dataclass(frozen=True, slots=True)
class AccountMeta:
    types: Mapping[int, TypeMeta]
    fetched_at: float

    @classmethod
    def from_data(cls, data: Any) -> AccountMeta:
        types: dict[int, TypeMeta] = {}
        if isinstance(data, dict):
            for key, entry in data.items():
                try:
                    type_id = int(key)
                except (TypeError, ValueError):
                    continue
                if isinstance(entry, dict):
                    raw_fields = entry.get("fields")
                    fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
                    types[type_id] = TypeMeta(type_id, str(entry.get("name") or key), fields, entry)
        return cls(types=types, fetched_at=time.monotonic())

    @property
    def custom_types(self) -> list[TypeMeta]:
        return [t for t in self.types.values() if t.custom]

    def resolve(self, object_type_id: int | None, object_type: str | None) -> TypeMeta | None:
        """The type named by id or by name (singular, plural, case/space-insensitive)."""
        if object_type_id is not None:
            return self.types.get(object_type_id)
        if not object_type:
            return None
        wanted = _norm(object_type)
        alias = TYPE_ALIASES.get(wanted)
        if alias is not None and alias in self.types:
            return self.types[alias]
        for meta in self.types.values():
            name = _norm(meta.name)
            if wanted in (name, name + "s", name + "es") or (
                name.endswith("y") and wanted == name[:-1] + "ies"
            ):
                return meta
        return None

    def require(self, object_type_id: int | None, object_type: str | None) -> TypeMeta:
        found = self.resolve(object_type_id, object_type)
        if found is not None:
            return found
        if object_type_id is None and not object_type:
            raise InvalidArguments("Give `object_type_id` (e.g. 0 for contacts) or `object_type`.")
        known = ", ".join(
            f"{t.type_id} {t.name}" for t in sorted(self.types.values(), key=lambda t: t.type_id)
        )
        label = object_type_id if object_type_id is not None else repr(object_type)
        raise InvalidArguments(
            f"Unknown object type {label}. Known types: {known[:800]}. "
            "Use list_allowed_object_types to see what this account offers."
        )


META_KEY = "meta:"  # + credential digest: the account's /objects/meta data, for the TTL
META_LOCK_KEY = "meta-lock:"  # + credential digest: held while one process fetches
META_LOCK_S = 15.0  # a holder that dies frees the fetch after this
META_WAIT_S = 0.05
META_WAIT_STEPS = 200  # at most ~10 s waiting for another process's fetch, then fetch here


class MetaCache:
    """``/objects/meta`` per credential with a TTL (0 disables caching), single-flight in this
    process and, with a shared store, across processes and replicas.

    With a store, the first process to need an account's types claims ``meta-lock:<digest>``
    (atomic), fetches, and leaves the answer under ``meta:<digest>`` for the TTL; the others
    read that copy, or wait (bounded) while the holder fetches.  A holder that fails or dies
    leaves no copy: the lock lapses or is released and the next caller fetches for itself, and
    a store that does not answer makes each process fetch on its own, as without a store.  Keyed
    by the credential's digest, like the local cache: a key Ontraport refuses never reads the
    types another key fetched."""

    def __init__(
        self, upstream: Upstream, ttl_s: float = 300.0, store: Store | None = None
    ) -> None:
        self._upstream = upstream
        self._ttl_s = ttl_s
        self._store = store
        self._entries: dict[str, AccountMeta] = {}
        self._inflight: dict[str, asyncio.Future[AccountMeta]] = {}
        self._stale: set[str] = set()  # invalidated here: the store's copy is not to be read
        self.fetches = 0

    async def get(self, credentials: Credentials) -> AccountMeta:
        key = credentials.account_hash
        cached = self._entries.get(key)
        if cached is not None and time.monotonic() - cached.fetched_at < self._ttl_s:
            return cached
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[AccountMeta] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            meta = await self._shared(credentials)
            if self._ttl_s > 0:
                self._entries[key] = meta
            future.set_result(meta)
            return meta
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs it twice
            raise
        finally:
            self._inflight.pop(key, None)

    async def _shared(self, credentials: Credentials) -> AccountMeta:
        """The types from the store's copy, from the replica fetching them, or fetched here."""
        if self._store is None or self._ttl_s <= 0:
            return AccountMeta.from_data(await self._fetch(credentials))
        copy_key = f"{META_KEY}{credentials.account_hash}"
        lock_key = f"{META_LOCK_KEY}{credentials.account_hash}"
        try:
            if credentials.account_hash in self._stale:  # this process changed the types
                data = await self._fetch(credentials)
                await self._store.put(copy_key, json.dumps(data).encode(), ttl_s=self._ttl_s)
                self._stale.discard(credentials.account_hash)
                return AccountMeta.from_data(data)
            for _step in range(META_WAIT_STEPS):
                copy = await self._store.get(copy_key)
                if copy is not None:
                    return AccountMeta.from_data(json.loads(copy))
                if await self._store.claim(lock_key, b"1", ttl_s=META_LOCK_S):
                    try:
                        # a holder may have written its copy and let go between our read and
                        # our claim: its copy is in the store before its lock is released
                        copy = await self._store.get(copy_key)
                        if copy is not None:
                            return AccountMeta.from_data(json.loads(copy))
                        data = await self._fetch(credentials)
                        await self._store.put(
                            copy_key, json.dumps(data).encode(), ttl_s=self._ttl_s
                        )
                    finally:
                        await self._store.delete(lock_key)
                    return AccountMeta.from_data(data)
                await asyncio.sleep(META_WAIT_S)  # another process is fetching them
        except StoreUnavailable:
            pass  # each process on its own, as without a store
        return AccountMeta.from_data(await self._fetch(credentials))

    async def _fetch(self, credentials: Credentials) -> Any:
        self.fetches += 1
        api = OntraportApi(
            lambda op, query, body: self._upstream.call(op, credentials, query, body)
        )
        return (await api.get_objects_meta(format_="byId")).data

    def invalidate(self, credentials: Credentials) -> None:
        """Forget the account's types here (the store's copy lapses with its TTL; a process
        that changed the types reads them again through ``get`` after this)."""
        self._entries.pop(credentials.account_hash, None)
        if self._store is not None and len(self._stale) < 10_000:
            self._stale.add(credentials.account_hash)
