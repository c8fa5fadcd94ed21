"""Fault specifications ``UNIT:KIND[:ARG]``: every documented kind parses, anything else is
refused with a SimulatorError naming the problem."""

from __future__ import annotations

import pytest

from edge_node.errors import SimulatorError
from edge_node.simulator import EXCEPTION_CODES, Fault, parse_fault


@pytest.mark.parametrize(("spec", "fault"), [
    ("3:04", Fault(3, "exception", code=4)),
    ("3:0a", Fault(3, "exception", code=0x0A)),
    ("3:0B:2", Fault(3, "exception", code=0x0B, count=2)),
    ("1:busy", Fault(1, "exception", code=6)),
    ("1:gateway_target", Fault(1, "exception", code=0x0B)),
    ("2:delay:5", Fault(2, "delay", seconds=5.0)),
    ("2:delay:0.25", Fault(2, "delay", seconds=0.25)),
    ("2:timeout", Fault(2, "timeout")),
    ("2:drop:1", Fault(2, "drop", count=1)),
    ("2:garble:3", Fault(2, "garble", count=3)),
    ("2:not_available", Fault(2, "not_available")),
    ("2:reset", Fault(2, "reset")),
    ("2:reset:energy_export", Fault(2, "reset", target="energy_export")),
    ("2:reset:energy.active.import:Wh", Fault(2, "reset", target="energy.active.import:Wh")),
    ("2:rollover:energy_import", Fault(2, "rollover", target="energy_import")),
    ("2:clear", Fault(2, "clear")),
])
def test_every_documented_fault_parses_and_describes_itself(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault
    assert parse_fault(fault.describe()) == fault


def test_every_exception_code_and_error_class_name_is_a_fault() -> None:
    assert sorted(EXCEPTION_CODES) == [1, 2, 3, 4, 5, 6, 0x0A, 0x0B]
    for code, name in EXCEPTION_CODES.items():
        assert parse_fault(f"7:{code:02X}") == parse_fault(f"7:{name}") == Fault(
            7, "exception", code=code)


@pytest.mark.parametrize(("spec", "problem"), [
    ("", "UNIT:KIND"), ("3", "UNIT:KIND"), ("x:04", "numeric unit"), ("3:04:1:2", "count >= 1"),
    ("3:07", "unknown kind '07'"), ("3:exception", "unknown kind"), ("3:melt", "unknown kind"),
    ("3:04:0", "count >= 1"), ("3:04:-1", "count >= 1"), ("3:drop:x", "count >= 1"),
    ("3:delay", "SECONDS"), ("3:delay:0", "SECONDS"), ("3:delay:nan", "SECONDS"),
    ("3:delay:1e9", "SECONDS"), ("3:clear:1", "no argument"), ("300:04", "0..247"),
    ("\u0663:04", "numeric unit"),
])
def test_a_bad_fault_is_refused_naming_the_problem(spec: str, problem: str) -> None:
    with pytest.raises(SimulatorError, match=problem):
        parse_fault(spec)
