"""A meter model the project does not ship, as a plant would write it: the profile tests, the
configuration tests and the node's integration test share it."""

from __future__ import annotations

from pathlib import Path

#: A meter model the project does not ship, in the shipped files' format: a uint32 counter in
#: 0.01 kWh, low word first, on input registers, and an int16 power in W on holding registers.
CUSTOM = """\
id = "plant.meter-x"
manufacturer = "Plant"
model = "Meter X"
max_registers_per_read = 20
[sources]
P1 = "the plant's own register list"
[[points]]
name = "energy_import"
quantity = "energy.active.import:Wh"
function = 4
address = 100
type = "uint32"
word_order = "low_first"
scale = "10"
counter_width = 32
source = "P1"
[[points]]
name = "power_active"
quantity = "power.active:W"
function = 3
address = 7
type = "int16"
scale = "1"
source = "P1"
"""


def write_custom(directory: Path, text: str = CUSTOM, name: str = "plant.meter-x") -> Path:
    path = directory / "profiles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
