"""The commented configuration file ``mrv edge init`` writes.

The file it renders loads with :func:`edge_node.config.load_config` unchanged (a test checks),
and explains every setting in a comment, so an operator edits it instead of reading docs first.
Its meters point at the meter simulator on 127.0.0.1 (``mrv simulate meters``): ``init`` →
``register`` → ``run`` works before any real meter is wired.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TemplateMeter", "render_config"]


@dataclass(frozen=True, slots=True)
class TemplateMeter:
    """One ``[[meters]]`` entry of the template."""

    path: str
    profile: str
    unit_id: int
    source: str | None = None


def _q(text: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these strings)."""
    return json.dumps(text, ensure_ascii=False)


def render_config(*, site: str, key_file: str, store: str, rpc: str, deployment: str,
                  modbus_host: str, modbus_port: int, meters: Sequence[TemplateMeter],
                  tls_cert: str | None = None, tls_key: str | None = None,
                  interval: float = 60.0, max_age_seconds: float = 3600.0,
                  listen: str = "127.0.0.1:9108", uplink_url: str | None = None) -> str:
    """The configuration file's text. Paths are written as given (relative ones are resolved
    against the file's directory when it is read).

    ``interval`` is every meter's poll interval and ``max_age_seconds`` the batch age, both in
    seconds (the defaults are a plant's: 60 s and an hour); ``listen`` is the metrics and
    health address. With ``uplink_url`` the ``[uplink]`` table is written active (with the
    device's TLS files for an ``https://`` URL), else it is left commented out."""
    cert, key = tls_cert or "device-tls.crt", tls_key or "device-tls.key"
    table = "" if uplink_url else "# "  # the [uplink] table, active or commented out
    tls = "" if uplink_url and uplink_url.startswith("https://") else "# "
    uplink = [f"{table}[uplink]",
              "# The ledger API to push signed data to (plain http:// only to a loopback "
              "address);",
              "# requests go to url + /v1/uplink.",
              f"{table}url = {_q(uplink_url or 'https://ledger.example.com')}",
              "# The device's TLS client certificate and key, for https.",
              f"{tls}cert_file = {_q(cert)}   # signed by the enterprise CA (mrv pki sign)",
              f"{tls}key_file = {_q(key)}"]
    lines = [
        "# TrustMRV edge node configuration (TOML). Written by `mrv edge init`; edit freely.",
        "# Durations are in seconds, sizes in MiB. Relative paths are relative to this file.",
        "# Every key is checked when the node starts: a typo is an error naming its line.",
        "# Reference: docs/edge.md.",
        "",
        "[device]",
        "# Keystore v3 file of the device key; its address is the device's identity on chain.",
        f"key_file = {_q(key_file)}",
        "# The key's password: the first line of this file, else MRV_KEY_PASSWORD, else a prompt.",
        "# password_file = \"device-key.password\"",
        "# The node's store: signed readings, batches, the anchor outbox, the uplink cursor.",
        f"store = {_q(store)}",
        "# The site this node serves, 'enterprise/site': every meter path starts with it.",
        f"site = {_q(site)}",
        "",
        "[chain]",
        "# JSON-RPC endpoint of the consortium chain and the deployment file of its contracts.",
        f"rpc = {_q(rpc)}",
        f"deployment = {_q(deployment)}",
        "# Blocks on top of an anchor (its own included) before it counts as final; 1 on QBFT.",
        "confirmations = 1",
        "# 'device': the device account sends anchor() and pays gas (none on a zero-gas-price",
        "# chain); 'relayer': the enterprise's `mrv relay` submits anchorBySig() for it.",
        "anchor = \"device\"",
        "# relayer_url = \"http://127.0.0.1:8701\"",
        "",
        "[batching]",
        "# A batch closes at this many leaves (readings and signed records) or this age.",
        "max_leaves = 65536",
        f"max_age_seconds = {max_age_seconds!r}",
        "",
        *uplink,
        "# ca_file = \"ledger-ca.crt\"",
        "",
        "[retention]",
        "# Data anchored final AND acknowledged by the ledger API is pruned after keep_days.",
        "# Above the budget the node raises an alarm and keeps reading; at the hard limit it",
        "# stops polling. Unacknowledged data is never deleted.",
        "keep_days = 90",
        "disk_budget_mib = 1024",
        "disk_hard_limit_mib = 2048",
        "",
        "[summaries]",
        "# Hourly and daily emission summaries follow this IANA time zone (Beijing time).",
        "timezone = \"Asia/Shanghai\"",
        "",
        "[observability]",
        "# /metrics (Prometheus) and /healthz, on a loopback address only (IPv6: [::1]:9108).",
        f"listen = {_q(listen)}",
        "# JSON-lines log: a regular file in an existing directory, or '-' for standard error.",
        "log = \"-\"",
        "",
        "# One entry per Modbus TCP endpoint or RTU serial line (docs/edge.md, Acquisition).",
        "# Meters on one connection are polled one request at a time; connections concurrently.",
        "[[acquisition.connections]]",
        "name = \"simulator\"",
        "kind = \"tcp\"",
        f"host = {_q(modbus_host)}",
        f"port = {modbus_port}",
        "timeout = 1.0",
        "# An RTU line instead: kind = \"rtu\", port = \"/dev/ttyUSB0\", baudrate = 9600,",
        "# parity = \"N\", stopbits = 1.",
    ]
    for meter in meters:
        lines += [
            "",
            "# One physical meter, named by its ISA-95 path enterprise/site/area/line/meter.",
            "[[acquisition.connections.meters]]",
            f"path = {_q(meter.path)}",
            f"unit_id = {meter.unit_id}",
            "# Register map: a shipped profile (`mrv simulate meters --help` lists them), or",
            "# your own profile file as a path with a '/' (\"./profiles/my-meter.toml\").",
            f"profile = {_q(meter.profile)}",
            "# Seconds between polls.",
            f"interval = {interval!r}",
            "# Current and voltage transformers, primary/secondary as on their nameplates.",
            "ct = [1, 1]",
            "pt = [1, 1]",
        ]
    sources = [(m.path, m.source) for m in meters if m.source]
    if sources:
        lines += ["", "# Emission source of each meter's energy, for local summaries.",
                  "[summaries.sources]"]
        lines += [f"{_q(path)} = {_q(source)}" for path, source in sources]
    return "\n".join(lines) + "\n"
