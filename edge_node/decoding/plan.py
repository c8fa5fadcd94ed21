"""Plan the register reads of a meter: few requests, each within the model's read limit.

A meter answers one FC03/FC04 request with up to 125 registers (less for some models:
``Profile.max_registers_per_read``), so the points of a profile are grouped into blocks of
consecutive registers per function code, and one request reads every point of a block.
:func:`plan_reads` groups greedily in address order: a point joins the current block when the
block, extended to hold it, stays within ``max_registers`` and the hole between them is at
most ``max_gap`` registers. Holes are read and ignored; a real meter may refuse a read across
registers it does not define (exception 02), so ``max_gap`` is 0 unless the meter's manual
says its map is dense there. The meter simulator answers holes of up to
:data:`SIMULATOR_HOLE` registers between the points it serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mrv_core.errors import ConfigError

from ..errors import RegisterError
from ..profiles.model import Function, Point

__all__ = ["SIMULATOR_HOLE", "ReadBlock", "plan_reads"]

#: The widest hole between two points that the meter simulator fills with zero registers.
SIMULATOR_HOLE = 16


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers from ``address`` with ``function``, holding
    ``points`` (in address order)."""

    function: Function
    address: int
    count: int
    points: tuple[Point, ...]

    def registers_of(self, point: Point, registers: Sequence[int]) -> tuple[int, ...]:
        """The point's registers (wire order) out of the block's answer ``registers``.

        Raises RegisterError when the answer does not have ``count`` registers and
        ``ValueError`` when the point is not in this block."""
        if len(registers) != self.count:
            raise RegisterError(f"block {self.function.value:02d}@{self.address}: expected "
                                f"{self.count} registers, got {len(registers)}")
        if point not in self.points:
            raise ValueError(f"point {point.name} is not read by block "
                             f"{self.function.value:02d}@{self.address}")
        offset = point.address - self.address
        return tuple(registers[offset:offset + point.words])


def plan_reads(points: Iterable[Point], max_registers: int, *,
               max_gap: int = 0) -> tuple[ReadBlock, ...]:
    """Group ``points`` into read blocks, ordered by function code then address.

    ``max_registers`` is the model's read limit (1..125), ``max_gap`` the widest hole, in
    registers, a block may span. Raises ConfigError for a limit outside 1..125, a negative
    gap, or a point wider than the limit (a uint64 with a limit of 2)."""
    if not 1 <= max_registers <= 125:
        raise ConfigError(f"max_registers must be 1..125 (Modbus), got {max_registers}")
    if max_gap < 0:
        raise ConfigError(f"max_gap must be >= 0, got {max_gap}")
    unique = list(dict.fromkeys(points))
    for point in unique:
        if point.words > max_registers:
            raise ConfigError(f"point {point.name} needs {point.words} registers, more than "
                              f"the {max_registers} a read may take")
    blocks: list[ReadBlock] = []
    ordered = sorted(unique, key=lambda p: (p.function.value, p.address, p.end))
    start, end, members = -1, -1, list[Point]()
    function = None
    for point in ordered:
        if (point.function == function and point.address - end <= max_gap
                and max(end, point.end) - start <= max_registers):
            end = max(end, point.end)
            members.append(point)
            continue
        if function is not None:
            blocks.append(ReadBlock(function, start, end - start, tuple(members)))
        function, start, end, members = point.function, point.address, point.end, [point]
    if function is not None:
        blocks.append(ReadBlock(function, start, end - start, tuple(members)))
    return tuple(blocks)
