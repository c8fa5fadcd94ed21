"""edge_node: acquisition (Modbus), signing, durable store, batching, anchoring and uplink.

Not built yet; see the project's issues. Nothing here pretends to work.
"""
