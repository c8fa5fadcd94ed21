"""docs/edge.md tells the truth about the meter profiles and the simulator: its table lists
every shipped profile, the generic layout it states is the generic profile's, and every fault
kind the simulator knows is documented."""

from __future__ import annotations

import re
from pathlib import Path

from edge_node.profiles import DataType, list_profiles, load_profile
from edge_node.simulator.faults import KINDS

DOC = (Path(__file__).parents[2] / "docs" / "edge.md").read_text(encoding="utf-8")


def test_the_shipped_profiles_table_lists_every_profile() -> None:
    section = DOC[DOC.index("### Shipped profiles"):DOC.index("### Decoding")]
    listed = re.findall(r"^\| `([a-z0-9.-]+)` \|", section, re.M)
    assert len(listed) == len(set(listed)) and set(listed) == set(list_profiles())


def test_the_generic_layout_in_the_doc_is_the_generic_profile() -> None:
    generic = {p.name: p for p in load_profile("generic").points}
    assert (generic["energy_import"].address, generic["energy_export"].address,
            generic["power_active"].address) == (0, 2, 4)
    assert [generic[n].address for n in ("voltage_l1", "current_l1", "frequency")] == [6, 7, 8]
    assert generic["power_active"].data_type is DataType.INT32
    assert "uint32 Wh import (0) and export (2)" in DOC and "int32 W (4" in DOC


def test_every_fault_kind_is_documented() -> None:
    section = DOC[DOC.index("**Faults**"):DOC.index("**Control channel.**")]
    for kind in sorted(KINDS - {"exception"}):
        assert f"`U:{kind}" in section, kind
