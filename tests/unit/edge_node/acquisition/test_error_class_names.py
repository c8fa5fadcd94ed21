"""The acquisition layer's error classes are exactly the gap record's: every class a failed
poll can get is one a signed Gap may carry (mrv_core.records.ERROR_CLASSES), bytes included;
the record's two others are the node's own, for polls never made or values never signed."""

from __future__ import annotations

from edge_node.acquisition import ErrorClass
from edge_node.signing.gaps import OVERRUN
from edge_node.signing.storage import STORAGE
from mrv_core.codec import encode_code
from mrv_core.records import ERROR_CLASSES


def test_every_poll_error_class_is_a_gap_record_error_class() -> None:
    node_classes = ("clock", STORAGE)  # a value refused by the signer; polling stopped for disk
    assert [c.value for c in ErrorClass] == [c for c in ERROR_CLASSES if c not in node_classes]
    assert set(node_classes) <= set(ERROR_CLASSES)
    for error in ErrorClass:
        assert error.code == encode_code(error.value)
    assert ErrorClass.OVERRUN.value == OVERRUN  # the one class the gap tracker treats apart
