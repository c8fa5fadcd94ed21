"""``mrv report activity add`` checks what it would send before it sends anything: the API
given listens nowhere (port 1 refuses), so a refusal that names the input, not the unreachable
API, was made before any request; exit 2 with one error line, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrv_cli.main import main

USAGE = 2
NOWHERE = "http://127.0.0.1:1"


def _add(tmp_path: Path, evidence: bytes, capsys: pytest.CaptureFixture[str],
         *extra: str) -> tuple[int, str]:
    path = tmp_path / "scan.jpg"
    path.write_bytes(evidence)
    code = main(["report", "activity", "add", "--api", NOWHERE, "--api-key", "k",
                 "--site", "demo-co/wuxi-plant", "--source", "fuel.natural_gas",
                 "--amount", "10000 Nm3", "--period", "2026-10", "--evidence", str(path),
                 *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_a_three_byte_jpeg_is_refused_before_it_is_sent(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _add(tmp_path, b"\xff\xd8\xff", capsys)
    assert code == USAGE, err
    assert "expected an image Pillow decodes as JPEG, got" in err and "reached" not in err, err
