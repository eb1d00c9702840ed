"""Safety guards for the money tools: the duplicate guard and the raw-card-number refusal.

Duplicate guard
    A ``$`` tool called again with identical arguments on the same account within
    ``settings.duplicate_window_s`` (default 600 s) does not act a second time: the caller gets
    the first call's result back with ``status: "duplicate"``.  ``force: true`` acts again.  A
    call that is still running blocks an identical one (refused, nothing done).  A call whose
    outcome is unknown (``OutcomeUnknown``: sent, then no trustworthy answer) counts as possibly
    done: an identical call within the window always asks the user first, whatever ``force``
    or the confirmation mode says, and its summary says the earlier attempt may have gone
    through.  Memory is bounded (oldest entries are dropped first).

Card numbers
    Cards on file (``cc_id``) are the only way to pay through this server.  Any argument value
    that looks like a payment card number (13–19 digits, optionally grouped by spaces or dashes,
    passing the Luhn check) — in a note, a reference, anywhere — refuses the call before anything
    is read or written, and the value is masked in place so the audit line never holds it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import MutableMapping, MutableSequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import Refused

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
def duplicate_key(tool: str, account: str, args: dict[str, Any]) -> str:
    payload = {k: v for k, v in args.items() if k not in CONTROL_ARGS}
    blob = json.dumps([tool, account, payload], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(slots=True)
class _Done:
    result: dict[str, Any] | None  # None: the outcome is unknown
    at_wall: float
    at: float


class DuplicateGuard:
    """First results of money-tool calls by (tool, account, arguments), for a time window."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._done: OrderedDict[str, _Done] = OrderedDict()
        self._running: set[str] = set()

    def __len__(self) -> int:
        return len(self._done)

    def lookup(self, key: str, window_s: float) -> dict[str, Any] | None:
        """The first call's result as a ``duplicate`` result, or None."""
        self._sweep(window_s)
        found = self._done.get(key)
        if found is None or found.result is None:
            return None
        ago = max(0, int(time.monotonic() - found.at))
        first = copy.deepcopy(found.result)
        when = datetime.fromtimestamp(found.at_wall, UTC).isoformat(timespec="seconds")
        first_message = str(first.get("message") or "").strip()
        return {
            **first,
            "status": "duplicate",
            "duplicate_of": when.replace("+00:00", "Z"),
            "message": (
                f"Not done again: the same call with identical arguments succeeded {ago} s ago "
                f"(within the {int(window_s)} s duplicate window), and this is its result. "
                "If the user really wants it done a second time, call again with force: true."
                + (f" First result: {first_message}" if first_message else "")
            ),
        }

    def begin(self, key: str) -> None:
        if key in self._running:
            raise Refused(
                "The same call with identical arguments is still running; nothing was done. "
                "Wait for its result instead of sending it again.",
                code="duplicate_in_flight",
            )
        self._running.add(key)

    def end(self, key: str) -> None:
        self._running.discard(key)

    def possibly_done(self, key: str, window_s: float) -> str | None:
        """A warning for the confirmation summary when an identical call's outcome is unknown."""
        self._sweep(window_s)
        found = self._done.get(key)
        if found is None or found.result is not None:
            return None
        when = datetime.fromtimestamp(found.at_wall, UTC).isoformat(timespec="seconds")
        return (
            f"WARNING: the same call was sent at {when.replace('+00:00', 'Z')} and its outcome "
            "is unknown: it may already have gone through. Check first, and confirm only if it "
            "did not."
        )

    def record_unknown(self, key: str, window_s: float) -> None:
        """The call was sent and no trustworthy answer came: count it as possibly done."""
        self._store(key, None, window_s)

    def record(self, key: str, result: dict[str, Any], window_s: float) -> None:
        self._store(key, copy.deepcopy(result), window_s)

    def _store(self, key: str, result: dict[str, Any] | None, window_s: float) -> None:
        if window_s <= 0:
            return
        self._sweep(window_s)
        self._done.pop(key, None)
        self._done[key] = _Done(result, time.time(), time.monotonic())
        while len(self._done) > self.max_entries:
            self._done.popitem(last=False)

    def _sweep(self, window_s: float) -> None:
        cutoff = time.monotonic() - window_s
        while self._done:
            key, oldest = next(iter(self._done.items()))
            if oldest.at >= cutoff:
                break
            self._done.pop(key)
