"""One reading of dates for condition values and for the date arguments of tools.

Why this exists: a person (or a model) asked for "notes of the last week" writes ``7 days ago``
as readily as ``2024-03-08``. Conditions (``date >= 7 days ago``) and date arguments
(``since: "7 days ago"``) must understand exactly the same words with exactly the same meaning,
so both go through ``parse_date`` here, and both explain a bad date with ``DATE_FORMS_TEXT``.

Accepted forms (case and extra spaces do not matter; everything is UTC):

* ``now``: this moment;
* ``today``, ``yesterday``, ``tomorrow``: that day's midnight (00:00 UTC);
* ``N minutes|hours|days|weeks|months|years ago``, ``in N <unit>s``, ``N <unit>s from now``
  (N a whole number, or ``a``/``an``/``one``): minutes and hours are counted from now and keep
  the time of day; days and longer units are counted from today's midnight, so ``30 days ago``
  is a midnight. Months and years keep the day of the month, clamped to the month's last day
  (``1 month ago`` on March 31 is the last day of February);
* ISO 8601 ``YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM]`` (``T`` may be a space); without an
  offset the time is UTC, and a date alone is its midnight;
* Unix seconds, a whole number (negative for dates before 1970).

Anything outside years 1-9999 is refused rather than wrapped.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Final

__all__ = ["DATE_CHOICES", "DATE_FORMS_TEXT", "date_hint", "parse_date", "utc_now"]

DATE_FORMS_TEXT: Final = (
    "today, yesterday, tomorrow or now; N minutes, hours, days, weeks, months or years ago "
    '("7 days ago", "2 hours ago"); in N days or N days from now ("in 2 weeks"); an ISO 8601 '
    'date or date-time ("2024-01-31", "2024-01-31T09:30:00Z", "2024-01-31T09:30:00-07:00"; '
    'no offset means UTC); or Unix seconds ("1706659200"). Days and longer count from '
    "midnight UTC"
)
"""The accepted forms in words with examples, for every error about a date."""

DATE_CHOICES: Final[tuple[str, ...]] = (
    "today",
    "yesterday",
    "tomorrow",
    "now",
    "7 days ago",
    "in 3 days",
    "2024-01-31",
    "2024-01-31T09:30:00Z",
    "1706659200",
)
"""One example of each accepted form, offered as ``choices`` next to a date error."""

MAX_DATE_LENGTH: Final = 64
"""Longer text is no date of any accepted form; refusing it early keeps the regexes cheap."""

_EPOCH_RANGE: Final = (
    int(datetime(1, 1, 2, tzinfo=UTC).timestamp()),
    int(datetime(9999, 12, 31, tzinfo=UTC).timestamp()),
)
"""Unix seconds that map to a date Python (and every use of the value here) can represent."""

_INTEGER_RE: Final = re.compile(r"[+-]?[0-9]{1,15}")
_ISO_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?"
    r" ?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_UNITS: Final = "minute|hour|day|week|month|year"
_COUNT: Final = r"[0-9]{1,6}|an?|one"
_RELATIVE_RES: Final[tuple[tuple[re.Pattern[str], int], ...]] = (
    (re.compile(rf"(?P<count>{_COUNT}) (?P<unit>{_UNITS})s? ago"), -1),
    (re.compile(rf"in (?P<count>{_COUNT}) (?P<unit>{_UNITS})s?"), 1),
    (re.compile(rf"(?P<count>{_COUNT}) (?P<unit>{_UNITS})s? from now"), 1),
)
"""Relative phrases and the direction they move in (-1 back, +1 forward)."""


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` as an aware UTC datetime (naive means UTC); the current time when ``None``."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    year, month_index = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(day.day, last_day))


_SHIFTS: Final[Mapping[str, Callable[[datetime, int], datetime]]] = MappingProxyType(
    {
        "minute": lambda now, n: now + timedelta(minutes=n),
        "hour": lambda now, n: now + timedelta(hours=n),
        "day": lambda now, n: _midnight(now.date() + timedelta(days=n)),
        "week": lambda now, n: _midnight(now.date() + timedelta(weeks=n)),
        "month": lambda now, n: _midnight(_add_months(now.date(), n)),
        "year": lambda now, n: _midnight(_add_months(now.date(), 12 * n)),
    }
)
"""How far one step of each unit moves: minutes/hours exactly, longer units midnight to midnight."""

_FIXED: Final[Mapping[str, Callable[[datetime], datetime]]] = MappingProxyType(
    {
        "now": lambda now: now,
        "today": lambda now: _midnight(now.date()),
        "yesterday": lambda now: _midnight(now.date() - timedelta(days=1)),
        "tomorrow": lambda now: _midnight(now.date() + timedelta(days=1)),
    }
)


def _count(word: str) -> int:
    return 1 if word in ("a", "an", "one") else int(word)


def _in_range(epoch: int) -> int | None:
    low, high = _EPOCH_RANGE
    return epoch if low <= epoch <= high else None


def parse_date(text: str, now: datetime | None = None) -> int | None:
    """Unix seconds for one of the forms in the module docstring, or ``None`` if it is none.

    ``now`` fixes the moment relative words count from (tests, replays); by default the current
    time. Work is bounded: text longer than ``MAX_DATE_LENGTH`` is refused before any matching.
    """
    if len(text) > MAX_DATE_LENGTH:
        return None
    phrase = " ".join(text.casefold().split())
    moment = utc_now(now)
    try:
        if _INTEGER_RE.fullmatch(phrase):
            return _in_range(int(phrase))
        fixed = _FIXED.get(phrase)
        if fixed is not None:
            return int(fixed(moment).timestamp())
        for pattern, direction in _RELATIVE_RES:
            relative = pattern.fullmatch(phrase)
            if relative is not None:
                shift = _SHIFTS[relative["unit"]]
                return _in_range(
                    int(shift(moment, direction * _count(relative["count"])).timestamp())
                )
        iso = _ISO_RE.fullmatch(phrase)
        if iso is not None:
            return _in_range(_iso_epoch(iso))
    except (ValueError, OverflowError):  # a day 31 in February, a shift past year 9999, ...
        return None
    return None


def date_hint(text: str) -> str:
    """A sentence to add to a "not a date" error when the likely slip is recognisable, else "".

    The usual one is milliseconds (JavaScript's ``Date.now()``) where seconds are expected.
    """
    phrase = text.strip()
    if _INTEGER_RE.fullmatch(phrase) and parse_date(phrase) is None:
        if parse_date(str(int(phrase) // 1000)) is not None:
            return " It looks like milliseconds: divide by 1000 for Unix seconds."
    return ""


def _iso_epoch(match: re.Match[str]) -> int:
    year, month, day, hour, minute, second, zone = match.groups()
    tz: timezone = UTC
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=tz,
    )
    return int(moment.timestamp())
