"""One date parser for conditions and for date arguments: the same phrase means the same instant
through ``parse_condition`` (``date >= 7 days ago``) and through ``records.to_epoch``
(``since: "7 days ago"``), and a bad date is explained in words through both.

``now`` is fixed at 2024-03-15T12:30:45Z; expected values are literal epoch seconds worked out by
hand (midnight of March 15 is 1710460800), not computed by the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ontraport_mcp.domain.conditions import ConditionError, fields_from_meta, parse_condition
from ontraport_mcp.domain.dates import DATE_CHOICES, DATE_FORMS_TEXT, MAX_DATE_LENGTH, parse_date
from ontraport_mcp.domain.records import to_epoch
from ontraport_mcp.errors import InvalidArguments

NOW = datetime(2024, 3, 15, 12, 30, 45, tzinfo=UTC)
MIDNIGHT = 1710460800
FIELDS = fields_from_meta(
    {"name": "Contact", "fields": {"date": {"alias": "Date Added", "type": "timestamp"}}}
)

PHRASES: list[tuple[str, int]] = [
    ("today", MIDNIGHT),
    ("yesterday", MIDNIGHT - 86400),
    ("tomorrow", MIDNIGHT + 86400),
    ("now", 1710505845),
    ("NOW", 1710505845),
    ("30 days ago", 1707868800),
    ("1 day ago", MIDNIGHT - 86400),
    ("a week ago", 1709856000),
    ("2 weeks ago", 1709251200),
    ("1 month ago", 1707955200),
    ("a year ago", 1678838400),
    ("one year ago", 1678838400),
    ("an hour ago", 1710502245),
    ("2 hours ago", 1710498645),
    ("45 minutes ago", 1710503145),
    ("in 3 days", 1710720000),
    ("3 days from now", 1710720000),
    ("in 2 weeks", 1711670400),
    ("in 1 month", 1713139200),
    ("1 year from now", 1741996800),
    ("in 90 minutes", 1710511245),
    ("30 DAYS AGO", 1707868800),
    ("  7   days\tago ", 1709856000),
    ("2024-01-31", 1706659200),
    ("2024-01-31T10:00", 1706695200),
    ("2024-01-31 10:00", 1706695200),
    ("2024-01-31t10:00:30z", 1706695230),
    ("2024-01-31T10:00:30Z", 1706695230),
    ("2024-01-31T10:00:00.123Z", 1706695200),
    ("2024-01-31T10:00:00+02:00", 1706688000),
    ("2024-01-31T10:00-05:30", 1706715000),
    ("2024-01-31T10:00:00 +0200", 1706688000),
    ("1700000000", 1700000000),
    ("-86400", -86400),
    ("0", 0),
]

BAD_DATES: list[str] = [
    "someday",
    "next tuesday",
    "7 days",
    "ago",
    "in -3 days",
    "2024-02-30",
    "2024-13-01",
    "2024-01-31T25:00",
    "2024-01-31T10:00+99:99",
    "99999999 years ago",
    "9000 years from now",
    "1.5",
    "",
    "   ",
    "1" * 40,
    "7 days ago" + " " * MAX_DATE_LENGTH,
]


@pytest.mark.parametrize(("phrase", "expected"), PHRASES)
def test_a_phrase_means_the_same_instant_in_a_condition_and_an_argument(
    phrase: str, expected: int
) -> None:
    assert parse_date(phrase, NOW) == expected
    quoted = phrase.replace("\\", "\\\\").replace('"', '\\"')
    assert parse_condition(f'date >= "{quoted}"', FIELDS, now=NOW) == [
        {"field": {"field": "date"}, "op": ">=", "value": {"value": expected}}
    ]
    assert to_epoch(phrase, argument="since", now=NOW) == expected


@pytest.mark.parametrize(("phrase", "expected"), [p for p in PHRASES if p[0].strip() == p[0]])
def test_a_bare_phrase_reads_like_a_quoted_one(phrase: str, expected: int) -> None:
    condition = parse_condition(f"date >= {phrase} and date < tomorrow", FIELDS, now=NOW)
    assert condition[0]["value"] == {"value": expected}


def test_numbers_are_unix_seconds_as_arguments() -> None:
    assert to_epoch(1700000000, argument="date") == 1700000000
    assert to_epoch(1700000000.9, argument="date") == 1700000000
    assert to_epoch(-86400, argument="date") == -86400


def test_months_keep_the_day_clamped_to_the_month() -> None:
    march_31 = datetime(2024, 3, 31, 8, tzinfo=UTC)
    assert parse_date("1 month ago", march_31) == 1709164800  # 2024-02-29
    assert to_epoch("1 month ago", argument="since", now=march_31) == 1709164800
    leap_day = datetime(2024, 2, 29, tzinfo=UTC)
    assert parse_date("in 1 year", leap_day) == 1740700800  # 2025-02-28


def test_days_are_utc_days_whatever_the_zone_of_now() -> None:
    naive = datetime(2024, 3, 15, 12, 30, 45)  # naive means UTC
    assert parse_date("today", naive) == MIDNIGHT
    # 2024-03-15T20:00Z is already March 16 in Tokyo; "today" is still the UTC day.
    tokyo = datetime(2024, 3, 16, 5, 0, tzinfo=timezone(timedelta(hours=9)))
    assert parse_date("today", tokyo) == MIDNIGHT
    assert to_epoch("today", argument="since", now=tokyo) == MIDNIGHT
    assert parse_date("now", tokyo) == MIDNIGHT + 20 * 3600


def _no_regex(message: str) -> None:
    for fragment in ("\\d", "[0-9]", "^", "(?:", "$'"):
        assert fragment not in message, message


@pytest.mark.parametrize("bad", BAD_DATES)
def test_a_bad_date_is_explained_in_words_by_both_entry_points(bad: str) -> None:
    assert parse_date(bad, NOW) is None
    quoted = bad.replace('"', '\\"')
    with pytest.raises(ConditionError) as condition_error:
        parse_condition(f'date >= "{quoted}"', FIELDS, now=NOW)
    assert DATE_FORMS_TEXT in condition_error.value.message
    assert condition_error.value.choices == DATE_CHOICES
    assert condition_error.value.position == 8
    _no_regex(condition_error.value.message)
    with pytest.raises(InvalidArguments) as argument_error:
        to_epoch(bad, argument="since", now=NOW)
    message = str(argument_error.value)
    assert message.startswith("`since`: ")
    assert DATE_FORMS_TEXT in message
    assert argument_error.value.details == {"field": "since", "choices": list(DATE_CHOICES)}
    _no_regex(message)
    assert len(message) < 700  # a huge value is cut short, never echoed whole


@pytest.mark.parametrize("bad", [True, False, None, [1], {"date": 1}, float("nan"), float("inf")])
def test_an_argument_of_the_wrong_kind_is_a_structured_error(bad: Any) -> None:
    with pytest.raises(InvalidArguments) as caught:
        to_epoch(bad, argument="due_date", now=NOW)
    assert DATE_FORMS_TEXT in str(caught.value)
    assert caught.value.details["field"] == "due_date"


@pytest.mark.parametrize("value", [1_900_000_000_000, "1900000000000", 1710505845000])
def test_milliseconds_are_recognised_in_both_entry_points(value: Any) -> None:
    with pytest.raises(InvalidArguments, match="milliseconds"):
        to_epoch(value, argument="due_date", now=NOW)
    with pytest.raises(ConditionError, match="milliseconds"):
        parse_condition(f"date > {value}", FIELDS, now=NOW)


def test_dates_beyond_year_9999_are_refused_not_wrapped() -> None:
    for value in (10**20, "253402387200", "9999 years from now", "10000 years ago"):
        with pytest.raises(InvalidArguments):
            to_epoch(value, argument="until", now=NOW)
    assert parse_date("253402214400", NOW) == 253402214400  # 9999-12-31 is still a date
