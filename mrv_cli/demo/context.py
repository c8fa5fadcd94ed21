"""What the demo's steps share: the plan (:class:`DemoPlan`, fixed before any work) and the
context (:class:`DemoContext`, filled as the system comes up).

A step is a function ``step(context) -> StepOutcome`` (``mrv_cli.demo.steps``): it needs no
process handle and no Python object of another step, only addresses and files, so the steps the
lead wires later (monitoring plan, manual fuel purchase, the monthly report, attestation, the
report bundle) can be run again by hand against what the demo leaves behind:
``DemoContext.load(out / "demo.json")`` gives the context back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrv_core.codec import format_address, format_hex, parse_address, parse_hex

from ..flows import SAMPLE_FLAG_NOTE

__all__ = ["DEMO_FORMAT", "NODE_START_S", "DemoContext", "DemoPlan", "NodeInfo", "SiteReport",
           "StepOutcome"]

#: The ``format`` of ``demo.json``: what tells a demo's own output directory from a directory
#: that happens to hold a file of that name (``run.prepare_out``).
DEMO_FORMAT = "trustmrv-demo/1"

#: Real seconds the edge nodes get to start once released (their imports are done ahead, see
#: ``launch``): the simulated clock starts this long (at its speed) before the period, so every
#: meter has a reading at or before the period's start.
NODE_START_S = 5


@dataclass(frozen=True)
class DemoPlan:
    """The run the arguments ask for, checked before any work.

    ``period_start`` / ``period_end``: the simulated period (Unix s; the first ``days`` days of a
    calendar month, Beijing time); ``label`` names it (``2027-01``, or ``2027-01-01..02`` when
    shortened); ``interval_s``: seconds between two polls of a meter (simulated);
    ``speed``: simulated seconds per real second; ``lead_s``: simulated seconds the meters run
    before the period starts (so every meter has a reading at or before the start);
    ``max_clock_skew``: the AnchorRegistry's skew in seconds (a few real seconds of the
    simulated clock, so a node's queue never makes a reading look late)."""

    out: Path
    rpc: str | None
    period_start: int
    period_end: int
    label: str
    interval_s: int
    speed: int
    lead_s: int
    max_clock_skew: int
    all_methodologies: bool = False

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start) // 86_400

    @property
    def batch_age_s(self) -> int:
        """The nodes' batch age: a simulated day (half a day for a one-day period)."""
        return min(86_400, self.days * 43_200)

    @property
    def settled(self) -> int:
        """The simulated instant up to which the ledger must hold everything anchored final
        before the demo goes on: two simulated days past the period's end, so the batches
        holding the summaries of its last hours and day (signed once a later reading exists,
        by a step that runs once a real second) are in too."""
        return self.period_end + 2 * 86_400


@dataclass(frozen=True)
class NodeInfo:
    """One edge node: its site path (``enterprise/site``), device address, configuration file,
    and the meter paths it reads with their simulator unit ids and profiles."""

    site: str
    device: bytes
    config: Path
    meters: tuple[tuple[str, int, str], ...]  # (path, unit id, profile)


@dataclass(frozen=True)
class SiteReport:
    """A site's report of the period: its hash and its submission's transaction hash (32 bytes
    each)."""

    hash: bytes
    tx: bytes


@dataclass
class DemoContext:
    """Addresses, keys and paths of the running system (filled as it comes up).

    ``api_keys``: role name -> API key text (``enterprise_admin``, ``regulator``);
    ``keys``: role name -> keystore file (``enterprise``, ``regulator``), all under the one
    password in ``password_file``; ``enterprise``: the enterprise's address (20 bytes);
    ``reports``: site path -> its report of the period (:class:`SiteReport`), in the order of
    the sites, each once it is submitted."""

    plan: DemoPlan
    chain_url: str = ""
    deployment: Path = Path()
    api_url: str = ""
    api_keys: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Path] = field(default_factory=dict)
    password_file: Path = Path()
    enterprise: bytes = b""
    clock_file: Path = Path()
    database_url: str = ""
    simulator_control: tuple[str, int] = ("127.0.0.1", 0)
    nodes: list[NodeInfo] = field(default_factory=list)
    written: dict[str, Path] = field(default_factory=dict)  # what the steps wrote, by title
    reports: dict[str, SiteReport] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return self.plan.out

    @property
    def bundles(self) -> Path:
        return self.plan.out / "bundles"

    def to_json(self) -> dict[str, Any]:
        """The context as ``demo.json`` keeps it (API keys included: the demo's ledger is
        throw-away sample data on loopback)."""
        plan = self.plan
        return {
            "format": DEMO_FORMAT,
            "note": "SAMPLE DATA from `mrv demo`: simulated meters on simulated time. Its "
                    "bundles say \"sample\": false because they are signed for the demo "
                    "chain's domain; " + SAMPLE_FLAG_NOTE,
            "period": {"start": str(plan.period_start), "end": str(plan.period_end),
                       "label": plan.label},
            "plan": {"rpc": plan.rpc, "interval": str(plan.interval_s),
                     "speed": str(plan.speed), "lead": str(plan.lead_s),
                     "maxClockSkew": str(plan.max_clock_skew),
                     "allMethodologies": plan.all_methodologies},
            "simulatorControl": f"{self.simulator_control[0]}:{self.simulator_control[1]}",
            "chain": self.chain_url, "deployment": str(self.deployment),
            "api": self.api_url, "apiKeys": dict(self.api_keys),
            "keys": {k: str(v) for k, v in self.keys.items()},
            "passwordFile": str(self.password_file),
            "enterprise": format_address(self.enterprise) if self.enterprise else None,
            "clock": str(self.clock_file), "database": self.database_url,
            "nodes": [{"site": n.site, "device": format_address(n.device),
                       "config": str(n.config),
                       "meters": [{"path": p, "unit": str(u), "profile": f}
                                  for p, u, f in n.meters]} for n in self.nodes],
            "written": {k: str(v) for k, v in self.written.items()},
            "reports": [{"site": site, "hash": format_hex(report.hash),
                         "submission": format_hex(report.tx)}
                        for site, report in self.reports.items()],
        }

    @classmethod
    def load(cls, path: Path) -> DemoContext:
        """The context a demo left in ``path`` (its ``demo.json``), to run a step again by hand
        against the system it left (``--rpc``: the chain stays; the API must be served again).
        Raises ``KeyError`` / ``ValueError`` for a file this version did not write (one
        written before ``format`` existed is read too)."""
        o = json.loads(path.read_text(encoding="utf-8"))
        if o.get("format", DEMO_FORMAT) != DEMO_FORMAT:
            raise ValueError(f"{path}: format {o['format']!r:.40}, expected {DEMO_FORMAT}")
        p = o["plan"]
        plan = DemoPlan(out=path.parent, rpc=p["rpc"], period_start=int(o["period"]["start"]),
                        period_end=int(o["period"]["end"]), label=o["period"]["label"],
                        interval_s=int(p["interval"]), speed=int(p["speed"]),
                        lead_s=int(p["lead"]), max_clock_skew=int(p["maxClockSkew"]),
                        all_methodologies=bool(p["allMethodologies"]))
        host, _, port = o["simulatorControl"].rpartition(":")
        return cls(
            plan=plan, chain_url=o["chain"], deployment=Path(o["deployment"]), api_url=o["api"],
            api_keys=dict(o["apiKeys"]), keys={k: Path(v) for k, v in o["keys"].items()},
            password_file=Path(o["passwordFile"]),
            enterprise=parse_address(o["enterprise"]) if o["enterprise"] else b"",
            clock_file=Path(o["clock"]), database_url=o["database"],
            simulator_control=(host, int(port)),
            nodes=[NodeInfo(n["site"], parse_address(n["device"]), Path(n["config"]),
                            tuple((m["path"], int(m["unit"]), m["profile"])
                                  for m in n["meters"])) for n in o["nodes"]],
            written={k: Path(v) for k, v in o["written"].items()},
            reports={r["site"]: SiteReport(parse_hex(r["hash"], 32),
                                           parse_hex(r["submission"], 32))
                     for r in o["reports"]})

    def save(self) -> Path:
        """Write ``demo.json`` in the output directory (replacing an earlier one of this run)."""
        path = self.plan.out / "demo.json"
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class StepOutcome:
    """What a step reports: ``ok`` (False fails the demo), lines to print, and figures for the
    summary table (label -> text)."""

    ok: bool
    lines: tuple[str, ...] = ()
    figures: tuple[tuple[str, str], ...] = ()
