"""The ``mrv`` commands that send or sign free text refuse a bidi control or another format
character in it before any file, key, chain or API is touched (every other input given here
points nowhere, so a later step would fail with another message): exit 2, one error line
naming the option and the code point, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrv_cli.main import main

USAGE = 2
NOWHERE = "http://127.0.0.1:1"


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == USAGE and "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_activity_add_refuses_a_bidi_control_in_the_description_or_the_file_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def add(evidence: Path, description: str) -> str:
        evidence.write_bytes(b"%PDF-1.7\n")
        return _refused(["report", "activity", "add", "--api", NOWHERE, "--api-key", "k",
                         "--site", "demo-co/wuxi-plant", "--source", "fuel.natural_gas",
                         "--amount", "1 Nm3", "--period", "2026-10", "--evidence",
                         str(evidence), "--description", description], capsys)

    err = add(tmp_path / "invoice.pdf", "invoice \u202e321")
    assert "--description: the format character U+202E RIGHT-TO-LEFT OVERRIDE" in err
    err = add(tmp_path / "invoice\u202efdp.exe", "invoice 123")
    assert "the --evidence file's name: the format character U+202E" in err


def test_attest_refuses_a_bidi_control_in_the_comment_before_the_chain(
        capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(["report", "attest", "0x" + "11" * 32, "--verdict", "accepted",
                    "--comment", "checked \u2067against\u2069 the invoice", "--rpc", NOWHERE,
                    "--deployment", "nowhere.json", "--key", "nowhere.json"], capsys)
    assert "--comment: the format character U+2067 RIGHT-TO-LEFT ISOLATE" in err


def test_meter_change_refuses_a_format_character_in_the_note_before_the_config(
        capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(["edge", "meter-change", "--config", "nowhere.toml", "--meter",
                    "demo-co/wuxi-plant/hall-1/line-1/meter-1", "--new-initial", "0",
                    "--note", "meter \u200breplaced"], capsys)
    assert "--note: the format character U+200B ZERO WIDTH SPACE" in err
