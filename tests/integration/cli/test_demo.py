"""``mrv demo`` as a user runs it, a real process with real children (anvil, the ledger API,
the meter simulator, two edge nodes): a shortened run (one simulated day, only the methodology
versions it uses) ends with everything in the ledger anchored final, no reading late, a report
of that day per site (the wuxi one with the manual gas purchase and its evidence PDF)
submitted, attested, rendered, and each report bundle verified (on chain by the demo, offline
again here), the tampered bundle failing at the reading's signature, proof bundles that verify
offline, and no child left; Ctrl-C and a failing step stop every child of its process group."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from accounting_rules.reports.bundle import ReportBundle
from accounting_rules.reports.manual import evidence_hash
from accounting_rules.reports.statement import loads_statement
from mrv_cli.flows import verify_files

MRV = [sys.executable, "-m", "mrv_cli.main"]


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of ``pid``, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2])


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def children_group(parent: int) -> int | None:
    """The process group of ``parent``'s children (the demo's: not its own), if any runs."""
    own = _stat(parent)
    for pid in _pids():
        found = _stat(pid)
        if found is not None and found[0] == parent and own is not None and found[1] != own[1]:
            return found[1]
    return None


def members(group: int) -> list[int]:
    """Processes of ``group`` still alive (zombies included: they are not reaped yet)."""
    return [pid for pid in _pids() if (found := _stat(pid)) is not None and found[1] == group]


def start_demo(out: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*MRV, "demo", "--out", str(out), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_children(demo: subprocess.Popen[str], count: int, timeout: float = 60) -> int:
    """The children's process group once ``count`` of them run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert demo.poll() is None, demo.communicate()
        group = children_group(demo.pid)
        if group is not None and len(members(group)) >= count:
            return group
        time.sleep(0.1)
    raise AssertionError(f"the demo did not start {count} children in {timeout} s")


def test_a_one_day_demo_ends_with_the_ledger_final_nothing_late_and_a_report_that_verifies(
        tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = start_demo(out, "--days", "1", "--methodologies", "used")
    group = wait_for_children(demo, 1)
    stdout, stderr = demo.communicate(timeout=170)
    assert demo.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert members(group) == []  # every child (anvil's native binary too) is gone
    context = json.loads((out / "demo.json").read_text())
    assert len(context["nodes"]) == 2 and context["period"]["label"].endswith("-01..01")
    start, end = int(context["period"]["start"]), int(context["period"]["end"])
    assert end - start == 86_400
    # Every reading of the period is in the ledger, in a batch anchored final.
    # The ledger keeps uint64 columns as 20 zero-padded digits on SQLite (ledger_api.db.types).
    start_text, end_text = f"{start:020d}", f"{end:020d}"
    ledger = sqlite3.connect(out / "ledger.sqlite")
    try:
        per_meter = dict(ledger.execute(
            "SELECT meter_path, count(*) FROM readings WHERE timestamp >= ? AND timestamp < ? "
            "GROUP BY meter_path", (start_text, end_text)).fetchall())
        # Readings of the period whose batch is not anchored final (or not there at all).
        readings_of = "FROM leaves l WHERE l.kind = 'reading' AND l.time_to < ?"
        open_batches = ledger.execute(
            f"SELECT count(*) {readings_of} AND EXISTS (SELECT 1 FROM batches b WHERE "
            "b.device = l.device AND b.batch_seq = l.batch_seq AND b.anchor_state != 'final')",
            (end_text,)).fetchone()[0]
        unbatched = ledger.execute(f"SELECT count(*) {readings_of} AND l.batch_seq IS NULL",
                                   (end_text,)).fetchone()[0]
        # No reading reached the ledger late: on simulated time the API receives each within
        # real seconds of its (simulated, future) timestamp.
        late = ledger.execute("SELECT count(*) FROM leaves WHERE kind = 'reading' "
                              "AND lag_s > 3600").fetchone()[0]
        summaries = ledger.execute(
            "SELECT count(*) FROM records WHERE kind = 'emission_summary'").fetchone()[0]
        gaps = ledger.execute("SELECT count(*) FROM records WHERE kind = 'gap'").fetchone()[0]
    finally:
        ledger.close()
    assert len(per_meter) == 6 and all(n >= 2 for n in per_meter.values()), per_meter
    assert (open_batches, unbatched, late) == (0, 0, 0)
    assert summaries > 0 and gaps > 0  # the nodes' summaries, the injected faults' gaps
    # No node flagged a reading against the chain's clock.
    for node in context["nodes"]:
        store = sqlite3.connect(Path(node["config"]).parent / "edge.sqlite")
        try:
            assert store.execute("SELECT count(*) FROM leaves WHERE flags != 0").fetchone() \
                == (0,)
        finally:
            store.close()
    # A report of the day per site: each bundle verifies offline here (the demo verified it on
    # chain while its anvil ran, attestation included), with the three meters of its site; the
    # wuxi report has the gas invoice's line too.
    sites = [node["site"] for node in context["nodes"]]
    assert [r["site"] for r in context["reports"]] == sites
    bundles = {}
    for site, held in zip(sites, context["reports"], strict=True):
        name = site.rsplit("/", 1)[-1]
        [report_path] = (out / "bundles").glob(f"report-*-{name}.json")
        [report] = verify_files([report_path], None)
        assert report.ok, report.fields
        bundle = bundles[report_path] = ReportBundle.loads(report_path.read_bytes())
        doc = bundle.report
        assert (doc.period.start, doc.period.end) == (start, end)
        assert doc.site is not None and doc.site.path == site
        assert len(doc.measured) == 3 and all(line.readings >= 2 for line in doc.measured)
        assert {line.meter_path.rsplit("/", 3)[0] for line in doc.measured} == {site}
        assert held["hash"] == "0x" + bundle.report_hash.hex()
        assert doc.totals.total > 0
        manual = 1 if site == "demo-co/wuxi-plant" else 0
        assert len(doc.manual) == manual
        assert re.search(rf"{report_path.name} .*VALID, 3 measured and {manual} manual "
                         r"lines.*\n(?:\s+.*\n)*?\s+attested (Accepted|Qualified) by 0x",
                         stdout), stdout[-3000:]
        [statement] = (out / "report").glob(f"attestation-*-{name}.json")
        assert loads_statement(statement.read_bytes()).report == bundle.report_hash
        for suffix, magic in ((".html", b"<!DOCTYPE html>"), (".pdf", b"%PDF-")):
            [rendered] = (out / "report").glob(f"report-*-{name}{suffix}")
            assert rendered.read_bytes().startswith(magic)
        assert f"{site}: report bundle" in stdout and f"{site}: verdict" in stdout
    [invoice] = (out / "evidence").glob("invoice-*.pdf")
    [wuxi] = [b.report for b in bundles.values() if b.report.manual]
    [gas] = wuxi.manual
    assert gas.source == "fuel.natural_gas" and gas.amount == 12_000_000  # 12000 Nm3 in dm3
    assert gas.evidence == evidence_hash(invoice.read_bytes())
    # The tampered report bundle (of the wuxi report) fails at the signature of the reading
    # changed.
    [tampered] = verify_files(list((out / "tampered").glob("report-*-wuxi-plant.json")), None)
    assert tampered.fields["step"] == "signature", tampered.fields
    assert "tampered reading caught" in stdout and "at step signature" in stdout
    # The keys' password is its owner's alone, as the key files are.
    assert (out / "keys" / "password.txt").stat().st_mode & 0o077 == 0
    # The proof bundles of single readings verify offline too.
    proofs = sorted(set((out / "bundles").glob("*.json")) - set(bundles))
    assert len(proofs) >= 6 and all(o.ok for o in verify_files(proofs, None))


def test_ctrl_c_stops_every_child_of_the_demo(tmp_path: Path) -> None:
    demo = start_demo(tmp_path / "demo")
    group = wait_for_children(demo, 5)  # anvil (wrapper and binary) and the launchers
    os.kill(demo.pid, signal.SIGINT)
    _stdout, stderr = demo.communicate(timeout=60)
    assert demo.returncode == 130 and "mrv: interrupted" in stderr
    assert "Traceback" not in stderr
    assert members(group) == []


def test_a_failing_step_stops_every_child_and_exits_in_one_line(tmp_path: Path) -> None:
    """anvil killed under the demo: the step talking to it fails, the demo exits 2 with one
    line, and the rest of its process group is stopped."""
    demo = start_demo(tmp_path / "demo")
    group = wait_for_children(demo, 5)
    anvil = [pid for pid in members(group)
             if "anvil" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]
    assert anvil
    for pid in anvil:
        os.kill(pid, signal.SIGKILL)
    _stdout, stderr = demo.communicate(timeout=120)
    assert demo.returncode in (1, 2), stderr
    assert stderr.count("\n") == 1 and stderr.startswith("mrv: error:"), stderr
    assert members(group) == []
