"""Safety guards for the money tools: the duplicate guard and the raw-card-number refusal.

Duplicate guard
    A ``$`` tool called again with identical arguments on the same Ontraport account (every API
    key of it: the key is a digest of the App ID, not of the credential) within
    ``settings.duplicate_window_s`` (default 600 s) does not act a second time: the caller gets
    the first call's result back with ``status: "duplicate"``.  ``force: true`` acts again.

    The ledger lives in the shared state store (``state.Store``), so it holds across a restart
    (SQLite) and across replicas (Redis).  A call is *claimed* there atomically (``claim``)
    before anything is sent: of two replicas racing on the same call exactly one proceeds; the
    other is refused as still running, nothing done.  Afterwards the claim becomes the first
    result (a success), "possibly done" (``OutcomeUnknown``: sent, then no trustworthy answer),
    or is deleted (a clean failure: nothing was done, a retry may run).  A possibly-done call
    makes an identical one within the window ask the user first, whatever ``force`` or the
    confirmation mode says, with a summary that says the earlier attempt may have gone through.
    A claim still "running" after ``running_stale_s`` (its process died mid-call, say) counts
    as possibly done too.  The store's expiry bounds the ledger; a store that cannot be reached
    raises ``StoreUnavailable`` and the executor fails closed.

Card numbers
    Cards on file (``cc_id``) are the only way to pay through this server.  Any argument value
    that looks like a payment card number (13–19 digits, optionally grouped by spaces or dashes,
    passing the Luhn check) — in a note, a reference, anywhere — refuses the call before anything
    is read or written, and the value is masked in place so the audit line never holds it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import MutableMapping, MutableSequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..errors import Refused
from ..state import Store

CONTROL_ARGS = frozenset({"confirmation_token", "force"})
PAYMENT_PAGE_ADVICE = (
    "Raw card numbers are never accepted: use a card on file (cc_id; get_objects on type 45 "
    "lists a contact's cards), or let the customer enter a new card on Ontraport's payment "
    "page (create_invoice with status open, then send_invoice emails the link)."
)
# 13-19 digits, allowing single spaces or dashes between digit groups
_PAN = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")


# ------------------------------------------------------------------------------ card numbers
def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_numbers(text: str) -> list[re.Match[str]]:
    found = []
    for match in _PAN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.append(match)
    return found


def _mask(text: str) -> str:
    out, last = [], 0
    for match in _card_numbers(text):
        digits = re.sub(r"\D", "", match.group())
        out.append(text[last : match.start()])
        out.append("[card number removed, ending " + digits[-4:] + "]")
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def find_card_numbers(value: Any, path: str = "") -> list[str]:
    """Argument paths whose value contains something that looks like a card number."""
    hits: list[str] = []
    if isinstance(value, MutableMapping):
        for key, item in value.items():
            hits += find_card_numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, MutableSequence):
        for i, item in enumerate(value):
            hits += find_card_numbers(item, f"{path}[{i}]")
    elif isinstance(value, str):
        if _card_numbers(value):
            hits.append(path or "(value)")
    elif isinstance(value, int) and not isinstance(value, bool):
        if _card_numbers(str(abs(value))):
            hits.append(path or "(value)")
    return hits


def _mask_in_place(value: Any) -> Any:
    if isinstance(value, MutableMapping):
        for key in list(value):
            value[key] = _mask_in_place(value[key])
        return value
    if isinstance(value, MutableSequence):
        for i, item in enumerate(value):
            value[i] = _mask_in_place(item)
        return value
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, int) and not isinstance(value, bool) and _card_numbers(str(abs(value))):
        return "[card number removed]"
    return value


def refuse_card_numbers(args: dict[str, Any]) -> None:
    """Refuse (409) when any argument holds a card number; mask it in ``args`` first."""
    hits = find_card_numbers(args)
    if not hits:
        return
    _mask_in_place(args)
    raise Refused(
        f"Refused: {', '.join(f'`{h}`' for h in hits)} looks like a payment card number. "
        f"{PAYMENT_PAGE_ADVICE} Remove the number and call again; nothing was done.",
        code="card_number_refused",
        details={"fields": hits},
    )


# ------------------------------------------------------------------------------ duplicates
DUPLICATE_PREFIX = "dup:"
Phase = Literal["running", "done", "unknown"]
IN_FLIGHT_MESSAGE = (
    "The same call with identical arguments is still running; nothing was done. "
    "Wait for its result instead of sending it again."
)
_CLAIM_ATTEMPTS = 3  # claim, or replace a finished record, a bounded number of times


def duplicate_key(tool: str, account: str, args: dict[str, Any]) -> str:
    """The ledger key of a money call: the tool, the account digest and the arguments minus
    the control arguments (a token or ``force`` does not make a call different)."""
    payload = {k: v for k, v in args.items() if k not in CONTROL_ARGS}
    blob = json.dumps([tool, account, payload], sort_keys=True, default=str)
    return DUPLICATE_PREFIX + hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Ledger:
    """One money call in the ledger: where it stands, since when (wall clock), its result."""

    phase: Phase
    at: float
    result: dict[str, Any] | None = None

    def encode(self) -> bytes:
        return json.dumps({"phase": self.phase, "at": self.at, "result": self.result}).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Ledger:
        """A stored record; one that cannot be read counts as possibly done (the safe side)."""
        try:
            data = json.loads(raw)
            phase, at, result = data["phase"], float(data["at"]), data.get("result")
        except (ValueError, TypeError, KeyError):
            return cls("unknown", time.time())
        if phase not in ("running", "done", "unknown") or not isinstance(result, dict | None):
            return cls("unknown", at)
        if phase == "done" and result is None:
            return cls("unknown", at)
        return cls(phase, at, result)

    @property
    def when(self) -> str:
        return (
            datetime.fromtimestamp(self.at, UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
        )


class DuplicateGuard:
    """The money-call ledger on the shared store: first results by (tool, account, arguments)
    for a time window, and the atomic claim that lets only one identical call run."""

    def __init__(self, store: Store, *, running_stale_s: float = 120.0) -> None:
        self.store = store
        self.running_stale_s = running_stale_s

    async def look(self, key: str) -> Ledger | None:
        """The call's record, or None; a claim running longer than ``running_stale_s`` (its
        process most likely died mid-call) reads as possibly done."""
        raw = await self.store.get(key)
        return None if raw is None else self._read(raw)

    def _read(self, raw: bytes) -> Ledger:
        record = Ledger.decode(raw)
        if record.phase == "running" and time.time() - record.at > self.running_stale_s:
            return Ledger("unknown", record.at)
        return record

    @staticmethod
    def duplicate_answer(record: Ledger | None, window_s: float) -> dict[str, Any] | None:
        """The first call's result as a ``duplicate`` result, or None when it did not succeed."""
        if record is None or record.phase != "done" or record.result is None:
            return None
        ago = max(0, int(time.time() - record.at))
        first = json.loads(json.dumps(record.result))  # a private copy
        first_message = str(first.get("message") or "").strip()
        return {
            **first,
            "status": "duplicate",
            "duplicate_of": record.when,
            "message": (
                f"Not done again: the same call with identical arguments succeeded {ago} s ago "
                f"(within the {int(window_s)} s duplicate window), and this is its result. "
                "If the user really wants it done a second time, call again with force: true."
                + (f" First result: {first_message}" if first_message else "")
            ),
        }

    @staticmethod
    def warning(record: Ledger | None) -> str | None:
        """A warning for the confirmation summary when an identical call's outcome is unknown."""
        if record is None or record.phase != "unknown":
            return None
        return (
            f"WARNING: the same call was sent at {record.when} and its outcome "
            "is unknown: it may already have gone through. Check first, and confirm only if it "
            "did not."
        )

    async def begin(self, key: str, window_s: float, *, again: bool) -> dict[str, Any] | None:
        """Claim the call before anything is sent.  None: claimed, go ahead.  A dict: an
        identical call finished meanwhile, and this is its ``duplicate`` answer.  Refused: one
        is running (or its outcome turned unknown meanwhile).  ``again`` (``force``, or the user
        confirmed a summary that warned of a possibly-done call) replaces a finished record."""
        running = Ledger("running", time.time()).encode()
        ttl_s = max(window_s, self.running_stale_s)
        for _ in range(_CLAIM_ATTEMPTS):
            if await self.store.claim(key, running, ttl_s=ttl_s):
                return None
            raw = await self.store.get(key)
            if raw is None:  # expired or released between the two steps: claim again
                continue
            record = self._read(raw)
            if record.phase == "running":
                raise Refused(IN_FLIGHT_MESSAGE, code="duplicate_in_flight")
            if not again:
                if (answer := self.duplicate_answer(record, window_s)) is not None:
                    return answer
                raise Refused(
                    f"{self.warning(record)} Nothing was done now; call again to be asked.",
                    code="duplicate_in_flight",
                )
            taken = await self.store.take(key)
            if taken is not None and taken != raw:  # someone else's record: put it back
                await self.store.claim(key, taken, ttl_s=ttl_s)
        raise Refused(IN_FLIGHT_MESSAGE, code="duplicate_in_flight")

    async def record(self, key: str, result: dict[str, Any], window_s: float) -> None:
        """The call succeeded: its result answers identical calls for the window."""
        await self._settle(key, Ledger("done", time.time(), result), window_s)

    async def record_unknown(self, key: str, window_s: float) -> None:
        """The call was sent and no trustworthy answer came: count it as possibly done."""
        await self._settle(key, Ledger("unknown", time.time()), window_s)

    async def release(self, key: str) -> None:
        """The call failed cleanly (nothing was done): a retry may run at once."""
        await self.store.delete(key)

    async def _settle(self, key: str, record: Ledger, window_s: float) -> None:
        if window_s <= 0:  # no duplicate window: nothing is remembered past the call
            await self.store.delete(key)
            return
        await self.store.put(key, record.encode(), ttl_s=window_s)
