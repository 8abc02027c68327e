"""Messages for people read as English: one file, two files."""

from __future__ import annotations

from smithy.console import count


def test_count_agrees_with_its_number() -> None:
    assert count(1, "file") == "1 file"
    assert count(0, "package") == "0 packages"
    assert count(2, "feedstock") == "2 feedstocks"
    assert count(3, "entry", "entries") == "3 entries"
