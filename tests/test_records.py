"""Combining flat conditions: the API reads AND before OR, so ANDing must distribute."""

import pytest

from ontraport_mcp.domain.records import and_conditions, clause, iso
from ontraport_mcp.errors import InvalidArguments

A, B, C, D = (clause(f, "=", 1) for f in ("a", "b", "c", "d"))


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([None, [], None], None),
        ([[A]], [A]),
        ([[A], None, [B]], [A, "AND", B]),
        ([[A, "OR", B], [C]], [A, "AND", C, "OR", B, "AND", C]),
        ([[C], [A, "OR", B]], [C, "AND", A, "OR", C, "AND", B]),
        (
            [[A, "OR", B], [C, "OR", D]],
            [A, "AND", C, "OR", A, "AND", D, "OR", B, "AND", C, "OR", B, "AND", D],
        ),
        ([[A, "AND", B, "OR", C], [D]], [A, "AND", B, "AND", D, "OR", C, "AND", D]),
    ],
)
def test_and_conditions_distributes(parts, expected):
    assert and_conditions(*parts) == expected


def test_and_conditions_is_bounded():
    wide = [
        x
        for i in range(8)
        for x in ([clause("f", "=", i)] if i == 0 else ["OR", clause("f", "=", i)])
    ]
    with pytest.raises(InvalidArguments):
        and_conditions(wide, wide, wide)


@pytest.mark.parametrize("epoch", [10**30, "1e400", "9" * 400, 0, -5, "soon", None])
def test_iso_is_none_for_what_is_no_date(epoch):
    assert iso(epoch) is None


def test_iso_of_epoch_seconds():
    assert iso(1706659200) == "2024-01-31T00:00:00Z"
    assert iso("1706695230") == "2024-01-31T10:00:30Z"
