"""The acquisition layer's error classes are exactly the gap record's: every class a failed
poll can get is one a signed Gap may carry (mrv_core.records.ERROR_CLASSES), bytes included."""

from __future__ import annotations

from edge_node.acquisition import ErrorClass
from mrv_core.codec import encode_code
from mrv_core.records import ERROR_CLASSES


def test_every_poll_error_class_is_a_gap_record_error_class() -> None:
    assert [c.value for c in ErrorClass] == [c for c in ERROR_CLASSES if c != "clock"]
    for error in ErrorClass:
        assert error.code == encode_code(error.value)
