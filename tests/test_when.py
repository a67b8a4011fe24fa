"""One reader for typed times: the dose field and a note's time field agree on clock times."""

from __future__ import annotations

from datetime import datetime

import pytest

from console.core.dosing.dosing import DoseInputError, parse_when
from console.core.notes.scales import NoteError, parse_clock
from console.core.when import WhenError
from console.core.when import parse_when as read_when

NOW = datetime(2026, 12, 2, 15, 0).astimezone().timestamp()


def at(hh: int, mm: int) -> float:
    return datetime(2026, 12, 2, hh, mm).astimezone().timestamp()


@pytest.mark.parametrize("text", ["14:05", "14.05", "14h05", " 14:05 ", "14 : 05"])
def test_a_clock_time_means_the_same_in_a_dose_and_in_a_note(text: str) -> None:
    assert parse_when(text, NOW) == parse_clock(text, NOW) == at(14, 5)


def test_minutes_ago_only_where_the_field_says_so() -> None:
    assert parse_when("10", NOW) == NOW - 600 == parse_when("10 min ago", NOW)
    with pytest.raises(NoteError, match="not a time"):
        parse_clock("10", NOW)  # in a note "10" could be ten o'clock: asked, not guessed
    with pytest.raises(WhenError, match="not a time"):
        read_when("10", NOW, minutes_ago=False)


def test_bad_times_are_refused_in_words() -> None:
    for text in ("25:00", "14:75"):
        with pytest.raises(DoseInputError, match="not a time of day"):
            parse_when(text, NOW)
        with pytest.raises(NoteError, match="not a time"):
            parse_clock(text, NOW)
    for text in ("yesterday", "1405x"):
        with pytest.raises(DoseInputError, match="Leave it empty for now"):
            parse_when(text, NOW)
        with pytest.raises(NoteError, match="hours:minutes"):
            parse_clock(text, NOW)
    with pytest.raises(NoteError, match="later than now"):
        parse_clock("16:30", NOW)


def test_a_dotted_time_is_a_time_of_day_and_a_decimal_is_minutes_ago() -> None:
    assert parse_when("14.05", NOW) == at(14, 5)  # once 14.05 minutes ago in the dose field
    assert parse_when("10.5", NOW) == NOW - 630 and parse_when("2,5 min", NOW) == NOW - 150
