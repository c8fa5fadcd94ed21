"""edge_node: the trusted gateway in a plant, layered like pymodbus (STYLE.md): acquisition
(Modbus) -> decoding -> signing -> store -> batching -> anchoring -> uplink.

- :mod:`.profiles`: meter models as TOML data (register maps with their sources);
  :mod:`.decoding`: registers to integer values, read planning;
- :mod:`.acquisition`: Modbus TCP and RTU polling, error classes and the retry policy,
  report by exception; :mod:`.simulator`: simulated meters (``mrv simulate meters``);
- :mod:`.signing`: samples to signed readings, failed polls to signed gap records;
  :mod:`.store`: the SQLite store (WAL, ``synchronous=FULL``) and retention;
- :mod:`.batching`, :mod:`.anchoring`: batches closed by size or age, anchored exactly once
  through a persistent outbox; :mod:`.relay`: the enterprise's relayer (``mrv relay``);
- :mod:`.uplink`: at-least-once, ordered delivery to the ledger API;
- :mod:`.config`, :mod:`.node`, :mod:`.status`, :mod:`.observability`: the configuration
  file, the runner (``mrv edge run``), ``mrv edge status``, logs, metrics and health.

The operator's guide is docs/edge.md.
"""
