"""Salts: 32 bytes from the OS CSPRNG, fresh for every reading the product writes.

A salt that repeats, or comes from a guessable source, lets anyone holding a sibling hash
enumerate plausible meter values (THREATS.md). These tests fail if salt generation returns
zeros, a constant, a seeded PRNG's output, or fewer than 32 bytes.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from mrv_cli.main import main
from mrv_cli.sample import sample_readings
from mrv_core import SAMPLE_DOMAIN, DeviceKey, new_salt
from mrv_core.codec import parse_hex


def test_salts_are_drawn_from_os_urandom_32_bytes_per_reading(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every salt is exactly what the OS CSPRNG returned for a 32-byte request (``secrets``
    draws from ``os.urandom`` too); a PRNG or a constant fails here."""
    real = os.urandom
    requests: list[int] = []
    handed_out: list[bytes] = []

    def recording_urandom(size: int) -> bytes:
        requests.append(size)
        handed_out.append(real(size))
        return handed_out[-1]

    monkeypatch.setattr(os, "urandom", recording_urandom)
    key = DeviceKey.from_private_bytes((7).to_bytes(32, "big"))
    salts = [new_salt()] + [s.reading.salt for s in sample_readings(
        key, SAMPLE_DOMAIN, 40, end_timestamp=1_735_689_600, seed=3)]
    assert len(salts) == 41 and all(len(s) == 32 for s in salts)
    assert all(salt in handed_out for salt in salts)
    assert requests.count(32) >= len(salts)


def _salts_of(folder: Path) -> list[bytes]:
    doc = json.loads((folder / "multiproof.json").read_text(encoding="utf-8"))
    return [parse_hex(r["salt"], 32) for r in doc["readings"]]


def test_sample_bundles_carry_distinct_uniformly_random_salts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs with the same --seed (same values) over 400 readings each: every salt differs
    from every other, none is all zero, and the 25,600 salt bytes look uniform (a chi-square
    bound that uniform bytes exceed with probability far below one in a million)."""
    for name in ("a", "b"):
        assert main(["bundle", "sample", "--count", "400", "--seed", "5",
                     "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    salts = _salts_of(tmp_path / "a") + _salts_of(tmp_path / "b")
    assert len(salts) == 800
    assert len(set(salts)) == 800, "a salt repeats"
    assert bytes(32) not in salts
    counts = Counter(b"".join(salts))
    expected = len(salts) * 32 / 256
    chi_square = sum((counts.get(v, 0) - expected) ** 2 / expected for v in range(256))
    assert chi_square < 450, f"salt bytes far from uniform: chi-square {chi_square:.0f}"
