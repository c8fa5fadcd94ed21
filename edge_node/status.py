"""``mrv edge status``: what the node's store says, read without the chain or the meters.

:func:`node_status` opens the store read-only in effect (read transactions only) and returns a
JSON-ready dict:

- ``device``, ``store`` (path), ``disk_bytes`` (file + WAL + shared memory);
- ``meters``: per meter path its ``next_seq``, ``last_timestamp``, ``state`` (``ok`` or
  ``awaiting_meter_change``), ``clock_refusals`` and the last reading of each quantity
  (``timestamp``, ``value`` as a decimal string);
- ``gaps``: signed gap records by error class (records and failed polls);
- ``open_batch``: leaves not yet in a batch and the oldest one's commit time;
- ``batches``: closed batches, and the outbox by state (``pending``, ``sent``, ``final``) with
  the last error of an unfinished entry;
- ``uplink``: per stream the position acknowledged by the ledger API and the backlog after it
  (-1: nothing acknowledged); ``uplink_url``, the configured ledger API or ``None`` when the
  file has no ``[uplink]`` table;
- ``uplink_check``: the ``uplink`` health check as the store alone tells it
  (``edge_node.uplink.health``: the oldest undelivered item's age, and whether the head of each
  stream verifies, naming a tampered item by device, meter and seq);
- ``health``: the running node's own ``/healthz`` verdict, every check included (a refusal by
  the ledger API is known only there), asked on the ``listen`` address with a 2 s timeout, or
  why it could not be asked (no node running, or ``listen`` on port 0).

Times in the dict are Unix seconds (integers), for scripts; :func:`render_status` prints them
as ISO 8601 UTC with their age (``2026-11-30T19:20:01Z, 12 s ago``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from mrv_core.chain import Deployment
from mrv_core.codec import format_address
from mrv_core.eip712 import Domain
from mrv_core.errors import ConfigError
from mrv_core.keys import keystore_address

from .config import NodeConfig
from .node import deployment_domain
from .store import STREAMS, Store, StoreUplink
from .store.models import BatchRow, MeterRow, OutboxRow, ReadingRow, RecordRow
from .store.queries import counts
from .store.schema import require_edge_store
from .uplink import UplinkSettings
from .uplink.health import inspect_backlog, uplink_verdict

__all__ = ["describe_time", "node_status", "render_status", "store_domain"]


def store_domain(config: NodeConfig) -> Domain:
    """The EIP-712 domain of the node's deployment file (chain id and AnchorRegistry), without
    connecting to the chain."""
    return deployment_domain(Deployment.read(config.chain.deployment))


def node_status(config: NodeConfig, *, now: float | None = None) -> dict[str, Any]:
    """The status dict described in the module docstring. Raises :class:`ConfigError` when
    the store does not exist yet (the node never ran)."""
    path = config.device.store
    if not path.exists():
        raise ConfigError(f"no store at {path}: the node has not run yet (mrv edge run)")
    require_edge_store(path)  # status reads: it never creates or migrates a store
    device = keystore_address(config.device.key_file)
    if device is None:
        raise ConfigError(f"{config.device.key_file} does not declare its address")
    with Store(path, device, store_domain(config)) as store, store.read() as session:
        meters: dict[str, Any] = {}
        for meter in session.scalars(select(MeterRow).order_by(MeterRow.path)):
            last = {}
            latest = (select(ReadingRow.quantity, func.max(ReadingRow.seq))
                      .where(ReadingRow.meter_pk == meter.id).group_by(ReadingRow.quantity))
            for quantity, seq in session.execute(latest):
                row = session.scalars(select(ReadingRow).where(
                    ReadingRow.meter_pk == meter.id, ReadingRow.seq == seq)).one()
                last[quantity] = {"timestamp": row.timestamp, "value": str(row.value),
                                  "seq": row.seq}
            meters[meter.path] = {"next_seq": meter.next_seq,
                                  "last_timestamp": meter.last_timestamp,
                                  "state": meter.state, "clock_refusals": meter.clock_refusals,
                                  "last": last}
        gaps: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        for wire in session.scalars(select(RecordRow.wire).where(RecordRow.kind == "gap")):
            record = json.loads(wire)
            gaps[record["errorClass"]] += 1
            failed[record["errorClass"]] += int(record["failedPolls"])
        errors = [{"batch_seq": seq, "error": error} for seq, error in session.execute(
            select(OutboxRow.batch_seq, OutboxRow.last_error)
            .where(OutboxRow.state != "final", OutboxRow.last_error.is_not(None))
            .order_by(OutboxRow.batch_seq).limit(5))]
        batches = session.scalar(select(func.count()).select_from(BatchRow)) or 0
        last_batch = session.scalar(select(func.max(BatchRow.batch_seq)))
        totals = counts(store)
        uplink_source = StoreUplink(store)
        uplink = {}
        for stream in STREAMS:
            acked = uplink_source.acknowledged_through(stream)
            # Leaf ordinals start at 1 and batchSeqs at 0; -1 is "nothing acknowledged".
            if stream == "leaves":
                backlog = totals.newest_leaf - max(acked, 0)
            else:
                backlog = (-1 if last_batch is None else int(last_batch)) - acked
            uplink[stream] = {"acknowledged_through": acked, "backlog": max(0, backlog)}
        check: dict[str, Any] = {"ok": True, "detail": "not configured (no [uplink] table)"}
        if config.uplink is not None:
            max_age_ms = UplinkSettings(**config.uplink.model_dump()).max_backlog_age_ms
            ok, detail = uplink_verdict(None, inspect_backlog(store, store.domain),
                                        max_age_s=max_age_ms / 1000,
                                        now=time.time() if now is None else now)
            check = {"ok": ok, "detail": detail}
    return {
        "device": format_address(device),
        "store": str(path),
        "disk_bytes": totals.file_bytes,
        "meters": meters,
        "gaps": {cls: {"records": gaps[cls], "failed_polls": failed[cls]} for cls in sorted(gaps)},
        "leaves": dict(sorted(totals.leaves.items())),
        "open_batch": {"leaves": totals.unbatched,
                       "oldest_committed_at": totals.oldest_unbatched_at},
        "batches": {"closed": batches, "outbox": dict(sorted(totals.outbox.items())),
                    "last_final": totals.last_final, "unfinished_errors": errors},
        "uplink": uplink,
        "uplink_url": None if config.uplink is None else config.uplink.url,
        "uplink_check": check,
        "health": live_health(config.observability.listen),
    }


def live_health(listen: str) -> dict[str, Any]:
    """The running node's ``/healthz`` answer on its loopback ``listen`` address (``host:port``,
    checked loopback by the configuration): ``{"url", "status", "checks"}``, or ``{"url",
    "error"}`` when no node answers there (or the port is 0: the node picked one itself)."""
    host, _, port = listen.rpartition(":")
    url = f"http://{host}:{port}/healthz"
    if port == "0":
        return {"url": url, "error": "listen has port 0: the running node's port is in its "
                                     "first output line, not in the configuration"}
    try:
        answer = httpx.get(url, timeout=2.0, trust_env=False)
        body = answer.json()
        return {"url": url, "status": str(body["status"]), "checks": dict(body["checks"])}
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, KeyError, TypeError) as exc:
        return {"url": url, "error": f"no node answers: {type(exc).__name__}: {exc}"[:300]}


def describe_time(timestamp: int, now: int) -> str:
    """Unix seconds as ISO 8601 UTC with the age at ``now`` (Unix seconds):
    ``2026-11-30T19:20:01Z, 12 s ago`` (``in 5 s`` for a time ahead of ``now``). The age is in
    whole seconds under 2 minutes, minutes under 2 hours, hours under 2 days, else days; a time
    past year 9999 is ``Unix time N``."""
    try:
        iso = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        iso = f"Unix time {timestamp}"
    age = abs(now - timestamp)
    if age < 120:
        amount = f"{age} s"
    elif age < 7200:
        amount = f"{age // 60} min"
    elif age < 172_800:
        amount = f"{age // 3600} h"
    else:
        amount = f"{age // 86_400} d"
    return f"{iso}, {amount} ago" if now >= timestamp else f"{iso}, in {amount}"


def render_status(status: dict[str, Any], *, now: int | None = None) -> str:
    """The status as the text ``mrv edge status`` prints; times as :func:`describe_time` at
    ``now`` (default: the current Unix time)."""
    now = int(time.time()) if now is None else now
    lines = [f"device   {status['device']}",
             f"store    {status['store']} ({status['disk_bytes']:,} bytes)", "", "meters"]
    for path, meter in status["meters"].items():
        state = "" if meter["state"] == "ok" else f"  [{meter['state']}]"
        lines.append(f"  {path}  next seq {meter['next_seq']}{state}")
        for quantity, last in meter["last"].items():
            lines.append(f"    {quantity:<28} {last['value']:>16} at "
                         f"{describe_time(last['timestamp'], now)} (seq {last['seq']})")
    if not status["meters"]:
        lines.append("  (no reading yet)")
    lines += ["", "gaps (signed records, failed polls) by error class"]
    lines += [f"  {cls:<16} {g['records']:>6} {g['failed_polls']:>8}"
              for cls, g in status["gaps"].items()] or ["  none"]
    batch = status["batches"]
    outbox = ", ".join(f"{state} {count}" for state, count in batch["outbox"].items()) or "empty"
    open_batch = status["open_batch"]
    oldest = ("" if open_batch["oldest_committed_at"] is None else
              f", the oldest committed {describe_time(open_batch['oldest_committed_at'], now)}")
    lines += ["", f"open batch  {open_batch['leaves']} leaves{oldest}",
              f"batches     {batch['closed']} closed; outbox: {outbox}"]
    lines += [f"  batch {e['batch_seq']}: {e['error']}" for e in batch["unfinished_errors"]]
    if status.get("uplink_url") is None:
        lines += ["", "uplink      not configured (no [uplink] table)"]
    else:
        lines += ["", f"uplink      {status['uplink_url']}",
                  "  stream   acknowledged through    backlog"]
        lines += [f"  {stream:<8} {_position(u['acknowledged_through']):>20} {u['backlog']:>10}"
                  for stream, u in status["uplink"].items()]
    check = status["uplink_check"]
    lines.append(f"  check    {'ok' if check['ok'] else 'FAILING'}: {check['detail']}")
    health = status["health"]
    lines += ["", f"health of the running node ({health['url']})"]
    if "error" in health:
        lines.append(f"  unknown: {health['error']}")
    else:
        lines += [f"  {name:<10} {'ok' if c['ok'] else 'FAILING'}: {c['detail']}"
                  for name, c in health["checks"].items()]
    return "\n".join(lines)


def _position(acknowledged: int) -> str:
    return "none yet" if acknowledged < 0 else str(acknowledged)
