"""edge_node: the trusted gateway in a plant, layered like pymodbus (STYLE.md): acquisition
(Modbus) -> decoding -> signing -> store -> batching -> anchoring -> uplink.

Built so far (issue 9): :mod:`.profiles` (meter models as TOML data), :mod:`.decoding`
(registers to integer values, read planning) and :mod:`.simulator` (simulated meters behind a
Modbus server, ``mrv simulate meters``); the other layers come with their issues.
"""
