"""``mrv simulate meters --meter``: a shipped profile or a profile file at a unit id, with the
site's size and ratios; anything else refused in one ConfigError or ProfileError."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from unit.edge_node.profiles.support import write_custom

from edge_node.errors import ProfileError
from edge_node.profiles import load_profile
from mrv_cli.simulate_cmd import parse_meter
from mrv_core.errors import ConfigError


def test_a_shipped_profile_with_options_is_a_meter_spec() -> None:
    spec = parse_meter("7:acrel.adl400,peak=50000,solar=20000,ct=40,pt=2")
    assert (spec.unit_id, spec.profile.id, spec.peak_w, spec.solar_w, spec.ct, spec.pt) == (
        7, "acrel.adl400", 50_000, 20_000, Fraction(40), Fraction(2))
    assert parse_meter("1:generic").peak_w == 10_000


def test_a_profile_file_of_ones_own_is_served_by_its_path(tmp_path: Path) -> None:
    text = (Path(__file__).parents[3] / "edge_node" / "profiles" / "data" /
            "generic.toml").read_text(encoding="utf-8").replace('id = "generic"',
                                                                'id = "site.meter"')
    path = tmp_path / "site.meter.toml"
    path.write_text(text, encoding="utf-8")
    spec = parse_meter(f"3:{path}")
    assert spec.profile.id == "site.meter"
    assert spec.profile.points == load_profile("generic").points
    with pytest.raises(ProfileError, match="expected 'other'"):
        other = tmp_path / "other.toml"
        other.write_text(text, encoding="utf-8")
        parse_meter(f"3:{other}")


def test_a_profile_file_is_named_as_in_the_nodes_config_relative_to_where_one_stands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_custom(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert parse_meter("2:./profiles/plant.meter-x.toml,peak=500").profile.id == "plant.meter-x"
    with pytest.raises(ProfileError, match=r"write a profile file as a path with a '/', e\.g\. "
                                           r"'\./plant\.meter-x\.toml'"):
        parse_meter("2:plant.meter-x.toml")


@pytest.mark.parametrize(("text", "error"), [
    ("generic", "expected UNIT:PROFILE"), ("x:generic", "expected UNIT:PROFILE"),
    ("1:", "expected UNIT:PROFILE"), ("1:generic,peak", "is not KEY=N"),
    ("1:generic,colour=1", "is not KEY=N"), ("1:generic,ct=0", "ct and pt must be >= 1"),
    ("1:generic,peak=-5", "is not KEY=N"), ("1:generic,peak=10000000000", "<= 1e9"),
])
def test_a_bad_meter_is_refused_naming_it(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_meter(text)
    with pytest.raises(ProfileError, match="no shipped profile 'nosuch'"):
        parse_meter("1:nosuch")
