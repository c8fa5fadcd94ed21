"""The benchmark suite still runs and still computes right answers (no timing is asserted).

``python -m benchmarks`` exits 2 when any figure rests on a wrong result (a root that differs
from OpenZeppelin's, a proof that does not verify), so a quick run keeps the suite honest.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_run_succeeds(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert out.stat().st_size > 0
    assert "targets met" in done.stdout
    ledger = {r["name"].strip(): r for r in json.loads(out.read_text())["results"]
              if r["section"].startswith("9. ")}
    # Section 9 measures both databases and the served API even in a quick run.
    for database in ("SQLite", "PostgreSQL"):
        assert ledger[f"ingest, {database}: readings decoded, verified, stored"]["value"] > 0
    served = ledger["proof bundles served over HTTP (GET, one worker)"]
    assert served["value"] > 0 and "all 200" in served["note"]
    rss = ledger["peak RSS of the API worker serving them"]
    assert rss["value"] > 0 and "mrv api serve" in rss["note"]
    # Section 10 recomputes a (small) month on both databases, its figures checked.
    recompute = {r["name"].strip(): r for r in json.loads(out.read_text())["results"]
                 if r["section"].startswith("10. ")}
    for database in ("SQLite", "PostgreSQL"):
        row = recompute[f"month recompute, {database}: 10 meters"]
        assert row["value"] > 0 and "checked" in row["note"]
